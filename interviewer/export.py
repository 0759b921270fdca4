"""Transcripts: the session as JSON (the interchange contract), Markdown and self-contained HTML."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from interviewer.store import Store
from interviewer.summary import summarize

FORMATS = ("md", "json", "html")
SECRET_KEYS = {"api_key"}


def session_dict(store: Store, sid: str) -> dict[str, Any]:
    row = store.session(sid)
    turns = store.turns(row["id"])
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
                "follow_ups": [],
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
        return _env(True).get_template("transcript.html.j2").render(s=session)
    raise ValueError(f"unknown format {fmt!r}")
