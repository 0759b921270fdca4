"""Progress across sessions: aggregation over the store's session and attempt records (data in, data out).

An "attempt" is one answered turn with its latest grade. When a question is retried within a session, only the
session's last try (`final`) counts towards answers and averages, as in the session's own summary; the
questions to review and a question's history see every try. Ungraded answers are counted, never averaged as 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from interviewer.errors import InputError
from interviewer.grading.models import MAX_SCORE
from interviewer.results.summary import summarize

TREND_BY = ("session", "day")
DIFFICULTY_ORDER = ("easy", "medium", "hard")
_DAYS_RE = re.compile(r"^(\d+)\s*([dw])$", re.IGNORECASE)

# ---------------------------------------------------------------- pure helpers


def parse_since(text: str | None, now: datetime | None = None) -> str | None:
    """`2026-03-01` (local midnight), an ISO date-time, or `7d` / `2w` ago → a UTC ISO string; None → None."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    now = now or datetime.now(UTC)
    m = _DAYS_RE.match(text)
    if m:
        days = int(m.group(1)) * (7 if m.group(2).lower() == "w" else 1)
        when = now - timedelta(days=days)
    else:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise InputError(
                f"--since must be a date like 2026-03-01, a date-time, or days ago like 7d; got {text!r}"
            ) from None
        if when.tzinfo is None:
            when = when.astimezone()  # a bare date or time means the local clock
    return when.astimezone(UTC).isoformat(timespec="seconds")


def local_day(ts: str, tz: tzinfo | None = None) -> str:
    """The calendar day of a stored UTC timestamp, on the local clock (or `tz`)."""
    return datetime.fromisoformat(ts).astimezone(tz).date().isoformat()


def is_graded(attempt: dict[str, Any]) -> bool:
    g = attempt.get("grade")
    return bool(g) and g.get("status") == "graded" and g.get("score") is not None


def finals(attempts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last try at each question of a session (earlier retries left out)."""
    return [a for a in attempts if a.get("final", True)]


def mean1(values: Iterable[float]) -> float | None:
    xs = list(values)
    return round(sum(xs) / len(xs), 1) if xs else None


def id_key(qid: str) -> tuple:
    """Sort `2.10` after `2.9`; non-numeric ids after numeric ones."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.:]", qid))


def _group(attempts: list[dict[str, Any]], key) -> dict[Any, dict[str, Any]]:
    groups: dict[Any, dict[str, Any]] = {}
    for a in attempts:
        g = groups.setdefault(key(a), {"answers": 0, "graded": 0, "_scores": []})
        g["answers"] += 1
        if is_graded(a):
            g["graded"] += 1
            g["_scores"].append(a["grade"]["score"])
    for g in groups.values():
        g["average"] = mean1(g.pop("_scores"))
    return groups


