"""The session engine: plan → ask → persist → grade (in the background) → feedback → summary.

Every answer is committed before it is graded. A grade runs on a worker thread; practice mode waits for
it and shows the feedback, interview mode asks the next question at once and shows everything at the end.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from interviewer.bank import Question, QuestionSet
from interviewer.grading.graders import Grader
from interviewer.grading.models import Grade, GraderInfo, ungraded
from interviewer.rubric import rubric_for
from interviewer.store import Store
from interviewer.summary import summarize


@dataclass
class Response:
    kind: str  # answer | skip | quit
    text: str = ""
    hint_used: bool = False
    duration_s: float | None = None


class AnswerSource(Protocol):
    def ask(self, question: Question, index: int, total: int) -> Response | None:
        """The candidate's response; None when there are no more answers (scripted input ran out)."""


class Reporter(Protocol):
    def question(self, question: Question, index: int, total: int) -> None: ...
    def grading(self, question: Question) -> Any: ...  # a context manager (spinner) while a grade is awaited
    def feedback(self, question: Question, grade: Grade) -> None: ...
    def note(self, message: str) -> None: ...
    def summary(self, session_id: str, turns: list[dict], summary: dict, finished: bool) -> None: ...


def question_snapshot(q: Question) -> dict[str, Any]:
    return {
        "id": q.id,
        "ref": q.ref,
        "bank": q.bank,
        "section": q.section,
        "text": q.text,
        "hint": q.hint,
        "difficulty": q.difficulty,
        "frequency": q.frequency,
    }


@dataclass
class SessionResult:
    session_id: str
    finished: bool
    summary: dict[str, Any]


class SessionEngine:
    def __init__(
        self,
        store: Store,
        questions: QuestionSet,
        grader: Grader,
        reporter: Reporter,
        home: Path | None = None,
        concurrency: int = 4,
    ):
        self.store = store
        self.questions = questions
        self.grader = grader
        self.reporter = reporter
        self.home = home
        self.pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="grade")

    def close(self, wait: bool = True) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=not wait)

    def create(self, plan: list[Question], mode: str, settings: dict[str, Any]) -> str:
        for q in plan:  # a broken rubric file is an input error before the first question, not mid-session
            rubric_for(q, self.home)
        return self.store.create_session(mode, settings, [q.ref for q in plan])

    def grade_turn(self, turn_id: int, question: Question, answer: str) -> Grade:
        try:
            rubric = rubric_for(question, self.home)
            grade = self.grader.grade(question.id, question.text, question.hint, rubric, answer)
        except Exception as exc:  # a grade that fails is kept as ungraded; the answer is already saved
            grade = ungraded(question.id, f"{type(exc).__name__}: {exc}", GraderInfo(kind=self.grader.kind))
        self.store.add_grade(turn_id, grade.to_dict())
        return grade

    def _question(self, ref: str, snapshot: dict[str, Any] | None = None) -> Question:
        try:
            return self.questions.get(ref)
        except Exception:
            if snapshot is None:
                raise
            # The bank changed since the session began: grade against the question as it was asked.
            return Question(
                id=snapshot["id"],
                bank=snapshot.get("bank", ""),
                section=snapshot["section"],
                section_index=0,
                text=snapshot["text"],
                hint=snapshot.get("hint", ""),
                difficulty=snapshot.get("difficulty"),
                frequency=snapshot.get("frequency"),
            )

    def run(self, session_id: str, source: AnswerSource) -> SessionResult:
        row = self.store.session(session_id)
        session_id = row["id"]
        mode = row["mode"]
        import json

        plan: list[str] = json.loads(row["plan_json"])
        pending: list[tuple[Question, Future]] = []
        done = set()
        for t in self.store.turns(session_id):  # resume: grade what was answered but never graded
            done.add(t["idx"])
            if t["grade"] is None or t["grade"]["status"] != "graded":
                q = self._question(t["question_ref"], t["question"])
                pending.append((q, self.pool.submit(self.grade_turn, t["id"], q, t["answer"])))
        if pending:
            self.reporter.note(f"Grading {len(pending)} earlier answer(s) that had no grade.")
        total = len(plan)
        stopped = False
        for idx, ref in enumerate(plan):
            if idx in done:
                continue
            q = self._question(ref)
            self.reporter.question(q, idx, total)
            started = time.monotonic()
            response = source.ask(q, idx, total)
            if response is None:
                left = total - idx
                self.reporter.note(
                    f"The answers ran out with {left} question(s) left; continue with: interviewer resume {session_id}"
                )
                stopped = True
                break
            if response.kind == "quit":
                self.reporter.note(f"Session paused; continue with: interviewer resume {session_id}")
                stopped = True
                break
            answer = "" if response.kind == "skip" else response.text
            duration = response.duration_s if response.duration_s is not None else time.monotonic() - started
            turn_id = self.store.add_turn(
                session_id, idx, q.ref, question_snapshot(q), answer, round(duration, 1), response.hint_used
            )
            future = self.pool.submit(self.grade_turn, turn_id, q, answer)
            if mode == "practice":
                with self.reporter.grading(q):
                    grade = future.result()
                self.reporter.feedback(q, grade)
            else:
                pending.append((q, future))
        if pending:
            with self.reporter.grading(None):
                for q, fut in pending:
                    grade = fut.result()
                    if mode != "practice":
                        self.reporter.feedback(q, grade)
        finished = not stopped and len(self.store.turns(session_id)) >= total
        if finished:
            self.store.finish_session(session_id)
        turns = self.store.turns(session_id)
        summary = summarize(turns)
        self.reporter.summary(session_id, turns, summary, finished)
        return SessionResult(session_id, finished, summary)
