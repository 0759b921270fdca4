"""Reading a session: `show` renders for the terminal (no Markdown) through a pager only in a terminal; reference
answers are reflowed; the suggested follow-up is labelled; the curated reference and an LLM's own answer are both
shown, labelled, in `show` and in the exports."""

import html
import json
import os
import re
import subprocess
import sys

import pexpect
import pytest
from conftest import ROOT

from interviewer.content.rubric import load_rubric_file
from interviewer.textview import reflow

ANSWERS = [
    "Transformer 可以并行，因为不依赖上一步的隐藏状态；任意两个位置直接交互，有全局感受野。",
    "Encoder-Decoder 用交叉注意力对齐输入输出，适合翻译；Decoder-only 适合对话生成。",
]


def session(cli, tmp_path, *extra):
    p = tmp_path / "answers.txt"
    p.write_text("\n---\n".join(ANSWERS) + "\n", encoding="utf-8")
    r = cli("start", "-n", "2", "--order", "bank", "--answers", str(p), *extra)
    assert r.exit_code == 0, r
    return json.loads(cli("show", "last", "--json").stdout)


def curated_reference(qid: str) -> str:
    return load_rubric_file(ROOT / "rubrics" / "llm-basics" / f"{qid}.toml").reference_answer


def test_show_prints_plain_text_for_the_terminal_not_markdown(cli, tmp_path):
    data = session(cli, tmp_path)
    out = cli("show", "last").stdout
    for markup in ("**", "|---|", "<sub>", "\n> ", "\n## ", "\n# "):
        assert markup not in out, markup
    assert out.startswith(f"Interview {data['id']}\n")
    for t in data["turns"]:
        assert f"{t['index']}. [{t['question']['id']}] {t['question']['text']}" in out
        assert f"│ {t['answer']}" in out  # the candidate's words behind the gutter, as typed
        for c in t["grade"]["criteria"]:
            assert c["name"] in out
    assert re.match(r"Started \d{4}-\d\d-\d\d \d\d:\d\d · ", out.splitlines()[1])  # local time, not raw ISO


def test_show_reflows_the_reference_answer_the_rubric_wraps(cli, tmp_path):
    session(cli, tmp_path)
    out = cli("show", "last").stdout
    raw = curated_reference("1.1")
    assert raw.strip().count("\n") >= 3  # the rubric file breaks its lines
    assert "Reference answer:\n     " + reflow(raw) + "\n" in out  # one line in a pipe: the terminal wraps it
    md = cli("export", "last", "--format", "md").stdout
    assert "**Reference answer.**\n\n" + reflow(raw) + "\n" in md


def test_the_suggested_follow_up_is_labelled_as_not_asked(cli, tmp_path):
    data = session(cli, tmp_path, "--follow-ups", "1")
    suggested = [t["grade"]["follow_up"] for t in data["turns"] if t["grade"]["follow_up"]]
    asked = sum(len(t["follow_ups"]) for t in data["turns"])
    assert suggested and asked
    out = cli("show", "last").stdout
    md = cli("export", "last", "--format", "md").stdout
    page = cli("export", "last", "--format", "html").stdout
    for text in suggested:
        assert f"Suggested next follow-up (not asked): {text}" in out
        assert f"**Suggested next follow-up (not asked):** {text}" in md
        assert f"<strong>Suggested next follow-up (not asked):</strong> {html.escape(text)}" in page
    assert out.count("Follow-up asked:") == asked and md.count("**Follow-up.**") == asked


def test_an_llm_grade_shows_the_curated_reference_and_the_models_own_answer(cli, tmp_path, llm_env):
    data = session(cli, tmp_path, "--grader", "llm")
    assert [t["reference_answer"] for t in data["turns"]] == [
        curated_reference("1.1"),
        curated_reference("1.2"),
    ]
    assert all(t["grade"]["better_answer"] == "An outline." for t in data["turns"])
    label = "The grader's stronger answer (openai/fake-model)"
    out = cli("show", "last").stdout
    assert out.count("Reference answer:") == 2 and out.count(f"{label}:\n     An outline.\n") == 2
    assert reflow(curated_reference("1.2")) in out
    md = cli("export", "last", "--format", "md").stdout
    assert md.count("**Reference answer.**") == 2 and md.count(f"**{label}.**\n\nAn outline.") == 2
    page = cli("export", "last", "--format", "html").stdout
    assert page.count("<strong>Reference answer.</strong>") == 2
    assert page.count("stronger answer (openai/fake-model).</strong>") == 2
    one = cli("grade", "-q", "1.1", "-a", ANSWERS[0], "--grader", "llm")  # the live feedback says the same
    assert "Reference answer:" in one.stdout and f"{label}:\n  An outline." in one.stdout


def test_an_offline_grade_shows_the_reference_once(cli, tmp_path):
    session(cli, tmp_path)
    out = cli("show", "last").stdout
    assert out.count("Reference answer:") == 2 and "stronger answer" not in out


def pager_script(tmp_path) -> str:
    script = tmp_path / "pager.sh"
    script.write_text('echo "PAGED-BY $0 $* LESS=$LESS"; cat\n', encoding="utf-8")
    return f"sh {script}"


def test_show_in_a_pipe_is_never_paged(cli, tmp_path, home):
    session(cli, tmp_path)
    env = {**os.environ, "PAGER": pager_script(tmp_path)}
    r = subprocess.run(
        [sys.executable, "-m", "interviewer", "show", "last"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    assert "PAGED-BY" not in r.stdout and r.stdout.startswith("Interview ")


def spawn_show(home, *args, **env):
    full = {**os.environ, "INTERVIEWER_HOME": str(home), "NO_COLOR": "1", "TERM": "xterm", **env}
    full = {k: v for k, v in full.items() if v is not None}
    return pexpect.spawn(
        sys.executable, ["-m", "interviewer", "show", "last", *args], env=full, cwd=str(ROOT),
        encoding="utf-8", timeout=30, dimensions=(40, 100),
    )  # fmt: skip


@pytest.mark.slow
def test_show_in_a_terminal_goes_through_the_pager_unless_no_pager(cli, tmp_path, home):
    data = session(cli, tmp_path)
    pager = pager_script(tmp_path)
    child = spawn_show(home, PAGER=pager)
    child.expect("PAGED-BY")
    child.expect(f"Interview {data['id']}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    child = spawn_show(home, "--no-pager", PAGER=pager)
    child.expect(f"Interview {data['id']}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and "PAGED-BY" not in child.before


@pytest.mark.slow
def test_without_pager_set_a_terminal_gets_less_r_with_frx(cli, tmp_path, home):
    session(cli, tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_less = bin_dir / "less"
    fake_less.write_text('#!/bin/sh\necho "LESS-ARGS $* LESS=$LESS"; cat\n', encoding="utf-8")
    fake_less.chmod(0o755)
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    child = spawn_show(home, PAGER=None, LESS=None, PATH=path)
    child.expect(r"LESS-ARGS -R LESS=FRX")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
