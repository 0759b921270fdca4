"""HTML: the exported transcript and `interviewer report` are self-contained, escaped, and render in Chromium."""

import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
PAYLOAD = "<script>document.title='pwned'</script>"
ANSWERS = [
    "Transformer 可以并行，因为不依赖上一步的隐藏状态；任意两个位置直接交互，有全局感受野。",
    f"{PAYLOAD} Encoder-Decoder 用交叉注意力对齐输入输出，适合翻译。",
    "Multi-Head Attention 在不同子空间学习特征，多个头并行。",
]
# A bank whose section, question and hint (so its derived criteria) carry markup.
EVIL_BANK = f"""## <i>Evil</i> section
1. [freq:high][difficulty:easy] What does <b>this</b> do? Hint: {PAYLOAD}, parallelism, gradients.
"""


def make_sessions(cli, tmp_path):
    """Two sessions through the real CLI: three bank questions in two sections, then 1.1 again."""
    path = tmp_path / "a.jsonl"
    pairs = [("1.1", ANSWERS[0]), ("1.2", ANSWERS[1]), ("2.2", ANSWERS[2])]
    path.write_text("".join(json.dumps({"question_id": q, "answer": a}) + "\n" for q, a in pairs), "utf-8")
    assert cli("start", "--answers", str(path)).exit_code == 0
    again = tmp_path / "b.txt"
    again.write_text("RNN 串行，Transformer 并行\n", encoding="utf-8")
    assert cli("start", "-n", "1", "--order", "bank", "--answers", str(again)).exit_code == 0
    return [s["id"] for s in reversed(cli("sessions", "--json").json_lines())]


def no_external_resources(html: str) -> None:
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "@import" not in html and "url(" not in html
    assert "<link" not in html.lower() and "<iframe" not in html.lower()


def test_exported_html_is_self_contained_with_a_section_chart_and_the_criteria(cli, tmp_path, home):
    first, _ = make_sessions(cli, tmp_path)
    out = tmp_path / "s.html"
    r = cli("export", first, "--format", "html", "-o", str(out))
    assert r.exit_code == 0, r
    html = out.read_text(encoding="utf-8")
    no_external_resources(html)
    data = json.loads(cli("export", first, "--format", "json").stdout)
    by_section = data["summary"]["by_section"]
    assert len(by_section) == 2
    svg = html.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert svg.count("<rect") == len(by_section)
    for name, score in by_section.items():
        assert f"{name}: {score:.1f}" in svg
    for t in data["turns"]:
        g = t["grade"]
        assert f"{g['score']:.1f}/10" in html
        for c in g["criteria"]:
            assert f'class="{c["verdict"]}"' in html and c["name"] in html
        assert t["reference_answer"] and "Feedback." in html
    # the offline grader's better answer is the curated reference: shown once, as the reference
    assert html.count("<strong>Reference answer.</strong>") == len(data["turns"])
    assert "stronger answer" not in html
    assert "<th>Evidence</th><th>Comment</th>" in html
    assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in html


def test_report_has_totals_charts_criteria_and_every_session(cli, tmp_path):
    sids = make_sessions(cli, tmp_path)
    r = cli("report")
    assert r.exit_code == 0, r
    html = r.stdout
    no_external_resources(html)
    (st,) = cli("stats", "--json", "--top", "10").json_lines()
    assert f"<b>{st['sessions']}</b>sessions" in html and f"<b>{st['answers']}</b>answers" in html
    assert f"<b>{st['average']:.1f}</b>average" in html
    assert re.findall(r'<svg class="chart (\w+)"', html) == ["vbars", "hbars"]
    trend_svg, section_svg = re.findall(r"<svg class=\"chart \w+\".*?</svg>", html, re.S)
    assert trend_svg.count("<rect") == len(st["trend"]) == 2
    assert "<polyline" in trend_svg
    assert section_svg.count("<rect") == len(st["by_section"]) == 2
    for sid in sids:
        assert sid in html
    for c in st["weakest_criteria"]:
        assert f"<td>{c['name']}</td>" in html
    for q in st["to_review"]:
        assert q["ref"] in html


def test_report_since_and_output_file(cli, tmp_path, home):
    first, second = make_sessions(cli, tmp_path)
    with sqlite3.connect(home / "interviewer.db") as db:
        db.execute("UPDATE sessions SET started_at = '2020-01-01T00:00:00+00:00' WHERE id = ?", (first,))
    out = tmp_path / "progress.html"
    r = cli("report", "--since", "2024-01-01", "-o", str(out))
    assert r.exit_code == 0 and "Wrote" in r.stderr and r.stdout == ""
    html = out.read_text(encoding="utf-8")
    assert second in html and first not in html
    assert "since 2024-01-01" in html
    empty = cli("report", "--since", "2999-01-01").stdout
    assert "No answers in this period." in empty and "<svg" not in empty
    r = cli("report", "-o", str(tmp_path / "missing" / "dir" / "r.html"))
    assert r.exit_code == 1 and "cannot write" in r.stderr


def test_report_escapes_bank_text_and_derived_criteria(cli, tmp_path):
    bank = tmp_path / "evil.md"
    bank.write_text(EVIL_BANK, encoding="utf-8")
    answers = tmp_path / "a.txt"
    answers.write_text("parallelism and gradients\n", encoding="utf-8")
    assert cli("start", "-n", "1", "--bank", str(bank), "--answers", str(answers)).exit_code == 0
    html = cli("report").stdout
    assert "<script" not in html and "<i>Evil" not in html and "<b>this" not in html
    assert "&lt;i&gt;Evil&lt;/i&gt; section" in html and "&lt;b&gt;this&lt;/b&gt;" in html
    assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in html


