"""The session engine: plan → ask → persist → grade (in the background) → follow-up → feedback → summary.

Every answer (and every follow-up answer) is committed before it is graded, and what is typed before that is kept
as a draft (`DraftBox`), offered back when the session is resumed. A grade runs on a worker thread; practice mode
waits for it (a spinner runs) and shows the feedback, interview mode asks the next question at once and shows
everything at the end. A retry after the reference answer was shown is practice: kept and graded, but the try
before it stays the one that counts. When the model cannot be reached for answer after answer, the rest are kept
ungraded without waiting (`trip`). A session left with no answer and no draft is not kept.
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
UNREACHABLE_KINDS = ("connection", "timeout")  # grading errors that mean the model cannot be reached at all
UNREACHABLE_AFTER = 2  # answers in a row that could not reach it before the session stops waiting on it


@dataclass
class Response:
    kind: str  # answer | skip | quit
    text: str = ""
    hint_used: bool = False
    duration_s: float | None = None
    audio: str | None = None  # a spoken answer's audio file; `text` is empty until it is transcribed
    transcribed: dict | None = None  # its transcription, when the source has already made (and shown) it


class AnswerSource(Protocol):
    def ask(self, question: Question, index: int, total: int) -> Response | None:
        """The candidate's response; None when there are no more answers (scripted input ran out)."""

    def ask_follow_up(self, question: Question, follow_up: str) -> Response | None: ...

    def after_feedback(self, question: Question) -> str:
        """'retry' to answer the same question again, else 'next'."""

    # A source that keeps drafts also has `use_draft(draft: DraftBox | None)`, called before each `ask`.


class DraftBox:
    """Where the answer being typed to one question is kept until it is committed: `text` is what was saved
    earlier (offered back), `save(text)` keeps what is typed now."""

    def __init__(self, store: Store, session_id: str, idx: int):
        self.store, self.session_id, self.idx = store, session_id, idx
        saved = store.draft(session_id, idx)
        self.text = saved["text"] if saved else ""
        self.saved_at = saved["saved_at"] if saved else None

    def save(self, text: str) -> None:
        self.store.save_draft(self.session_id, self.idx, text)


class Reporter(Protocol):
    def question(self, question: Question, index: int, total: int) -> None: ...
    def follow_up(self, question: Question, text: str) -> None: ...
    def grading(
        self, question: Question | None
    ) -> Any: ...  # a context manager (spinner) while a grade is awaited
    def feedback(
        self, question: Question, grade: Grade, previous: Grade | None = None, practice: bool = False
    ) -> bool:
        """Show the grade (beside `previous`; `practice`: a retry after the reference, which does not count). True
        when it showed a reference or stronger answer."""

    def note(self, message: str) -> None: ...
    def summary(self, session_id: str, turns: list[dict], summary: dict, finished: bool) -> None: ...


