"""Terminal rendering and answer input. Questions and feedback on stdout; prompts, spinners and notes on stderr."""

from __future__ import annotations

import contextlib
import itertools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from interviewer.content.bank import Question
from interviewer.grading.models import Grade
from interviewer.practice.engine import Response
from interviewer.results.export import reference_answer
from interviewer.results.transcript import SUGGESTED_FOLLOW_UP, worked_answers
from interviewer.textview import MARKS, Style, local_time, reflow

READING_WIDTH = 100  # columns: text wider than this is hard to read, however wide the terminal

COMMANDS = (":hint", ":skip", ":quit", ":edit", ":voice")
DRAFT_EVERY_S = 2.0  # what is typed is saved at most this long after it was typed (and at once on Ctrl-C)


def use_color(stream: IO) -> bool:
    return not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty()


def tag_line(q: Question) -> str:
    parts = [q.section, q.difficulty or "-", f"freq {q.frequency or '-'}"]
    return " · ".join(parts)


def format_grade(grade: Grade, style: Style, verbose: bool = True, reference: str | None = None) -> list[str]:
    """The grade as the terminal shows it; `reference` is the question's curated reference answer, shown beside
    the grader's own stronger answer when that differs."""
    lines = [f"Score: {style.score(grade.score)}" + (f"  [{', '.join(grade.flags)}]" if grade.flags else "")]
    if grade.extra.get("delivery"):  # a spoken answer's delivery, beside the content score, never in it
        from interviewer.speech.delivery import format_delivery

        lines.append(format_delivery(grade.extra["delivery"]))
    if grade.status != "graded":
        later = "" if "regrade" in (grade.error or "") else " Grade it later with 'interviewer regrade'."
        lines.append(f"Not graded: {grade.error}.{later}")
        return lines
    skipped = "empty" in grade.flags  # nothing was answered: no criterion was judged
    if skipped:
        lines[0] = f"Skipped: {style.score(grade.score)} (a skipped question counts as 0)"
    if grade.extra.get("cap"):  # the total is below what the criteria add up to: say which cap and why
        lines.append(str(grade.extra["cap"]))
    for c in [] if skipped else grade.criteria:
        mark = MARKS.get(c.verdict, "?")
        lines.append(
            f"  {mark} {c.name} ({c.score:.1f}/{c.max_score:g}, weight {c.weight:g})"
            + (f" — {c.comment}" if c.comment else "")
        )
    if verbose:
        if grade.feedback:
            lines.append(f"Feedback: {reflow(grade.feedback)}")
        for label, text in worked_answers(grade.to_dict(), reference):
            lines.append(f"{label}:")
            lines += ["  " + ln for ln in text.splitlines()]
        if grade.follow_up:
            lines.append(f"{SUGGESTED_FOLLOW_UP}: {grade.follow_up}")
    return lines


def compare_lines(old: Grade, new: Grade, style: Style, practice: bool = False) -> list[str]:
    """The new grade beside the old one, with the criteria that moved between missing and met. `practice`: the new
    one is a retry after the reference answer was shown, and the old one still counts."""
    lines = [f"Before: {style.score(old.score)}  →  now: {style.score(new.score)}"]
    if practice:
        lines[0] += f"  (practice after the reference: {style.score(old.score)} counts)"
    before = {c.id: c.verdict for c in old.criteria}
    for c in new.criteria:
        was = before.get(c.id)
        if was and was != c.verdict:
            lines.append(f"  {c.name}: {was} → {c.verdict}")
    return lines


class Spinner:
    """A spinner on stderr while a grade is on its way; nothing when stderr is not a terminal."""

    def __init__(self, stream: IO, label: str):
        self.stream, self.label = stream, label
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self):
        if use_color(self.stream):
            self.thread = threading.Thread(target=self._spin, daemon=True)
            self.thread.start()
        return self

    def _spin(self):
        started = time.monotonic()
        for frame in itertools.cycle("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"):
            if self.stop.wait(0.1):
                break
            self.stream.write(f"\r{frame} {self.label} {time.monotonic() - started:.0f}s")
            self.stream.flush()
        self.stream.write("\r\x1b[K")
        self.stream.flush()

    def __exit__(self, *exc):
        self.stop.set()
        if self.thread:
            self.thread.join()