def by_section(attempts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per section, in bank order (the section's smallest question id)."""
    groups = _group(attempts, lambda a: a["question"].get("section") or "-")
    first = {}
    for a in attempts:
        s = a["question"].get("section") or "-"
        k = id_key(a["question"].get("id") or "")
        first[s] = min(first.get(s, k), k)
    return [{"section": s} | groups[s] for s in sorted(groups, key=lambda s: (first[s], s))]


def by_difficulty(attempts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups = _group(attempts, lambda a: a["question"].get("difficulty"))

    def order(d):
        return (d is None, DIFFICULTY_ORDER.index(d) if d in DIFFICULTY_ORDER else 99, d or "")

    return [{"difficulty": d} | groups[d] for d in sorted(groups, key=order)]


def trend(
    attempts: list[dict[str, Any]], by: str = "session", tz: tzinfo | None = None
) -> list[dict[str, Any]]:
    """Average per session (by when it started) or per local day (by when answered), oldest first."""
    if by not in TREND_BY:
        raise InputError(f"--by must be one of {', '.join(TREND_BY)}, got {by!r}")
    if by == "day":
        groups = _group(attempts, lambda a: local_day(a["answered_at"], tz))
        return [{"label": d, "date": d} | groups[d] for d in sorted(groups)]
    groups = _group(attempts, lambda a: (a["session_started_at"], a["session_seq"], a["session_id"]))
    return [
        {"label": sid, "session_id": sid, "date": local_day(started, tz)} | groups[(started, seq, sid)]
        for started, seq, sid in sorted(groups)
    ]


def weakest_criteria(attempts: list[dict[str, Any]], top: int | None = None) -> list[dict[str, Any]]:
    """Criterion names over graded answers, with their mean score on 0–10 and count, lowest first."""
    scores: dict[str, list[float]] = {}
    for a in attempts:
        if not is_graded(a):
            continue
        for c in a["grade"].get("criteria") or []:
            if c.get("score") is None:
                continue
            full = c.get("max_score") or MAX_SCORE
            scores.setdefault(c.get("name") or c.get("id") or "-", []).append(c["score"] / full * MAX_SCORE)
    rows = [{"name": n, "average": mean1(v), "count": len(v)} for n, v in scores.items()]
    rows.sort(key=lambda r: (r["average"], -r["count"], r["name"]))
    return rows[:top] if top else rows


def to_review(attempts: list[dict[str, Any]], top: int | None = None) -> list[dict[str, Any]]:
    """Questions by the score of their latest graded attempt, lowest first."""
    counts: dict[str, int] = {}
    latest: dict[str, dict[str, Any]] = {}
    for a in attempts:  # oldest first: a later graded attempt replaces an earlier one
        ref = a["question_ref"]
        counts[ref] = counts.get(ref, 0) + 1
        if is_graded(a):
            latest[ref] = a
    rows = [
        {
            "question_id": a["question"].get("id"),
            "ref": ref,
            "section": a["question"].get("section"),
            "text": a["question"].get("text"),
            "score": a["grade"]["score"],
            "attempts": counts[ref],
            "answered_at": a["answered_at"],
            "session_id": a["session_id"],
        }
        for ref, a in latest.items()
    ]
    rows.sort(key=lambda r: (r["score"], id_key(r["ref"])))
    return rows[:top] if top else rows


def stats(
    sessions: list[dict[str, Any]],
    attempts: list[dict[str, Any]],
    *,
    since: str | None = None,
    by: str = "session",
    top: int = 5,
    tz: tzinfo | None = None,
) -> dict[str, Any]:
    final = finals(attempts)
    graded = [a for a in final if is_graded(a)]
    return {
        "since": since,
        "sessions": len(sessions),
        "answers": len(final),
        "graded": len(graded),
        "ungraded": len(final) - len(graded),
        "average": mean1(a["grade"]["score"] for a in graded),
        "max_score": MAX_SCORE,
        "by_section": by_section(final),
        "by_difficulty": by_difficulty(final),
        "trend_by": by,
        "trend": trend(final, by, tz),
        "weakest_criteria": weakest_criteria(final, top),
        "to_review": to_review(attempts, top),
    }


def session_summaries(sessions: list[dict[str, Any]], attempts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary per session (oldest first), from the same arithmetic as a session's own summary."""
    per: dict[str, list[dict[str, Any]]] = {}
    for a in finals(attempts):
        per.setdefault(a["session_id"], []).append(a)
    return [s | summarize(per.get(s["id"], [])) for s in sessions]


# ---------------------------------------------------------------- one question's history


def resolve_ref(refs: Iterable[str], qid: str) -> str | None:
    """`bank:2.1` is taken as is; `2.1` must name one question among the stored refs."""
    qid = qid.strip()
    refs = list(refs)
    if qid in refs:
        return qid
    matches = sorted({r for r in refs if r.rpartition(":")[2] == qid})
    if len(matches) > 1:
        raise InputError(
            f"question id {qid!r} is in several banks ({', '.join(matches)}); qualify it as bank:{qid}"
        )
    return matches[0] if matches else None


def history(
    attempts: list[dict[str, Any]], ref: str, question: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Every attempt at one question, oldest first; `question` describes it when there is no attempt yet."""
    last_q = attempts[-1]["question"] if attempts else question or {}
    rows = []
    for a in attempts:
        g = a["grade"] or {}
        rows.append(
            {
                "answered_at": a["answered_at"],
                "session_id": a["session_id"],
                "index": a["index"],
                "attempt": a.get("attempt", 1),
                "status": "graded" if is_graded(a) else "ungraded",
                "score": g.get("score") if is_graded(a) else None,
                "grader": {k: (g.get("grader") or {}).get(k) for k in ("kind", "model")},
                "criteria": [
                    {k: c.get(k) for k in ("id", "name", "verdict", "score")} for c in g.get("criteria") or []
                ],
                "error": g.get("error"),
                "grades": a["grade_count"],
                "answer": a["answer"],
            }
        )
    scores = [r["score"] for r in rows if r["score"] is not None]
    return {
        "ref": ref,
        "question_id": last_q.get("id", ref.rpartition(":")[2]),
        "section": last_q.get("section"),
        "text": last_q.get("text"),
        "attempts": rows,
        "best": max(scores) if scores else None,
        "latest": scores[-1] if scores else None,
    }


def report(
    sessions: list[dict[str, Any]],
    attempts: list[dict[str, Any]],
    *,
    since: str | None = None,
    since_label: str | None = None,
    by: str = "session",
    top: int = 10,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The data of the HTML progress report: the stats, plus a summary of every session in the period."""
    generated = (now or datetime.now(UTC)).astimezone().strftime("%Y-%m-%d %H:%M")
    return stats(sessions, attempts, since=since, by=by, top=top) | {
        "since_label": since_label or since,
        "generated_at": generated,
        "session_list": session_summaries(sessions, attempts),
    }
