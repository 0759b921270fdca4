"""Terminal rendering and answer input. Questions and feedback on stdout; prompts, spinners and notes on stderr."""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, Any

from interviewer.content.bank import Question
from interviewer.grading.models import Grade
from interviewer.practice.engine import Response
from interviewer.textview import MARKS, Style

COMMANDS = (":hint", ":skip", ":quit", ":edit")


def use_color(stream: IO) -> bool:
    return not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty()


def tag_line(q: Question) -> str:
    parts = [q.section, q.difficulty or "-", f"freq {q.frequency or '-'}"]
    return " · ".join(parts)


def format_grade(grade: Grade, style: Style, verbose: bool = True) -> list[str]:
    lines = [f"Score: {style.score(grade.score)}" + (f"  [{', '.join(grade.flags)}]" if grade.flags else "")]
    if grade.status != "graded":
        later = "" if "regrade" in (grade.error or "") else " Grade it later with 'interviewer regrade'."
        lines.append(f"Not graded: {grade.error}.{later}")
        return lines
    for c in grade.criteria:
        mark = MARKS.get(c.verdict, "?")
        lines.append(
            f"  {mark} {c.name} ({c.score:.1f}/{c.max_score:g}, weight {c.weight:g})"
            + (f" — {c.comment}" if c.comment else "")
        )
    if verbose:
        if grade.feedback:
            lines.append(f"Feedback: {grade.feedback}")
        if grade.better_answer:
            lines.append("A stronger answer would cover:")
            lines += ["  " + ln for ln in grade.better_answer.strip().splitlines()]
        if grade.follow_up:
            lines.append(f"Follow-up to think about: {grade.follow_up}")
    return lines


def compare_lines(old: Grade, new: Grade, style: Style) -> list[str]:
    """The new grade beside the old one, with the criteria that moved between missing and met."""
    lines = [f"Before: {style.score(old.score)}  →  now: {style.score(new.score)}"]
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
    def __init__(self, out: IO | None = None, err: IO | None = None, quiet: bool = False):
        self.out, self.err, self.quiet = out or sys.stdout, err or sys.stderr, quiet
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

    def feedback(self, q: Question, grade: Grade, previous: Grade | None = None) -> None:
        lines = [self.style.dim(f"— [{q.id}] {q.text[:60]}")]
        if previous is not None:
            lines += compare_lines(previous, grade, self.style)
        self._print(*lines, *format_grade(grade, self.style))

    def note(self, message: str) -> None:
        print(message, file=self.err)

    def summary(self, session_id: str, turns: list[dict], summary: dict, finished: bool) -> None:
        s = self.style
        lines = ["", s.bold(f"Session {session_id} " + ("finished" if finished else "unfinished"))]
        lines.append(
            f"Total: {s.score(summary['score'])}  ({summary['graded']} graded, {summary['ungraded']} ungraded)"
        )
        for section, score in summary["by_section"].items():
            lines.append(f"  {section}: {s.score(score)}")
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
    """Multi-line answers with prompt_toolkit: Esc+Enter or Ctrl-D submits; `:hint`, `:skip`, `:quit`, `:edit`.

    With a time limit, a countdown runs in the bottom bar and the answer so far is submitted when time is up.
    """

    def __init__(self, err: IO | None = None, time_limit: float | None = None, allow_retry: bool = True):
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
        self.session = PromptSession(multiline=True, key_bindings=kb)

    def _prompt(self, default: str, deadline: float | None) -> tuple[str, bool]:
        """One prompt; returns (text, timed_out)."""
        timed_out = {"value": False}
        app = self.session.app

        def toolbar():
            return "Esc+Enter or Ctrl-D: submit · :hint :skip :quit :edit"

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
        return self._ask(question, allow_hint=True)

    def ask_follow_up(self, question: Question, follow_up: str) -> Response:
        return self._ask(question, allow_hint=False)

    def _ask(self, question: Question, allow_hint: bool) -> Response:
        hint_used = False
        default = ""
        started = time.monotonic()
        deadline = started + self.time_limit if self.time_limit else None
        while True:
            print(
                "Your answer (Esc+Enter or Ctrl-D to submit; :hint :skip :quit :edit + Enter):", file=self.err
            )
            try:
                text, timed_out = self._prompt(default, deadline)
            except EOFError:
                return Response(kind="quit")
            if timed_out:
                print("Time is up: your answer so far was submitted.", file=self.err)
                return Response(
                    kind="answer", text=text.strip(), hint_used=hint_used, duration_s=self.time_limit
                )
            cmd = text.strip()
            if cmd == ":hint" and allow_hint:
                hint_used = True
                print(
                    f"Hint: {question.hint or '(this question has no hint)'} (costs 1 point)", file=self.err
                )
                continue
            if cmd == ":skip":
                return Response(kind="skip", hint_used=hint_used, duration_s=time.monotonic() - started)
            if cmd == ":quit":
                return Response(kind="quit")
            if cmd == ":edit":
                default = edit_in_editor("")
                continue
            return Response(
                kind="answer", text=text.strip(), hint_used=hint_used, duration_s=time.monotonic() - started
            )

    def after_feedback(self, question: Question) -> str:
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


def render_kv(rows: list[tuple[str, Any]]) -> str:
    width = max((len(k) for k, _ in rows), default=0)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)