# ---------------------------------------------------------------- rendered by a real browser

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (apt-get install chromium; .ci/run does this)"
)


def chromium(tmp_path, page: Path, *mode: str) -> str:
    profile = tmp_path / f"profile-{page.stem}-{len(mode)}"
    r = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", *mode, page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    shutil.rmtree(profile, ignore_errors=True)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def page_title(dom: str) -> str:
    return re.search(r"<head>.*?<title>(.*?)</title>", dom, re.S).group(1)


@needs_chromium
@pytest.mark.slow
def test_chromium_renders_the_export_and_the_report_and_runs_no_script(cli, tmp_path):
    first, second = make_sessions(cli, tmp_path)
    export, report = tmp_path / "export.html", tmp_path / "report.html"
    assert cli("export", first, "--format", "html", "-o", str(export)).exit_code == 0
    assert cli("report", "-o", str(report)).exit_code == 0
    data = json.loads(cli("export", first, "--format", "json").stdout)

    dom = chromium(tmp_path, export, "--dump-dom")
    assert page_title(dom) == f"Interview {first}" and "pwned" not in page_title(dom)
    assert f"Score: {data['summary']['score']:.1f}/10" in dom
    for t in data["turns"]:
        assert f"{t['grade']['score']:.1f}/10" in dom
    svg = re.search(r"<svg[^>]*>.*?</svg>", dom, re.S).group(0)
    assert svg.count("<rect") == len(data["summary"]["by_section"])
    assert not re.search(r"<script", dom, re.I)  # the answer's script is text, not an element
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom

    dom = chromium(tmp_path, report, "--dump-dom")
    assert page_title(dom) == "Interview progress"
    assert first in dom and second in dom
    assert len(re.findall(r"<svg", dom)) == 2 and dom.count("<rect") == 4 and "<polyline" in dom
    assert not re.search(r"<script", dom, re.I)

    shot = tmp_path / "report.png"
    chromium(tmp_path, report, f"--screenshot={shot}", "--window-size=1000,1400")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_progress_commands_never_import_litellm(cli, tmp_path, home):
    from test_startup import run_probe

    make_sessions(cli, tmp_path)
    report = ["report", "-o", str(tmp_path / "r.html")]
    for args in (["stats"], ["stats", "--json"], ["history", "1.1"], report):
        r, heavy = run_probe(*args, home=home)
        assert r.returncode == 0, r.stderr
        assert heavy == "", args


def test_a_long_history_lists_the_latest_sessions_and_says_how_many_it_left_out(tmp_path):
    from interviewer.results.export import render_report
    from interviewer.results.progress import report
    from interviewer.store import Store

    store = Store(tmp_path / "interviewer.db")
    try:
        ids = []
        for i in range(3):
            sid = store.create_session("practice", {"grader_kind": "offline"}, ["b:1.1"])
            turn = store.add_turn(sid, 0, "b:1.1", {"id": "1.1", "section": "S", "text": "q"}, "a")
            store.add_grade(turn, {"status": "graded", "score": float(i + 4), "criteria": []})
            ids.append(sid)
        data = report(store.progress_facts(), store.session_records(last=2))
    finally:
        store.close()
    assert [s["id"] for s in data["session_list"]] == ids[1:]  # the latest two, oldest first
    assert [s["score"] for s in data["session_list"]] == [5.0, 6.0]
    assert (data["sessions"], data["sessions_not_listed"], data["average"]) == (3, 1, 5.0)
    assert "The latest 2 of 3; 1 earlier sessions are counted above" in render_report(data)


def test_trend_labels_number_the_sessions_of_one_day_and_add_the_year_across_years():
    from interviewer.results.export import trend_labels

    days = ["2026-12-01", "2026-12-01", "2026-12-02", "2026-12-01"]
    assert trend_labels([{"date": d} for d in days]) == ["12-01 #1", "12-01 #2", "12-02", "12-01 #3"]
    assert trend_labels([{"date": "2025-12-31"}, {"date": "2026-01-01"}]) == ["2025-12-31", "2026-01-01"]


def test_report_trend_of_sessions_on_one_day_is_told_apart(cli, tmp_path):
    make_sessions(cli, tmp_path)  # two sessions, the same day
    svg = re.search(r'<svg class="chart vbars".*?</svg>', cli("report").stdout, re.S).group(0)
    axis = re.findall(r'<text class="axis"[^>]*text-anchor="middle">([^<]+)</text>', svg)
    assert len(axis) == 2 and len(set(axis)) == 2
    assert all(re.fullmatch(r"\d\d-\d\d #[12]", label) for label in axis), axis


def test_report_and_transcripts_show_local_times_not_raw_iso(cli, tmp_path, home, monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        first, _ = make_sessions(cli, tmp_path)
        with sqlite3.connect(home / "interviewer.db") as db:
            db.execute("UPDATE sessions SET started_at = '2026-01-01T20:30:00+00:00' WHERE id = ?", (first,))
            db.execute(
                "UPDATE turns SET answered_at = '2026-01-01T20:31:00+00:00' WHERE session_id = ?", (first,)
            )
        pages = {
            "report": cli("report").stdout,
            "md": cli("export", first, "--format", "md").stdout,
            "html": cli("export", first, "--format", "html").stdout,
            "show": cli("show", first).stdout,
        }
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    for name, text in pages.items():
        assert "2026-01-02 04:30" in text, name  # 20:30 UTC is the next morning in Shanghai
        assert "T20:30:00" not in text and "T20:31:00" not in text, name
    assert "2026-01-02 04:31" in pages["report"] and "2026-01-02 04:31" in pages["show"]
