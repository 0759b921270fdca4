"""The session engine: plan → ask → persist → grade (in the background) → follow-up → feedback → summary.

Every answer (and every follow-up answer) is committed before it is graded. A grade runs on a worker thread;
practice mode waits for it (a spinner runs) and shows the feedback, interview mode asks the next question at
once and shows everything at the end.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from interviewer.content.bank import Question, QuestionSet
from interviewer.content.rubric import rubric_for
from interviewer.grading.graders import Grader
from interviewer.grading.models import Answer, FollowUp, Grade, GraderInfo, is_non_answer, ungraded
from interviewer.practice.follow_ups import aim, next_follow_up
from interviewer.results.summary import summarize
from interviewer.store import Store

HINT_PENALTY = 1.0


@dataclass
class Response:
    kind: str  # answer | skip | quit
    text: str = ""
    hint_used: bool = False
    duration_s: float | None = None


class AnswerSource(Protocol):
    def ask(self, question: Question, index: int, total: int) -> Response | None:
        """The candidate's response; None when there are no more answers (scripted input ran out)."""

    def ask_follow_up(self, question: Question, follow_up: str) -> Response | None: ...

    def after_feedback(self, question: Question) -> str:
        """'retry' to answer the same question again, else 'next'."""


class Reporter(Protocol):
    def question(self, question: Question, index: int, total: int) -> None: ...
    def follow_up(self, question: Question, text: str) -> None: ...
    def grading(
        self, question: Question | None
    ) -> Any: ...  # a context manager (spinner) while a grade is awaited
    def feedback(self, question: Question, grade: Grade, previous: Grade | None = None) -> None: ...
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


def turn_follow_ups(turn: dict[str, Any]) -> tuple[FollowUp, ...]:
    """A turn's follow-up exchanges, as the grader takes them (only their answers are the candidate's)."""
    return tuple(FollowUp(f["question"], f["answer"]) for f in turn.get("follow_ups") or [])


