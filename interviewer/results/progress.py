"""Progress across sessions, from the store's grouped records (data in, data out): the figures of `stats`,
`report` and `history`.

The store groups in SQL (see `interviewer.store.progress` for the counting rule: a session's last try at a
question counts, ungraded answers are counted and never averaged as 0), so what arrives here is one record per
question, trend point, criterion and listed session, however long the history.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from interviewer.content.bank import Question
from interviewer.errors import InputError
from interviewer.grading.models import MAX_SCORE
from interviewer.store.progress import (
    CriterionTally,
    LatestGrade,
    ProgressFacts,
    QuestionTally,
    SessionRecord,
    Tally,
    TrendPoint,
)

TREND_BY = ("session", "day")
Current = dict[str, Question]  # the loaded questions by identity (`Question.ref`)
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


def id_key(qid: str) -> tuple:
    """Sort `2.10` after `2.9`; non-numeric ids after numeric ones."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.:]", qid))


def _row(tally: Tally) -> dict[str, Any]:
    return {
        "answers": tally.answers,
        "graded": tally.graded,
        "skipped": tally.skipped,
        "average": tally.average,
    }


def _sum_by(questions: list[QuestionTally], key) -> dict[Any, Tally]:
    groups: dict[Any, Tally] = {}
    for q in questions:
        groups[key(q)] = groups.get(key(q), Tally()) + q.tally
    return groups


def by_section(questions: list[QuestionTally], current: Current | None = None) -> list[dict[str, Any]]:
    """Per section, in bank order. A question still in a loaded bank counts under its section there (so the two
    editions of a bank are one section); one no longer in any under the section it was asked in."""
    current = current or {}

    def place(q: QuestionTally) -> tuple[str, tuple]:
        now = current.get(q.ref)
        if now is not None:
            return now.section, (0, now.bank, now.section_index, id_key(now.id))
        return q.section or "-", (1, "", 0, id_key(q.qid or ""))

    groups = _sum_by(questions, lambda q: place(q)[0])
    first: dict[str, tuple] = {}
    for q in questions:
        s, k = place(q)
        first[s] = min(first.get(s, k), k)
    return [{"section": s} | _row(groups[s]) for s in sorted(groups, key=lambda s: (first[s], s))]


def by_difficulty(questions: list[QuestionTally]) -> list[dict[str, Any]]:
    groups = _sum_by(questions, lambda q: q.difficulty)

    def order(d):
        return (d is None, DIFFICULTY_ORDER.index(d) if d in DIFFICULTY_ORDER else 99, d or "")

    return [{"difficulty": d} | _row(groups[d]) for d in sorted(groups, key=order)]


def trend(points: list[TrendPoint], by: str = "session") -> list[dict[str, Any]]:
    """Average per session (by when it started) or per local day (by when answered), oldest first."""
    if by == "day":
        return [{"label": p.key, "date": p.key} | _row(p.tally) for p in points]
    return [
        {"label": p.key, "session_id": p.key, "date": local_day(p.started_at)} | _row(p.tally) for p in points
    ]


def weakest_criteria(
    criteria: list[CriterionTally], top: int | None = None, current: Current | None = None
) -> list[dict[str, Any]]:
    """Criterion names over graded answers, with their mean score on 0–10, count, and the questions (as shown
    now) they were scored on, lowest first."""
    current = current or {}

    def shown(ref: str) -> str:
        q = current.get(ref)
        return q.id if q is not None else ref.rpartition(":")[2]

    rows = [
        {"name": c.name, "average": round(c.fraction_total / c.count * MAX_SCORE, 1), "count": c.count,
         "questions": list(dict.fromkeys(shown(r) for r in c.questions))}
        for c in criteria
        if c.count
    ]  # fmt: skip
    rows.sort(key=lambda r: (r["average"], -r["count"], r["name"]))
    return rows[:top] if top else rows


