"""Progress of long work on stderr — `grading 12/50 ████░░░░ 24%  3.1/s  ETA 0:12` — redrawn in place while it
runs, when the stream is a terminal; nothing at all when it is not (a pipe, a file, CI).

The library reports through two calls, `start(total)` and `advance()` (from any thread); `progress_line` is the
formatting, pure.
"""

from __future__ import annotations

import shutil
import threading
import time
from typing import IO

BAR_WIDTH = 20
REDRAW_S = 0.25  # elapsed time and ETA move on between completions too


def duration(seconds: float | None) -> str:
    """`0:07`, `12:30`, `1:02:03`; `--:--` when unknown."""
    if seconds is None:
        return "--:--"
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def rate_text(done: int, elapsed: float) -> str:
    if not done or elapsed <= 0:
        return "-/s"
    r = done / elapsed
    return f"{r:.1f}/s" if r >= 1 else f"{r * 60:.1f}/min"


def progress_line(label: str, done: int, total: int, elapsed: float, width: int = BAR_WIDTH) -> str:
    """One line: label, done/total, a bar, the share done, the rate and the time left."""
    share = done / total if total else 1.0
    filled = round(share * width)
    rate = done / elapsed if done and elapsed > 0 else None
    eta = (total - done) / rate if rate else None
    bar = "█" * filled + "░" * (width - filled)
    return f"{label} {done}/{total} {bar} {share:4.0%}  {rate_text(done, elapsed)}  ETA {duration(eta)}"


def final_line(label: str, done: int, total: int, elapsed: float) -> str:
    return f"{label} {done}/{total} in {duration(elapsed)} ({rate_text(done, elapsed)})"


class Progress:
    """`with Progress("grading") as p: p.start(n); ... p.advance()`: drawn only when `stream` is a terminal."""

    def __init__(self, label: str, stream: IO, clock=time.monotonic):
        self.label, self.stream, self.clock = label, stream, clock
        self.enabled = hasattr(stream, "isatty") and stream.isatty()
        self.total: int | None = None
        self.done = 0
        self.started = 0.0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self, total: int) -> None:
        with self.lock:
            self.total, self.done, self.started = total, 0, self.clock()
        if self.enabled and self.thread is None:
            self.thread = threading.Thread(target=self._redraw_until_stopped, daemon=True)
            self.thread.start()

    def advance(self, n: int = 1) -> None:
        with self.lock:
            self.done += n

    def write(self, text: str, out: IO) -> None:
        """Write `text` to `out` (stdout, which may be the same terminal) without tearing the progress line."""
        with self.lock:
            if self.enabled and self.total is not None:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            out.write(text)
            out.flush()
            self._draw()

    def _draw(self, line: str | None = None) -> None:
        """Redraw in place; the caller holds the lock."""
        if not self.enabled or self.total is None:
            return
        if line is None:
            line = progress_line(self.label, self.done, self.total, self.clock() - self.started)
        columns = shutil.get_terminal_size((80, 24)).columns
        self.stream.write("\r" + line[: max(10, columns - 1)] + "\x1b[K")  # never wraps: \r redraws one line
        self.stream.flush()

    def _redraw_until_stopped(self) -> None:
        while True:
            with self.lock:
                self._draw()
            if self.stop.wait(REDRAW_S):
                return

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
        with self.lock:
            if self.enabled and self.total is not None:
                self._draw(final_line(self.label, self.done, self.total, self.clock() - self.started))
                self.stream.write("\n")
                self.stream.flush()