def apply_hint_penalty(grade: Grade) -> Grade:
    if grade.status == "graded" and grade.score is not None:
        grade.extra["hint_penalty"] = HINT_PENALTY
        grade.score = round(max(0.0, grade.score - HINT_PENALTY), 1)
        grade.flags.append("hint_used")
        grade.feedback = (grade.feedback + f" A hint was used: −{HINT_PENALTY:g}.").strip()
    return grade


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
        follow_ups: int = 0,
        record_reviews: bool = True,
    ):
        self.store = store
        self.questions = questions
        self.grader = grader
        self.reporter = reporter
        self.home = home
        self.follow_ups = follow_ups
        self.record_reviews = record_reviews
        self.pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="grade")
        self._review_lock = threading.Lock()

    def close(self, wait: bool = True) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=not wait)

    def create(self, plan: list[Question], mode: str, settings: dict[str, Any]) -> str:
        for q in plan:  # a broken rubric file is an input error before the first question, not mid-session
            rubric_for(q, self.home)
        return self.store.create_session(mode, settings, [q.ref for q in plan])

    # ------------------------------------------------------------ grading

    def grade_turn(self, turn: dict[str, Any], question: Question, live: bool = False) -> Grade:
        """Grade a turn (its answer with its follow-ups) and store the grade; never raises."""
        try:
            rubric = rubric_for(question, self.home)
            grade = self.grader.grade(question, rubric, Answer(turn["answer"], turn_follow_ups(turn)))
        except Exception as exc:  # a grade that fails is kept as ungraded; the answer is already saved
            grade = ungraded(question.id, f"{type(exc).__name__}: {exc}", GraderInfo(kind=self.grader.kind))
        if turn.get("hint_used"):
            grade = apply_hint_penalty(grade)
        self.store.add_grade(turn["id"], grade.to_dict())
        if live and self.record_reviews and grade.status == "graded":
            self._record_review(question.ref, grade.score)
        return grade

    def _record_review(self, ref: str, score: float) -> None:
        from interviewer.practice.review import next_card

        with self._review_lock:
            state = self.store.review_states().get(ref)
            self.store.save_review(ref, next_card(state["card_json"] if state else None, score), score)

    def _submit(self, turn: dict[str, Any], question: Question, live: bool = True) -> Future:
        return self.pool.submit(self.grade_turn, dict(turn), question, live)

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

    # ------------------------------------------------------------ one question

    def _ask_follow_ups(self, source: AnswerSource, turn: dict[str, Any], q: Question, grade: Grade) -> bool:
        """Ask up to `follow_ups` follow-up questions; each answer is committed at once. False if the candidate quit."""
        for i in range(self.follow_ups):
            criterion_id, text = next_follow_up(q, grade)
            if not text:
                return True
            self.reporter.follow_up(q, text)
            response = source.ask_follow_up(q, text)
            if response is not None and response.kind == "quit":
                return False
            if response is None or response.kind == "skip" or not response.text.strip():
                return True
            self.store.add_follow_up(turn["id"], i + 1, criterion_id, text, response.text)
            turn["follow_ups"] = self.store.follow_ups(turn["id"])
            if is_non_answer(response.text):
                return True  # kept, but after a non-answer the interviewer moves on
            if i + 1 < self.follow_ups:  # the next follow-up aims at what is still weakest
                grade = aim(q, rubric_for(q, self.home), Answer(turn["answer"], turn_follow_ups(turn)))
        return True

    # ------------------------------------------------------------ the loop

    def regrade(self, session_id: str, only_ungraded: bool = False) -> tuple[str, list[tuple[dict, Grade]]]:
        """Grade a session's answers again (all, or those without a grade), concurrently; every grade is kept.
        Returns the session's id and each (turn, new grade), in the session's order."""
        sid = self.store.session(session_id)["id"]
        with self.store.hold(sid):
            turns = [
                t
                for t in self.store.turns(sid)
                if not only_ungraded or not t["grade"] or t["grade"]["status"] != "graded"
            ]
            futures = [
                self.pool.submit(self.grade_turn, t, self._question(t["question_ref"], t["question"]))
                for t in turns
            ]
            return sid, [(t, f.result()) for t, f in zip(turns, futures, strict=True)]

    def run(self, session_id: str, source: AnswerSource) -> SessionResult:
        """Ask the session's remaining questions; the session is held by this process while it runs."""
        session_id = self.store.session(session_id)["id"]
        with self.store.hold(session_id):
            return self._run(session_id, source)

    def _run(self, session_id: str, source: AnswerSource) -> SessionResult:
        row = self.store.session(session_id)
        mode = row["mode"]
        plan: list[str] = json.loads(row["plan_json"])
        pending: list[tuple[Question, Future]] = []
        done = set()
        for t in self.store.turns(session_id):  # resume: grade what was answered but never graded
            done.add(t["idx"])
            if t["grade"] is None or t["grade"]["status"] != "graded":
                q = self._question(t["question_ref"], t["question"])
                pending.append((q, self._submit(t, q)))
        if pending:
            self.reporter.note(f"Grading {len(pending)} earlier answer(s) that had no grade.")
        total = len(plan)
        stopped = False
        for idx, ref in enumerate(plan):
            if idx in done:
                continue
            q = self._question(ref)
            outcome = self._one_question(source, session_id, idx, total, q, mode, pending)
            if outcome != "ok":
                stopped = True
                left = total - idx if outcome == "exhausted" else None
                if left is not None:
                    self.reporter.note(
                        f"The answers ran out with {left} question(s) left; continue with: interviewer resume {session_id}"
                    )
                else:
                    self.reporter.note(f"Session paused; continue with: interviewer resume {session_id}")
                break
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

    def _one_question(
        self, source: AnswerSource, sid: str, idx: int, total: int, q: Question, mode: str, pending: list
    ) -> str:
        """Ask one question (and its follow-ups and retries). Returns ok | quit | exhausted."""
        attempt = 1
        previous: Grade | None = None
        while True:
            self.reporter.question(q, idx, total)
            started = time.monotonic()
            response = source.ask(q, idx, total)
            if response is None:
                return "exhausted" if attempt == 1 else "ok"
            if response.kind == "quit":
                return "quit" if attempt == 1 else "ok"
            answer = "" if response.kind == "skip" else response.text
            duration = response.duration_s if response.duration_s is not None else time.monotonic() - started
            turn_id = self.store.add_turn(
                sid, idx, q.ref, question_snapshot(q), answer, round(duration, 1), response.hint_used, attempt
            )
            turn = {"id": turn_id, "answer": answer, "hint_used": response.hint_used, "follow_ups": []}
            if mode != "practice":
                wants = self.follow_ups and not is_non_answer(answer)
                aimed = aim(q, rubric_for(q, self.home), Answer(answer)) if wants else None
                if aimed is not None and not self._ask_follow_ups(source, turn, q, aimed):
                    pending.append((q, self._submit(turn, q)))
                    return "quit"
                pending.append((q, self._submit(turn, q)))
                return "ok"
            follow = self.follow_ups and not is_non_answer(answer)
            with self.reporter.grading(q):
                grade = self._submit(turn, q, live=not follow).result()
            first = None
            if follow and grade.status == "graded":
                # Like an interviewer: the follow-up comes before the verdict, so the feedback cannot give it away.
                if not self._ask_follow_ups(source, turn, q, grade):
                    self.reporter.feedback(q, grade, previous)
                    return "quit"
                if turn["follow_ups"]:
                    first = grade
                    with self.reporter.grading(q):
                        grade = self._submit(turn, q).result()
                elif self.record_reviews:
                    self._record_review(q.ref, grade.score)
            self.reporter.feedback(q, grade, first or previous)
            if source.after_feedback(q) != "retry":
                return "ok"
            previous, attempt = grade, attempt + 1
