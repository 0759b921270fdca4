"""Transcripts: the session as JSON (the interchange contract), Markdown and self-contained HTML."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from interviewer.results.summary import summarize
from interviewer.store import Store

FORMATS = ("md", "json", "html")
SECRET_KEYS = {"api_key"}


def session_dict(store: Store, sid: str) -> dict[str, Any]:
    row = store.session(sid)
    turns = store.turns(row["id"])
    earlier: dict[int, list[dict[str, Any]]] = {}
    for t in store.turns(row["id"], all_attempts=True):
        earlier.setdefault(t["idx"], []).append(t)
    settings = {k: v for k, v in json.loads(row["settings_json"]).items() if k not in SECRET_KEYS}
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
                "grade": t["grade"],
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


@cache
def _env(autoescape: bool):
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(session: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(session, ensure_ascii=False, indent=2) + "\n"
    if fmt == "md":
        return _env(False).get_template("transcript.md.j2").render(s=session)
    if fmt == "html":
        from interviewer.results.charts import hbars

        chart = hbars(list(session["summary"]["by_section"].items()))
        return _env(True).get_template("transcript.html.j2").render(s=session, section_chart=chart)
    raise ValueError(f"unknown format {fmt!r}")


def render_report(report: dict[str, Any]) -> str:
    """The progress report (see progress.stats) as one self-contained HTML page."""
    from interviewer.results.charts import hbars, vbars
    from interviewer.results.progress import REPORT_TREND_POINTS

    shown = report["trend"][-REPORT_TREND_POINTS:]
    report = report | {"trend_not_shown": len(report["trend"]) - len(shown)}
    trend = vbars([(p["date"][5:], p["label"], p["average"]) for p in shown])
    sections = hbars([(r["section"], r["average"]) for r in report["by_section"]])
    return (
        _env(True).get_template("report.html.j2").render(r=report, trend_chart=trend, section_chart=sections)
    )
