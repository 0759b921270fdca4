"""The queries behind `stats`, `report` and `history`: grouped in SQL and returned as typed records, so their
cost follows the number of questions, sessions shown and criteria, not the number of answers ever given.

Counting rule (as in a session's own summary, `sessions`, the report and the exports): a session's last try at a
question (`turns.final`) is the answer that counts, except a retry made after the reference answer was shown, which
is practice and never replaces the try before it; its latest grade is the one that counts, with any hint penalty
it carries; an ungraded answer is counted, never averaged as 0; a skip counts as 0 and is counted as skipped. The
questions to review see every try but the practice ones.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from typing import Any

# `turns.score` is the score of the turn's latest grade when that grade is graded, else NULL
_TALLY = "COUNT(*) AS answers, COUNT(t.score) AS graded, TOTAL(t.score) AS total, TOTAL(t.skipped) AS skipped"
_SINCE = "(:since IS NULL OR s.started_at >= :since)"


def _turns(since: str | None, final: bool = True) -> str:
    """FROM and WHERE for the turns that count (`final`) or every try, of sessions since `since` (without one,
    sessions are not joined at all)."""
    where, join = (["t.final"] if final else []), ""
    if since is not None:
        join, where = " JOIN sessions s ON s.id = t.session_id", [*where, "s.started_at >= :since"]
    return f"FROM turns t{join}" + (f" WHERE {' AND '.join(where)}" if where else "")


@dataclass(frozen=True, slots=True)
class Tally:
    """Answers in a group: how many, how many graded, the sum of the graded scores, and how many were skipped
    (graded 0, among the graded)."""

    answers: int = 0
    graded: int = 0
    total: float = 0.0
    skipped: int = 0

    @property
    def ungraded(self) -> int:
        return self.answers - self.graded

    @property
    def average(self) -> float | None:
        return round(self.total / self.graded, 1) if self.graded else None

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.answers + other.answers,
            self.graded + other.graded,
            self.total + other.total,
            self.skipped + other.skipped,
        )


def _tally(row: sqlite3.Row) -> Tally:
    return Tally(row["answers"], row["graded"], row["total"], int(row["skipped"]))


@dataclass(frozen=True, slots=True)
class QuestionTally:
    ref: str
    qid: str | None
    section: str | None
    difficulty: str | None
    tally: Tally


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One session (`key` its id, `started_at` when it began) or one local day (`key` the date)."""

    key: str
    started_at: str | None
    tally: Tally


@dataclass(frozen=True, slots=True)
class CriterionTally:
    name: str
    count: int
    fraction_total: float  # the sum of score / criterion maximum
    questions: tuple[str, ...] = ()  # the refs of the questions it was scored on, most scored first


@dataclass(frozen=True, slots=True)
class LatestGrade:
    """A question's latest graded try, with how many tries it has had."""

    ref: str
    qid: str | None
    section: str | None
    text: str | None
    score: float
    attempts: int
    answered_at: str
    session_id: str


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: str
    started_at: str
    finished_at: str | None
    status: str
    mode: str
    planned: int
    grader_kind: str | None
    model: str | None
    tally: Tally = field(default_factory=Tally)
    by_section: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Spent:
    """What the model grades cost: every grade given, regrades included, as the replies reported it."""

    grades: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    priced: int = 0  # grades whose reply came with a price


@dataclass(frozen=True, slots=True)
class ProgressFacts:
    """Everything `stats` needs, for sessions started at or after `since`."""

    sessions: int
    questions: list[QuestionTally]
    trend: list[TrendPoint]
    criteria: list[CriterionTally]
    latest: list[LatestGrade]
    spent: Spent = field(default_factory=Spent)