def to_review(
    latest: list[LatestGrade], top: int | None = None, current: Current | None = None
) -> list[dict[str, Any]]:
    """Questions by the score of their latest graded attempt, lowest first, under their current id."""
    current = current or {}
    rows = []
    for x in latest:
        now = current.get(x.ref)
        qid, section, text = (now.id, now.section, now.text) if now else (x.qid, x.section, x.text)
        bank = now.bank if now else x.ref.rpartition(":")[0]
        rows.append(
            {"question_id": qid, "ref": f"{bank}:{qid}", "identity": x.ref, "section": section, "text": text,
             "score": x.score, "attempts": x.attempts, "answered_at": x.answered_at, "session_id": x.session_id}
        )  # fmt: skip
    rows.sort(key=lambda r: (r["score"], id_key(r["ref"])))
    return rows[:top] if top else rows


def stats(
    facts: ProgressFacts,
    *,
    since: str | None = None,
    by: str = "session",
    top: int = 5,
    current: Current | None = None,
) -> dict[str, Any]:
    """The progress figures of `stats` (and the top of `report`) from the store's grouped facts; `current` (the
    loaded questions by identity) names questions and sections as the banks have them now."""
    if by not in TREND_BY:
        raise InputError(f"--by must be one of {', '.join(TREND_BY)}, got {by!r}")
    overall = sum((q.tally for q in facts.questions), Tally())
    return {
        "since": since,
        "sessions": facts.sessions,
        "answers": overall.answers,
        "graded": overall.graded,
        "ungraded": overall.ungraded,
        "skipped": overall.skipped,
        "average": overall.average,
        "max_score": MAX_SCORE,
        "by_section": by_section(facts.questions, current),
        "by_difficulty": by_difficulty(facts.questions),
        "trend_by": by,
        "trend": trend(facts.trend, by),
        "weakest_criteria": weakest_criteria(facts.criteria, top, current),
        "to_review": to_review(facts.latest, top, current),
        "spent": {
            "llm_grades": facts.spent.grades,
            "prompt_tokens": facts.spent.prompt_tokens,
            "completion_tokens": facts.spent.completion_tokens,
            "cost_usd": round(facts.spent.cost_usd, 6) if facts.spent.priced else None,
        },  # fmt: skip
    }


def session_summary(record: SessionRecord) -> dict[str, Any]:
    """A session's line in the report, with the same fields as its own summary."""
    return {
        "id": record.id, "started_at": record.started_at, "finished_at": record.finished_at,
        "status": record.status, "mode": record.mode, "planned": record.planned,
        "grader_kind": record.grader_kind, "model": record.model,
        "score": record.tally.average, "max_score": MAX_SCORE, "answered": record.tally.answers,
        "graded": record.tally.graded, "ungraded": record.tally.ungraded, "skipped": record.tally.skipped,
        "by_section": record.by_section,
    }  # fmt: skip


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
    """Every attempt at one question, oldest first; `question` describes it as its bank has it now (else the
    latest attempt's copy does)."""
    last_q = question or (attempts[-1]["question"] if attempts else {})
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
        "ref": f"{last_q.get('bank') or ref.rpartition(':')[0]}:{last_q.get('id', ref.rpartition(':')[2])}",
        "identity": ref,
        "question_id": last_q.get("id", ref.rpartition(":")[2]),
        "section": last_q.get("section"),
        "text": last_q.get("text"),
        "attempts": rows,
        "best": max(scores) if scores else None,
        "latest": scores[-1] if scores else None,
    }


REPORT_SESSIONS = 100  # the report lists the latest sessions of the period, and says how many it left out
REPORT_TREND_POINTS = 60  # and charts the latest points of the trend


def report(
    facts: ProgressFacts,
    sessions: list[SessionRecord],
    *,
    since: str | None = None,
    since_label: str | None = None,
    by: str = "session",
    top: int = 10,
    now: datetime | None = None,
    current: Current | None = None,
) -> dict[str, Any]:
    """The data of the HTML progress report: the stats, plus a summary of the latest sessions in the period."""
    generated = (now or datetime.now(UTC)).astimezone().strftime("%Y-%m-%d %H:%M")
    return stats(facts, since=since, by=by, top=top, current=current) | {
        "since_label": since_label or since,
        "generated_at": generated,
        "session_list": [session_summary(r) for r in sessions],
        "sessions_not_listed": max(0, facts.sessions - len(sessions)),
    }
