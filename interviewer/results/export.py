"""Transcripts: the session as JSON (the interchange contract), Markdown and self-contained HTML; the progress
report. The terminal's transcript is `transcript`."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from interviewer.config import SECRETS
from interviewer.content.bank import Question
from interviewer.content.rubric import curated_path, load_rubric_file
from interviewer.core import resolve_session
from interviewer.errors import InterviewerError
from interviewer.results.summary import summarize
from interviewer.results.transcript import SUGGESTED_FOLLOW_UP, worked_answers
from interviewer.store import Store
from interviewer.textview import local_time, reflow

FORMATS = ("md", "json", "html")


def reference_answer(question: Question, home: Path | None) -> str | None:
    """The question's curated reference answer (its rubric file's, in the question's language), if it has one."""
    try:
        path = curated_path(question, home)
        rubric = load_rubric_file(path).localised(question.lang) if path is not None else None
    except InterviewerError:  # a rubric the grader would refuse is not shown either
        return None
    if rubric is None or rubric.question_id != question.id:
        return None
    return rubric.reference_answer or None


def _asked(snapshot: dict[str, Any], lang: str) -> Question:
    """The question as a turn stored it, enough to find its rubric."""
    return Question(
        id=snapshot["id"], bank=snapshot.get("bank") or "", section=snapshot.get("section") or "",
        section_index=0, text=snapshot.get("text") or "", lang=lang,
    )  # fmt: skip


def session_dict(store: Store, sid: str, home: Path | None = None) -> dict[str, Any]:
    """The session as the JSON export has it; `sid` may be `last`. Each turn carries its question's curated
    reference answer (from the rubric files of `home`, by default the store's folder) beside the grade. A turn is
    the try that counts; the others are its `earlier_attempts` and its `practice_attempts` (retries after the
    reference was shown, which never count)."""
    row = store.session(resolve_session(store, sid))
    turns = store.turns(row["id"])
    home = home if home is not None else store.path.parent
    earlier: dict[int, list[dict[str, Any]]] = {}
    for t in store.turns(row["id"], all_attempts=True):
        earlier.setdefault(t["idx"], []).append(t)
    stored = json.loads(row["settings_json"])
    settings = {k: v for k, v in stored.items() if k not in SECRETS}  # a key is never exported
    lang = settings.get("lang") or "zh"
    return {
        "id": row["id"],
        "started_at": row["started_at"],
        "finished_at": row["finished_at"],
        "status": row["status"],
        "mode": row["mode"],
        "settings": settings,
        "planned": len(json.loads(row["plan_json"])),
        "turns": [
            {
                "index": t["idx"] + 1,
                "question": {
                    k: t["question"].get(k) for k in ("id", "section", "text", "difficulty", "frequency")
                },
                "answer": t["answer"],
                "answered_at": t["answered_at"],
                "duration_s": t["duration_s"],
                "hint_used": t["hint_used"],
                "skipped": t["skipped"],
                "audio": spoken_answer(t.get("audio")),
                "grade": t["grade"],
                "reference_answer": reference_answer(_asked(t["question"], lang), home),
                "grades_count": t["grade_count"],
                "attempt": t["attempt"],
                "earlier_attempts": [
                    {
                        "attempt": e["attempt"],
                        "answer": e["answer"],
                        "score": e["grade"]["score"] if e["grade"] else None,
                        "answered_at": e["answered_at"],
                    }
                    for e in earlier.get(t["idx"], [])
                    if e["attempt"] < t["attempt"]
                ],
                "practice_attempts": [
                    {
                        "attempt": e["attempt"],
                        "answer": e["answer"],
                        "score": e["grade"]["score"] if e["grade"] else None,
                        "hint_used": e["hint_used"],
                        "answered_at": e["answered_at"],
                    }
                    for e in earlier.get(t["idx"], [])
                    if e["after_reference"]
                ],
                "follow_ups": [
                    {
                        "question": f["question"],
                        "answer": f["answer"],
                        "answered_at": f["answered_at"],
                        "criterion_id": f["criterion_id"],
                    }
                    for f in t["follow_ups"]
                ],  # fmt: skip
            }
            for t in turns
        ],
        "summary": summarize(turns),
    }


def spoken_answer(audio: dict[str, Any] | None) -> dict[str, Any] | None:
    """A turn's audio as the JSON export has it: the kept file, whether it is transcribed, the transcript's
    details (its text is the turn's answer) and the delivery signals."""
    if not audio:
        return None
    return {
        k: audio.get(k)
        for k in ("path", "source_name", "duration_s", "status", "error", "transcript", "delivery")
    }


def _delivery_line(delivery: dict[str, Any] | None) -> str:
    from interviewer.speech.delivery import format_delivery

    return format_delivery(delivery) or ""


@cache
def _env(autoescape: bool):
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = lambda ts: local_time(ts) if ts else "-"
    env.filters["reflow"] = reflow
    env.filters["delivery"] = _delivery_line
    return env


def render(session: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(session, ensure_ascii=False, indent=2) + "\n"
    worked = {t["index"]: worked_answers(t["grade"], t.get("reference_answer")) for t in session["turns"]}
    context = {"s": session, "worked": worked, "suggested_follow_up": SUGGESTED_FOLLOW_UP}
    if fmt == "md":
        return _env(False).get_template("transcript.md.j2").render(**context)
    if fmt == "html":
        from interviewer.results.charts import hbars

        chart = hbars(list(session["summary"]["by_section"].items()))
        return _env(True).get_template("transcript.html.j2").render(**context, section_chart=chart)
    raise ValueError(f"unknown format {fmt!r}")


def trend_labels(points: list[dict[str, Any]]) -> list[str]:
    """Short axis labels for the trend: the local day (`12-01`, with the year when the points span several),
    numbered in order where one day has several points (`12-01 #1`, `12-01 #2`)."""
    dates = [p["date"] for p in points]
    short = [d[5:] for d in dates] if len({d[:4] for d in dates}) <= 1 else list(dates)
    seen: dict[str, int] = {}
    out = []
    for d, label in zip(dates, short, strict=True):
        seen[d] = seen.get(d, 0) + 1
        out.append(f"{label} #{seen[d]}" if dates.count(d) > 1 else label)
    return out


def render_report(report: dict[str, Any]) -> str:
    """The progress report (see progress.stats) as one self-contained HTML page."""
    from interviewer.results.charts import hbars, vbars
    from interviewer.results.progress import REPORT_TREND_POINTS

    shown = report["trend"][-REPORT_TREND_POINTS:]
    report = report | {"trend_not_shown": len(report["trend"]) - len(shown)}
    trend = vbars(
        [(label, _trend_title(p), p["average"]) for label, p in zip(trend_labels(shown), shown, strict=True)]
    )
    sections = hbars([(r["section"], r["average"]) for r in report["by_section"]])
    return (
        _env(True).get_template("report.html.j2").render(r=report, trend_chart=trend, section_chart=sections)
    )


def _trend_title(point: dict[str, Any]) -> str:
    """A trend bar's tooltip: the session (and the local day it started), or the day."""
    return f"{point['label']} ({point['date']})" if point.get("session_id") else point["label"]