class ProgressQueries:
    """Mixed into `Store`: read-only aggregate queries."""

    db: sqlite3.Connection
    lock: threading.RLock

    def _rows(self, sql: str, params: dict[str, Any]) -> list[sqlite3.Row]:
        with self.lock:
            return self.db.execute(sql, params).fetchall()

    def progress_facts(self, since: str | None = None, by: str = "session") -> ProgressFacts:
        p = {"since": since}
        (count,) = self._rows(f"SELECT COUNT(*) AS n FROM sessions s WHERE {_SINCE}", p)
        questions = [
            QuestionTally(r["question_ref"], r["qid"], r["section"], r["difficulty"], _tally(r))
            for r in self._rows(
                f"SELECT t.question_ref, t.qid, t.section, t.difficulty, {_TALLY} {_turns(since)} "
                "GROUP BY t.question_ref, t.qid, t.section, t.difficulty",
                p,
            )
        ]
        if by == "day":  # the local calendar day, as SQLite's localtime and Python's astimezone() both see it
            sql = (
                f"SELECT date(t.answered_at, 'localtime') AS key, NULL AS started_at, {_TALLY} {_turns(since)} "
                "GROUP BY key ORDER BY key"
            )
        else:
            sql = (
                f"SELECT s.id AS key, s.started_at, {_TALLY} FROM sessions s JOIN turns t ON t.session_id = s.id "
                f"WHERE t.final AND {_SINCE} GROUP BY s.id ORDER BY s.started_at, s.rowid"
            )
        trend = [TrendPoint(r["key"], r["started_at"], _tally(r)) for r in self._rows(sql, p)]
        if since is None:  # the criteria that count, read in order from their own index
            sql = """SELECT name, question_ref, COUNT(*) AS n, TOTAL(fraction) AS total FROM criterion_scores
                     GROUP BY name, question_ref"""
        else:
            # CROSS JOIN keeps this order (period → turns → criteria), all through covering indexes; the
            # planner would rather walk every criterion by name and look up each one's wide turn row
            sql = """SELECT c.name, c.question_ref, COUNT(*) AS n, TOTAL(c.fraction) AS total FROM sessions s
                     CROSS JOIN turns t ON t.session_id = s.id CROSS JOIN criterion_scores c ON c.turn_id = t.id
                     WHERE s.started_at >= :since GROUP BY c.name, c.question_ref"""
        by_name: dict[str, list] = {}
        for r in self._rows(sql, p):
            by_name.setdefault(r["name"], []).append((r["n"], r["total"], r["question_ref"]))
        criteria = [
            CriterionTally(
                name, sum(n for n, _, _ in rows), sum(t for _, t, _ in rows),
                tuple(ref for _, _, ref in sorted(rows, key=lambda x: (-x[0], x[2]))),
            )
            for name, rows in by_name.items()
        ]  # fmt: skip
        return ProgressFacts(
            count["n"], questions, trend, criteria, self._latest_grades(since), self._spent(since)
        )

    def _spent(self, since: str | None) -> Spent:
        (r,) = self._rows(
            f"""SELECT COUNT(*) AS n, TOTAL(g.prompt_tokens) AS p, TOTAL(g.completion_tokens) AS c,
                       TOTAL(g.cost_usd) AS usd, COUNT(g.cost_usd) AS priced
                FROM grades g INDEXED BY grades_spent
                {"" if since is None else "JOIN turns t ON t.id = g.turn_id JOIN sessions s ON s.id = t.session_id"}
                WHERE g.grader_kind = 'llm' {"" if since is None else "AND s.started_at >= :since"}""",
            {"since": since},
        )
        return Spent(r["n"], int(r["p"]), int(r["c"]), r["usd"], r["priced"])

    def _latest_grades(self, since: str | None) -> list[LatestGrade]:
        """Per question: how many tries, and its latest graded one (by when it was answered, then by turn)."""
        rows = self._rows(
            f"""WITH latest AS (
                    SELECT t.question_ref, COUNT(*) AS attempts,
                           MAX(CASE WHEN t.score IS NOT NULL AND NOT t.after_reference THEN t.answered_at || printf('#%012d', t.id) END) AS last
                    {_turns(since, final=False)} GROUP BY t.question_ref)
                SELECT t.question_ref, t.qid, t.section, json_extract(t.question_json, '$.text') AS text, t.score,
                       latest.attempts, t.answered_at, t.session_id
                FROM latest JOIN turns t ON t.id = CAST(substr(latest.last, -12) AS INTEGER)""",
            {"since": since},
        )
        return [
            LatestGrade(r["question_ref"], r["qid"], r["section"], r["text"], r["score"], r["attempts"],
                        r["answered_at"], r["session_id"])
            for r in rows
        ]  # fmt: skip

    def session_records(self, since: str | None = None, last: int | None = None) -> list[SessionRecord]:
        """Sessions started at or after `since` (the `last` N of them), oldest first, each with its tally and
        its average per section. Only public settings leave the store."""
        p = {"since": since, "last": -1 if last is None else last}
        rows = self._rows(
            f"""SELECT * FROM (SELECT s.rowid AS seq, s.id, s.started_at, s.finished_at, s.status, s.mode,
                                      s.settings_json, s.plan_json FROM sessions s WHERE {_SINCE}
                               ORDER BY s.started_at DESC, s.rowid DESC LIMIT :last)
                ORDER BY started_at, seq""",
            p,
        )
        if not rows:
            return []
        ids = {r["id"]: i for i, r in enumerate(rows)}
        lo, hi = rows[0]["started_at"], rows[-1]["started_at"]
        tallies: dict[str, Tally] = {}
        sections: dict[str, dict[str, float | None]] = {}
        for r in self._rows(
            f"""SELECT t.session_id, t.section, MIN(t.idx) AS first, {_TALLY}
                FROM turns t JOIN sessions s ON s.id = t.session_id
                WHERE t.final AND s.started_at BETWEEN :lo AND :hi
                GROUP BY t.session_id, t.section ORDER BY t.session_id, first""",
            {"lo": lo, "hi": hi},
        ):
            sid = r["session_id"]
            if sid not in ids:
                continue
            tally = _tally(r)
            tallies[sid] = tallies.get(sid, Tally()) + tally
            if tally.graded:
                sections.setdefault(sid, {})[r["section"]] = tally.average
        out = []
        for r in rows:
            settings = json.loads(r["settings_json"] or "{}")
            out.append(
                SessionRecord(
                    id=r["id"], started_at=r["started_at"], finished_at=r["finished_at"], status=r["status"],
                    mode=r["mode"], planned=len(json.loads(r["plan_json"] or "[]")),
                    grader_kind=settings.get("grader_kind"), model=settings.get("model"),
                    tally=tallies.get(r["id"], Tally()), by_section=sections.get(r["id"], {}),
                )
            )  # fmt: skip
        return out