class TextReporter:
    """A session on the terminal. With `home`, feedback shows each question's curated reference answer beside
    the grader's."""

    def __init__(self, out: IO | None = None, err: IO | None = None, quiet: bool = False, home=None):
        self.out, self.err, self.quiet, self.home = out or sys.stdout, err or sys.stderr, quiet, home
        self.style = Style(use_color(self.out))

    def _print(self, *lines: str) -> None:
        if self.quiet:
            return
        for line in lines:
            print(line, file=self.out)
        self.out.flush()

    def question(self, q: Question, index: int, total: int) -> None:
        self._print("", self.style.bold(f"Question {index + 1}/{total} [{q.id}] {tag_line(q)}"), q.text)

    def grading(self, q: Question | None):
        if self.quiet:
            return contextlib.nullcontext()
        return Spinner(self.err, "grading…")

    def follow_up(self, q: Question, text: str) -> None:
        self._print("", self.style.bold(f"Follow-up [{q.id}]: ") + text)

    def feedback(
        self, q: Question, grade: Grade, previous: Grade | None = None, practice: bool = False
    ) -> bool:
        """Show the grade; True when a reference or stronger answer was shown with it (a retry after that is
        practice)."""
        lines = [self.style.dim(f"— [{q.id}] {q.text[:60]}")]
        if previous is not None:
            lines += compare_lines(previous, grade, self.style, practice)
        reference = reference_answer(q, self.home) if self.home is not None and not self.quiet else None
        self._print(*lines, *format_grade(grade, self.style, reference=reference))
        return (
            not self.quiet and grade.status == "graded" and bool(worked_answers(grade.to_dict(), reference))
        )

    def note(self, message: str) -> None:
        print(message, file=self.err)

    def summary(self, session_id: str, turns: list[dict], summary: dict, finished: bool) -> None:
        s = self.style
        lines = ["", s.bold(f"Session {session_id} " + ("finished" if finished else "unfinished"))]
        lines.append(
            f"Total: {s.score(summary['score'])}  ({summary['graded']} graded, {summary['ungraded']} ungraded"
            + (f", {summary['skipped']} skipped as 0)" if summary.get("skipped") else ")")
        )
        skipped = summary.get("skipped_by_section") or {}
        for section, score in summary["by_section"].items():
            lines.append(
                f"  {section}: {s.score(score)}"
                + (f"  ({skipped[section]} skipped, as 0)" if skipped.get(section) else "")
            )
        if summary["ungraded"]:
            lines.append(f"Grade the rest later with: interviewer regrade {session_id}")
        lines.append(f"Export: interviewer export {session_id} --format md")
        self._print(*lines)


def edit_in_editor(initial: str = "") -> str:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.NamedTemporaryFile("w+", suffix=".md", delete=False, encoding="utf-8") as f:
        f.write(initial)
        path = f.name
    try:
        subprocess.run([*editor.split(), path], check=False)
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    finally:
        os.unlink(path)