def question_snapshot(q: Question) -> dict[str, Any]:
    """The question as asked, kept with the turn: its bank fields and its identity."""
    return q.to_dict() | {"ref": q.ref}


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
        transcriber: Any = None,
    ):
        self.transcriber = (
            transcriber  # speech to text for spoken answers (speech.transcribe), made when needed
        )
        self.store = store
        self.questions = questions
        self.grader = grader
        self.reporter = reporter
        self.home = home
        self.follow_ups = follow_ups
        self.record_reviews = record_reviews
        self.pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="grade")
        self._review_lock = threading.Lock()
        self._reach_lock = threading.Lock()
        self._unreachable_in_a_row = 0
        self._unreachable: str | None = None  # why grading stopped waiting on the model, once it has
        self._notes: list[str] = []  # said on the session's own thread, between questions
        self._session_id = ""

    def close(self, wait: bool = True) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=not wait)

    def create(self, plan: list[Question], mode: str, settings: dict[str, Any]) -> str:
        for q in plan:  # a broken rubric file is an input error before the first question, not mid-session
            rubric_for(q, self.home)
        return self.store.create_session(mode, settings, [q.ref for q in plan])

    # ------------------------------------------------------------ grading

    def trip(self, reason: str) -> None:
        """Stop waiting on the model for the rest of this run: answers are kept ungraded at once (`reason` says
        why), and the session is told once how to grade them later."""
        with self._reach_lock:
            if self._unreachable is None:
                self._unreachable = reason
                self._notes.append("unreachable")  # worded when said: the session's id may not be known yet

    def _note_reach(self, grade: Grade) -> None:
        """Count answers in a row whose grade could not reach the model; trip after `UNREACHABLE_AFTER`."""
        kind = (grade.error or "").split(":", 1)[0] if grade.status != "graded" else ""
        with self._reach_lock:
            self._unreachable_in_a_row = self._unreachable_in_a_row + 1 if kind in UNREACHABLE_KINDS else 0
            tripped = self._unreachable_in_a_row >= UNREACHABLE_AFTER
        if tripped:
            self.trip(f"The model could not be reached for {UNREACHABLE_AFTER} answers in a row ({kind})")

    def _flush_notes(self) -> None:
        with self._reach_lock:
            notes, self._notes = self._notes, []
        for note in notes:
            if note == "unreachable":
                note = (
                    f"{self._unreachable}: the rest of this session's answers are saved ungraded without waiting "
                    f"on the model. Grade them later with: interviewer regrade {self._session_id} --only-ungraded"
                )
            self.reporter.note(note)

    def _not_sent(self, question: Question) -> Grade:
        reason = self._unreachable or ""
        return ungraded(
            question.id,
            f"not sent: {reason[:1].lower() + reason[1:]}; grade it later with "
            f"'interviewer regrade {self._session_id or 'last'} --only-ungraded'",
            GraderInfo(kind=self.grader.kind, model=getattr(self.grader, "model", None)),
        )

    def grade_turn(self, turn: dict[str, Any], question: Question, live: bool = False) -> Grade:
        """Grade a turn (its answer with its follow-ups) and store the grade; never raises. A spoken answer not
        transcribed yet is transcribed first; when that fails it stays pending with its audio, ungraded."""
        audio = turn.get("audio")
        if audio and audio.get("status") == "pending":
            failure = self._transcribe(turn)
            if failure is not None:
                grade = ungraded(question.id, failure, GraderInfo(kind=self.grader.kind))
                self.store.add_grade(turn["id"], grade.to_dict())
                return grade
            audio = turn["audio"]  # now with its transcript and delivery
        try:
            rubric = rubric_for(question, self.home)
            answer = Answer(turn["answer"], turn_follow_ups(turn))
            # a non-answer is 0 without a model, so it is graded even then
            if self._unreachable is not None and answer.parts:
                grade = self._not_sent(question)
            else:
                grade = self.grader.grade(question, rubric, answer)
                self._note_reach(grade)
        except Exception as exc:  # a grade that fails is kept as ungraded; the answer is already saved
            grade = ungraded(question.id, f"{type(exc).__name__}: {exc}", GraderInfo(kind=self.grader.kind))
        if turn.get("hint_used"):
            grade = apply_hint_penalty(grade)
        if audio and audio.get("delivery"):  # shown beside the grade; never part of its score
            grade.extra["delivery"] = audio["delivery"]
        self.store.add_grade(turn["id"], grade.to_dict())
        if live and self.record_reviews and grade.status == "graded":
            self._record_review(question.ref, grade.score)
        return grade

    def _transcribe(self, turn: dict[str, Any]) -> str | None:
        """Transcribe a turn's kept audio and store the transcript as its answer (updating `turn`); the failure's
        message when it cannot be had."""
        from interviewer.speech.transcribe import failure_message, transcribe_audio

        audio = turn["audio"]
        try:
            if self.transcriber is None:
                raise RuntimeError("no transcriber is configured")
            result = transcribe_audio(self.transcriber, audio["path"], audio.get("duration_s"))
        except Exception as exc:
            message = failure_message(exc) + "; the audio is kept: 'interviewer resume' transcribes it again"
            self.store.transcription_failed(turn["id"], message)
            return message
        self.store.set_transcript(turn["id"], result)
        turn["answer"] = result["transcript"]["text"]
        turn["audio"] = audio | {"status": "transcribed"} | result
        return None

    def _kept_audio(self, response: Response, sid: str, idx: int, attempt: int) -> dict[str, Any] | None:
        """A spoken answer's audio, copied into the data home before it is sent anywhere."""
        if not response.audio:
            return None
        from interviewer.config import home_dir
        from interviewer.speech.audio import keep_audio

        kept = keep_audio(self.home or home_dir(), Path(response.audio), f"{sid}-{idx + 1}-{attempt}")
        if response.transcribed is not None:
            kept |= response.transcribed
        return kept

    def _spoken_follow_up(self, response: Response) -> Response:
        """A follow-up answered by voice, transcribed at once (no audio kept for it): its text, or a skip."""
        if not response.audio or response.transcribed is not None or self.transcriber is None:
            return response
        from interviewer.speech.transcribe import failure_message

        try:
            response.text = self.transcriber.transcribe(response.audio).text
        except Exception as exc:
            self.reporter.note(failure_message(exc) + "; the follow-up is skipped")
            response.kind = "skip"
        return response

    def _record_review(self, ref: str, score: float) -> None:
        from interviewer.practice.review import next_card

        with self._review_lock:
            state = self.store.review_states().get(ref)
            self.store.save_review(ref, next_card(state["card_json"] if state else None, score), score)

    def _submit(self, turn: dict[str, Any], question: Question, live: bool = True) -> Future:
        return self.pool.submit(self.grade_turn, dict(turn), question, live)

    def _question(self, ref: str, snapshot: dict[str, Any] | None = None) -> Question:
        q = self.questions.by_ref(ref)
        if q is not None:
            return q
        try:
            return self.questions.get(ref)  # a ref stored before identities were kept apart from shown ids
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
            if response is not None:
                response = self._spoken_follow_up(response)
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

    def regrade(
        self, session_id: str, only_ungraded: bool = False, progress=None
    ) -> tuple[str, list[tuple[dict, Grade]]]:
        """Grade a session's answers again (all, or those without a grade), concurrently; every grade is kept.
        Returns the session's id and each (turn, new grade), in the session's order. `progress` (`start(total)`,
        `advance()`) is told of each grade as it finishes."""
        sid = self.store.session(session_id)["id"]
        self._session_id = sid
        with self.store.hold(sid):
            turns = [
                t
                for t in self.store.turns(sid)
                if not only_ungraded or not t["grade"] or t["grade"]["status"] != "graded"
            ]
            if progress is not None:
                progress.start(len(turns))
            futures = [
                self.pool.submit(self.grade_turn, t, self._question(t["question_ref"], t["question"]))
                for t in turns
            ]
            if progress is not None:
                for f in futures:
                    f.add_done_callback(lambda _: progress.advance())
            return sid, [(t, f.result()) for t, f in zip(turns, futures, strict=True)]

    def run(self, session_id: str, source: AnswerSource, resumed: bool = False) -> SessionResult:
        """Ask the session's remaining questions; the session is held by this process while it runs. `resumed`
        says first which session this is and how far it got. However the run ends (a Ctrl-C too), a session
        left with no answer and no draft is removed (its `SessionResult.session_id` is then empty)."""
        session_id = self.store.session(session_id)["id"]
        self._session_id = session_id
        with self.store.hold(session_id):
            try:
                result = self._run(session_id, source, resumed)
            finally:
                removed = self.store.delete_if_empty(session_id)
            return SessionResult("", False, result.summary) if removed else result

    def resume_note(self, session_id: str, turns: list[dict[str, Any]]) -> str:
        """Which session this is and how far it got, in one line."""
        from interviewer.textview import local_time

        row = self.store.session(session_id)
        total = len(json.loads(row["plan_json"]))
        done = {t["idx"] for t in turns}
        left = [i for i in range(total) if i not in done]
        counts = [
            f"{n} {what}"
            for n, what in (
                (sum(1 for t in turns if t.get("skipped")), "skipped"),
                (sum(1 for t in turns if not t["grade"] or t["grade"]["status"] != "graded"), "ungraded"),
            )
            if n
        ]
        far = f"{len(done)} of {total} answered" + (f" ({', '.join(counts)})" if counts else "")
        nxt = f"; next: question {left[0] + 1}/{total}" if left else "; no question left to ask"
        return f"Resuming session {session_id} ({row['mode']}, started {local_time(row['started_at'])}): {far}{nxt}."

    def _run(self, session_id: str, source: AnswerSource, resumed: bool = False) -> SessionResult:
        row = self.store.session(session_id)
        mode = row["mode"]
        plan: list[str] = json.loads(row["plan_json"])
        pending: list[tuple[Question, Future]] = []
        done = set()
        earlier = self.store.turns(session_id)
        if resumed:
            self.reporter.note(self.resume_note(session_id, earlier))
        for t in earlier:  # resume: grade what was answered but never graded
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
                if self.store.is_empty(session_id):
                    self.reporter.note("Nothing was answered, so the session is not kept.")
                    return SessionResult(session_id, False, summarize([]))
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
        self._flush_notes()
        finished = (
            not stopped
            and len(self.store.turns(session_id)) >= total
            and not self.store.pending_audio(session_id)  # resume transcribes it
        )
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
        after_reference = False  # this try comes after the reference answer was shown: practice, not counted
        while True:
            self._flush_notes()
            self.reporter.question(q, idx, total)
            if after_reference:
                counted = (
                    f"{previous.score:.1f}" if previous is not None and previous.score is not None else "-"
                )
                self.reporter.note(
                    "You have seen the reference answer, so this try is practice: it is graded and kept, but the "
                    f"earlier grade stays the one that counts ({counted})."
                )
            use_draft = getattr(source, "use_draft", None)
            if use_draft is not None:  # only a first try's draft is worth keeping: a resume asks it again
                use_draft(DraftBox(self.store, sid, idx) if attempt == 1 else None)
            started = time.monotonic()
            response = source.ask(q, idx, total)
            if response is None:
                return "exhausted" if attempt == 1 else "ok"
            if response.kind == "quit":
                return "quit" if attempt == 1 else "ok"
            answer = "" if response.kind == "skip" else response.text
            duration = response.duration_s if response.duration_s is not None else time.monotonic() - started
            audio = self._kept_audio(response, sid, idx, attempt) if response.kind != "skip" else None
            if audio is not None and audio.get("transcript") is not None:
                answer = response.text  # the transcript as the candidate accepted or edited it
            turn_id = self.store.add_turn(
                sid, idx, q.ref, question_snapshot(q), answer, round(duration, 1), response.hint_used, attempt,
                after_reference=after_reference, audio=audio,
            )  # fmt: skip
            turn = {"id": turn_id, "answer": answer, "hint_used": response.hint_used, "follow_ups": []}
            if audio is not None:
                turn["audio"] = audio | {
                    "status": "pending" if audio.get("transcript") is None else "transcribed"
                }
                if mode == "practice" and turn["audio"]["status"] == "pending":
                    with self.reporter.grading(q):  # the follow-up and the feedback need the transcript
                        failure = self._transcribe(turn)
                    if failure is not None:
                        self.reporter.note(failure)
                    answer = turn["answer"]
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
                grade = self._submit(turn, q, live=not follow and not after_reference).result()
            first = None
            if follow and grade.status == "graded":
                # Like an interviewer: the follow-up comes before the verdict, so the feedback cannot give it away.
                if not self._ask_follow_ups(source, turn, q, grade):
                    self.reporter.feedback(q, grade, previous, practice=after_reference)
                    return "quit"
                if turn["follow_ups"]:
                    first = grade
                    with self.reporter.grading(q):
                        grade = self._submit(turn, q, live=not after_reference).result()
                elif self.record_reviews and not after_reference:
                    self._record_review(q.ref, grade.score)
            shown = self.reporter.feedback(q, grade, first or previous, practice=after_reference)
            if source.after_feedback(q) != "retry":
                return "ok"
            if not after_reference:  # a practice try is compared with the try that counts
                previous = grade
            attempt, after_reference = attempt + 1, after_reference or bool(shown)