class InteractiveSource:
    """Multi-line answers with prompt_toolkit: Esc+Enter or Ctrl-D submits; `:hint`, `:skip`, `:quit`, `:edit`,
    `:voice`.

    With a time limit, a countdown runs in the bottom bar and the answer so far is submitted when time is up. What
    is typed to a question is saved as its draft as it is typed (`use_draft`), and on Ctrl-C; a saved draft is put
    back in the editor to be finished.

    `:voice` records the answer from the microphone (`speech.microphone`) into the data home (`home`), has
    `transcriber` transcribe it, shows the transcript and lets the candidate submit it, edit it, record again or
    type instead; `voice` starts every answer that way. The recording goes to the engine with the answer
    (`Response.audio`, with `Response.transcribed`), and one whose transcription failed goes untranscribed, to be
    transcribed on resume.
    """

    def __init__(
        self,
        err: IO | None = None,
        time_limit: float | None = None,
        allow_retry: bool = True,
        voice: bool = False,
        transcriber: Any = None,
        home: Path | None = None,
        before_recording: Any = None,
    ):
        from prompt_toolkit import PromptSession
        from prompt_toolkit.key_binding import KeyBindings

        kb = KeyBindings()

        @kb.add("enter")
        def _(event):
            buf = event.current_buffer
            if self._single_line or buf.text.strip() in COMMANDS:
                buf.validate_and_handle()
            else:
                buf.insert_text("\n")

        @kb.add("escape", "enter")
        @kb.add("c-d")
        def _(event):
            event.current_buffer.validate_and_handle()

        self._single_line = False
        self.err = err or sys.stderr
        self.time_limit = time_limit
        self.allow_retry = allow_retry
        self.voice, self.transcriber, self.home = voice, transcriber, home
        self.before_recording = before_recording  # e.g. stop reading the question aloud (--speak)
        self._handed: str | None = None  # the recording given with the last answer, until the engine has it
        self.session = PromptSession(multiline=True, key_bindings=kb)
        self._draft = None  # the engine's DraftBox for the question being asked, when it keeps drafts
        self._drafting = False  # true while the answer to that question is being typed
        self._typed = ""
        self._saved = ""
        self._saved_at = 0.0
        self._save_due = False
        self.session.default_buffer.on_text_changed += self._text_changed

    def use_draft(self, draft) -> None:
        """Keep what is typed to the next question in `draft` (an engine `DraftBox`), or nowhere (None)."""
        self._draft = draft

    def _text_changed(self, buffer) -> None:
        self._typed = buffer.text
        if not self._drafting or self._draft is None or self._save_due:
            return
        wait = DRAFT_EVERY_S - (time.monotonic() - self._saved_at)
        if wait <= 0:
            self._save_draft()
            return
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._save_draft()
            return
        self._save_due = True
        loop.call_later(wait, self._save_draft)

    def _save_draft(self) -> None:
        """Save what has been typed to the question being asked (never a command such as `:quit`)."""
        self._save_due = False
        text = self._typed
        typed = text.strip()
        command = typed.startswith(":") and any(c.startswith(typed) for c in COMMANDS)  # `:quit` on its way
        if not self._drafting or self._draft is None or command or text == self._saved:
            return
        with contextlib.suppress(
            Exception
        ):  # a draft that cannot be saved never stops the answer being typed
            self._draft.save(text)
            self._saved, self._saved_at = text, time.monotonic()

    def _prompt(self, default: str, deadline: float | None) -> tuple[str, bool]:
        """One prompt; returns (text, timed_out)."""
        timed_out = {"value": False}
        app = self.session.app

        def toolbar():
            return "Esc+Enter or Ctrl-D: submit · :hint :skip :quit :edit :voice"

        def message():
            if deadline is None:
                return "> "
            left = max(0, int(deadline - time.monotonic()))
            return f"⏱ {left // 60}:{left % 60:02d} left > "

        def start_timer():
            if deadline is None:
                return
            import asyncio

            def expire():
                timed_out["value"] = True
                app.exit(result=self.session.default_buffer.text)

            asyncio.get_running_loop().call_later(max(0.0, deadline - time.monotonic()), expire)

        text = self.session.prompt(
            message,
            default=default,
            bottom_toolbar=toolbar,
            refresh_interval=1.0 if deadline is not None else 0,
            pre_run=start_timer,
        )
        return text, timed_out["value"]

    def ask(self, question: Question, index: int, total: int) -> Response:
        default = ""
        if self._draft is not None and self._draft.text.strip():
            default = self._draft.text
            when = f" (saved {local_time(self._draft.saved_at)})" if self._draft.saved_at else ""
            print(
                f"Your unsent draft of this answer is back{when}: finish it and submit, or clear it.",
                file=self.err,
            )
        self._typed = self._saved = default
        self._drafting = True
        try:
            return self._ask(question, allow_hint=True, default=default)
        finally:
            self._drafting, self._draft = False, None

    def ask_follow_up(self, question: Question, follow_up: str) -> Response:
        return self._ask(question, allow_hint=False)

    def _ask(self, question: Question, allow_hint: bool, default: str = "") -> Response:
        self._drop_handed()
        hint_used = False
        started = time.monotonic()
        deadline = started + self.time_limit if self.time_limit else None
        speak = self.voice  # record before the prompt: with `voice`, and after `:voice`
        spoken: Response | None = None  # a recording whose transcript is being finished in the editor
        while True:
            if speak:
                speak = False
                action, said = self._speak(deadline, follow_up=not allow_hint)
                if action == "submit":
                    return self._with_audio(said, said, hint_used, started)
                if action == "edit":
                    spoken, default = said, said.text
                    self._typed = default
                    self._save_draft()
            print(
                "Your answer (Esc+Enter or Ctrl-D to submit; :hint :skip :quit :edit :voice + Enter):",
                file=self.err,
            )
            self._save_due = False  # a save scheduled in an earlier prompt's event loop went with it
            try:
                text, timed_out = self._prompt(default, deadline)
            except EOFError:
                return Response(kind="quit")
            except KeyboardInterrupt:
                self._save_draft()  # what was typed is kept, to be offered back on resume
                raise
            if timed_out:
                print("Time is up: your answer so far was submitted.", file=self.err)
                answer = Response(kind="answer", text=text.strip(), duration_s=self.time_limit)
                return self._with_audio(answer, spoken, hint_used, started)
            cmd = text.strip()
            if cmd == ":voice":  # a transcript being edited is dropped with its recording for a new one
                if spoken is not None:
                    self._discard(spoken)
                    spoken, default = None, ""
                speak = True
                continue
            if cmd == ":hint" and allow_hint:
                hint_used = True
                print(
                    f"Hint: {question.hint or '(this question has no hint)'} (costs 1 point)", file=self.err
                )
                continue
            if cmd == ":skip":
                self._discard(spoken)
                return Response(kind="skip", hint_used=hint_used, duration_s=time.monotonic() - started)
            if cmd == ":quit":
                self._discard(spoken)
                return Response(kind="quit")
            if cmd == ":edit":
                default = edit_in_editor("")
                self._typed = default
                self._save_draft()
                continue
            return self._with_audio(Response(kind="answer", text=text.strip()), spoken, hint_used, started)

    # ------------------------------------------------------------ answering by voice

    def _speak(self, deadline: float | None, follow_up: bool) -> tuple[str, Response | None]:
        """Record an answer and transcribe it, then let the candidate choose: ("submit", the answer), ("edit",
        the answer, its transcript to be finished in the editor) or ("type", None). Without a microphone it says so
        in one line (and `voice` is dropped); a recording stopped at `deadline` is submitted as it is."""
        from interviewer.errors import InterviewerError
        from interviewer.speech.microphone import record

        while True:
            if self.before_recording is not None:
                self.before_recording()
            try:
                rec = record(self._audio_folder(), self.err, deadline)
            except InterviewerError as exc:  # MicrophoneUnavailable, or a data home that cannot be written
                print(exc, file=self.err)
                self.voice = False  # said once; the rest of the session is typed
                return "type", None
            if rec.path is None:
                if rec.ended != "type":
                    print("Nothing was recorded: type your answer, or :voice to try again.", file=self.err)
                return "type", None
            try:
                said = self._transcribed(rec.path)
                if rec.ended == "time":
                    print("Time is up: your spoken answer was submitted.", file=self.err)
                    return "submit", said
                key = self._choice(said, follow_up)
            except KeyboardInterrupt:
                print(f"The recording is kept in {rec.path}", file=self.err)
                raise
            if key == "\n":
                return "submit", said
            if key == "e":
                return "edit", said
            self._discard(said)
            if key == "t":
                return "type", None  # else "r": record again

    def _audio_folder(self) -> Path:
        from interviewer.config import home_dir
        from interviewer.speech.audio import audio_folder

        return audio_folder(self.home or home_dir())

    def _transcribed(self, path: Path) -> Response:
        """The recording as an answer: with its transcription (the transcript shown) when it can be had, else
        without one (said why in one line), for the engine to keep pending."""
        from interviewer.speech.transcribe import failure_message, transcribe_audio

        try:
            if self.transcriber is None:
                raise RuntimeError("no transcriber is configured")
            with Spinner(self.err, "transcribing…"):
                result = transcribe_audio(self.transcriber, path)
        except Exception as exc:
            print(" ".join(failure_message(exc).split()), file=self.err)
            return Response(kind="answer", audio=str(path))
        text = result["transcript"]["text"]
        print(f"Transcript: {text or '(nothing was heard)'}", file=self.err)
        return Response(kind="answer", text=text, audio=str(path), transcribed=result)

    def _choice(self, said: Response, follow_up: bool) -> str:
        from interviewer.speech.microphone import choose

        if said.transcribed is not None:
            return choose(self.err, "Enter: submit · e: edit · r: record again · t: type instead", "\nert")
        keep = (
            "Enter: submit it to be transcribed once more (else the follow-up is skipped)"
            if follow_up
            else "Enter: keep the recording untranscribed ('interviewer resume' transcribes it)"
        )
        return choose(self.err, f"{keep} · r: record again · t: type instead", "\nrt")

    def _with_audio(
        self, answer: Response, spoken: Response | None, hint_used: bool, started: float
    ) -> Response:
        """The answer to hand to the engine, with the recording it was spoken as (if any)."""
        answer.hint_used = hint_used
        if answer.duration_s is None:
            answer.duration_s = time.monotonic() - started
        if spoken is not None:
            answer.audio, answer.transcribed = spoken.audio, spoken.transcribed
            self._handed = spoken.audio
        return answer

    def _discard(self, said: Response | None) -> None:
        """A recording not given as an answer (recorded again, typed instead, skipped) is not kept."""
        if said is not None and said.audio:
            with contextlib.suppress(OSError):
                Path(said.audio).unlink()

    def _drop_handed(self) -> None:
        """The recording given with the last answer, by the next question: a main answer's the engine has taken
        for its turn (renamed: nothing is left here to remove); a follow-up's it has transcribed and does not keep,
        so it goes."""
        if self._handed is not None:
            with contextlib.suppress(OSError):
                Path(self._handed).unlink()
            self._handed = None

    def close(self) -> None:
        """At the end of the session: the last recording handed over goes too (see `_drop_handed`)."""
        self._drop_handed()

    def after_feedback(self, question: Question) -> str:
        self._drop_handed()
        if not self.allow_retry:
            return "next"
        print("Enter: next question · :retry + Enter: answer this one again", file=self.err)
        self._single_line = True
        try:
            text = self.session.prompt("> ")
        except EOFError:
            return "next"
        finally:
            self._single_line = False
        return "retry" if text.strip() == ":retry" else "next"


def reading_width(stream: IO) -> int | None:
    """The columns to wrap text to: the terminal's (at most `READING_WIDTH`), or None (no wrapping) elsewhere."""
    if not (hasattr(stream, "isatty") and stream.isatty()):
        return None
    return min(READING_WIDTH, shutil.get_terminal_size((READING_WIDTH, 24)).columns - 1)


def page(text: str, enabled: bool = True, out: IO | None = None) -> None:
    """Write `text` to stdout, through a pager when stdout is a terminal: `$PAGER`, else `less -R` (with
    `LESS=FRX` unless LESS is set: one screen is printed and left on it, colour passes). Never in a pipe; with
    `PAGER` empty or `cat`, or no pager to be found, the text is printed as it is."""
    out = out or sys.stdout
    command = os.environ.get("PAGER", "less -R")
    if not enabled or not (hasattr(out, "isatty") and out.isatty()) or command.strip() in ("", "cat"):
        out.write(text)
        return
    out.flush()
    env = {**os.environ, "LESS": os.environ.get("LESS", "FRX")}
    try:
        pager = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE, env=env)
    except (OSError, ValueError):
        out.write(text)
        return
    interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the pager while it runs
    try:
        with contextlib.suppress(BrokenPipeError):  # the reader quit before the end
            pager.stdin.write(text.encode("utf-8"))
        with contextlib.suppress(BrokenPipeError):
            pager.stdin.close()
        pager.wait()
    finally:
        signal.signal(signal.SIGINT, interrupt)


def render_kv(rows: list[tuple[str, Any]]) -> str:
    width = max((len(k) for k, _ in rows), default=0)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)
