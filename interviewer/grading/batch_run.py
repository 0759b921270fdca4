"""Resumable batch runs: `grade --batch FILE.jsonl`, recorded in the database so that a killed run continues where
it stopped and no line is graded twice.

A run is identified by its input file's fingerprint (sha256 of the bytes) and the grading settings that change a
grade (grader, model, samples, prompt version, `--via`); each line's outcome is stored the moment it completes.
Running the same command again resumes that run: lines already graded are re-emitted from the database, the
others (never reached, in flight when the process died, or ungraded) are graded. `--restart` forgets the run and
starts over. A line whose request was in flight when the process was killed never got its grade, so it is sent
again: only a line whose grade was obtained is never asked for twice.

Output is one JSON grade per input line, in input order, streamed: lines are read lazily, at most
`concurrency × WINDOW_PER_WORKER` of them are in flight or waiting to be written, and the head of that window is
written as soon as it is done, so memory stays flat whatever the input's size.

Exit statuses: 0 every line graded; 3 (`ExitCode.PARTIAL`) the run went to the end but some lines are ungraded
(their `error` is in the output; run the command again to retry just those); 2 an input error (a bad line is
reported before anything is graded); 1 a runtime failure; 130 interrupted (what was done is kept).
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interviewer.grading.batch import BatchItem
from interviewer.grading.models import Answer
from interviewer.progressbar import BAR_WIDTH, Progress, duration, rate_text

WINDOW_PER_WORKER = 4


def fingerprint(path: Path) -> str:
    """sha256 of the file's bytes, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def settings_key(
    grader_kind: str, model: str | None, samples: int, home: Path | None, via: str = "live"
) -> str:
    """What makes two runs of one file the same run: everything that changes a grade, and how it is obtained."""
    key: dict[str, Any] = {"grader": grader_kind, "via": via}
    if grader_kind == "llm":
        from interviewer.grading.prompt import prompt_version

        key |= {"model": model, "samples": samples, "prompt_version": prompt_version(home)}
    return json.dumps(key, sort_keys=True)


@dataclass
class Tally:
    """What a run did: lines written, graded and ungraded, how many came from the database, and what the lines
    graded by this process spent."""

    total: int = 0
    done: int = 0
    graded: int = 0
    ungraded: int = 0
    resumed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0  # fresh model grades the price map had no rate for

    def add(self, out: dict[str, Any], fresh: bool) -> None:
        self.done += 1
        if out.get("status") == "graded":
            self.graded += 1
        else:
            self.ungraded += 1
        if not fresh:
            self.resumed += 1
            return
        info = out.get("grader") or {}
        self.prompt_tokens += info.get("prompt_tokens") or 0
        self.completion_tokens += info.get("completion_tokens") or 0
        if info.get("cost_usd"):
            self.cost_usd += info["cost_usd"]
        elif info.get("kind") == "llm" and info.get("prompt_tokens"):
            self.unpriced += 1

    def summary(self, run_id: int) -> str:
        spent = f"{self.prompt_tokens:,} prompt + {self.completion_tokens:,} completion tokens"
        cost = f"${self.cost_usd:.4f}"
        if self.unpriced:
            cost += f" (+{self.unpriced} grades the price map has no rate for)"
        resumed = f", {self.resumed} from the database" if self.resumed else ""
        return (
            f"batch run {run_id}: {self.done} lines, {self.graded} graded, {self.ungraded} ungraded{resumed}; "
            f"spent {spent}, {cost}"
        )


class BatchProgress(Progress):
    """The progress bar of a batch: lines done, graded, ungraded, the rate of this process's grades, the ETA."""

    def __init__(self, label: str, stream, **kw):
        super().__init__(label, stream, **kw)
        self.graded = self.ungraded = self.resumed = 0

    def advance(self, n: int = 1, status: str | None = None, resumed: bool = False) -> None:
        with self.lock:
            self.done += n
            if status == "graded":
                self.graded += n
            elif status is not None:
                self.ungraded += n
            if resumed:
                self.resumed += n

    def _draw(self, line: str | None = None) -> None:
        if line is None and self.total is not None:
            elapsed = self.clock() - self.started
            fresh = self.done - self.resumed
            share = self.done / self.total if self.total else 1.0
            rate = fresh / elapsed if fresh and elapsed > 0 else None
            eta = (self.total - self.done) / rate if rate else None
            filled = round(share * BAR_WIDTH)
            bar = "█" * filled + "░" * (BAR_WIDTH - filled)
            line = (
                f"{self.label} {self.done}/{self.total} {bar} {share:4.0%}  graded {self.graded}  "
                f"ungraded {self.ungraded}  {rate_text(fresh, elapsed)}  ETA {duration(eta)}"
            )
        super()._draw(line)


class JobProgress(BatchProgress):
    """A provider batch job's progress while `batch wait` polls it: requests done of the job's total (answered,
    failed), its status, the rate since waiting began and the ETA, from the provider's request counts."""

    def update(self, status: str, counts: dict[str, Any] | None) -> None:
        counts = counts or {}
        total = int(counts.get("total") or 0)
        if not total:
            return  # the provider has not counted the job's requests yet
        done = int(counts.get("completed") or 0) + int(counts.get("failed") or 0)
        if self.total is None:
            self.start(total)
            with self.lock:
                self.resumed = done  # done before the wait began: not this wait's rate
        with self.lock:
            self.total, self.done = total, done
            self.graded, self.ungraded = int(counts.get("completed") or 0), int(counts.get("failed") or 0)
            self.label = f"job {status}"


def run_lines(
    items: Iterable[BatchItem],
    run_id: int,
    store,
    grader,
    concurrency: int,
    emit: Callable[[dict[str, Any]], None],
    progress=None,
) -> Tally:
    """Grade the lines not yet graded in this run, store each outcome as it completes, and `emit` every line's
    output in input order (stored ones from the database) through a bounded window."""
    tally = Tally()
    limit = max(1, concurrency) * WINDOW_PER_WORKER
    window: deque[tuple[bool, Any]] = deque()  # (fresh?, a Future or a stored output)

    def one(item: BatchItem) -> dict[str, Any]:
        grade = grader.grade(item.question, item.rubric, Answer(item.answer))
        out = ({"id": item.id} if item.id is not None else {}) | grade.to_dict()
        store.save_batch_line(run_id, item.line, out["status"], out)
        if progress is not None:
            progress.advance(status=out["status"])
        return out

    def write_head(block: bool) -> bool:
        fresh, value = window[0]
        if fresh and not block and not value.done():
            return False
        window.popleft()
        out = value.result() if isinstance(value, Future) else value
        tally.add(out, fresh)
        emit(out)
        return True

    # The offline grader is pure Python: threads only fight over the interpreter lock (and each database call
    # then waits for it), so its lines are graded in turn, here.
    inline = getattr(grader, "kind", None) == "offline"
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency))
    try:
        for item in items:
            tally.total += 1
            row = store.batch_line(run_id, item.line)
            if row is not None and row[0] == "graded" and row[2] is not None:
                window.append((False, row[2]))
                if progress is not None:
                    progress.advance(status="graded", resumed=True)
            elif inline:
                done = Future()
                done.set_result(one(item))
                window.append((True, done))
            else:
                window.append((True, pool.submit(one, item)))
            while window and write_head(block=len(window) >= limit):
                pass
        while window:
            write_head(block=True)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return tally


# ---------------------------------------------------------------- cost before: --dry-run

COMPLETION_TOKENS_GUESS = 400  # a grade's reply: criteria with evidence, feedback, a better answer


@dataclass
class Estimate:
    lines: int = 0
    skipped: int = 0  # already graded in this run
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    priced_as: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def text(self) -> str:
        cost = (
            f"${self.cost_usd:.4f} ({self.priced_as})"
            if self.cost_usd is not None
            else "unknown (the model is not in litellm's price map)"
        )
        if not self.requests:
            cost = "$0"
        return (
            f"{self.lines} lines ({self.skipped} already graded): {self.requests} requests, "
            f"{self.prompt_tokens:,} prompt tokens (estimated), about {self.completion_tokens:,} completion tokens "
            f"({COMPLETION_TOKENS_GUESS} a grade, a guess); estimated cost {cost}; nothing was sent"
        )


def rates(model: str, batch_api: bool = False) -> tuple[float, float, str] | None:
    """(input, output) dollars per token for `model` from litellm's price map (read as a file), at the batch
    price with `batch_api` when the map has one; None when the map does not know it."""
    from interviewer.grading.openai_chat import model_info, split

    provider, name = split(model)
    found = model_info(name, provider or "openai")
    if found is None:
        return None
    key, info = found
    inp, out = info.get("input_cost_per_token"), info.get("output_cost_per_token")
    label = f"{key}, standard price"
    if batch_api and info.get("input_cost_per_token_batches") is not None:
        inp, out = info["input_cost_per_token_batches"], info.get("output_cost_per_token_batches", out)
        label = f"{key}, batch price"
    if not isinstance(inp, int | float):
        return None
    return float(inp), float(out or 0.0), label


def estimate(
    items: Iterable[BatchItem],
    grader_kind: str,
    model: str | None,
    samples: int,
    home: Path | None,
    already_graded: Callable[[int], bool] = lambda line: False,
    batch_api: bool = False,
) -> Estimate:
    """What a run would send: requests (a model call per sample for each line still to grade, none for an empty
    or "don't know" answer or with the offline grader), the prompt tokens of the prompts it would render, and
    the cost at the price map's rates. Nothing is sent."""
    est = Estimate()
    llm = grader_kind == "llm"
    if llm:
        from interviewer.grading.prompt import build_prompt, estimate_tokens
    for item in items:
        est.lines += 1
        if already_graded(item.line):
            est.skipped += 1
            continue
        if not llm or not Answer(item.answer).parts:
            continue
        prompt = build_prompt(
            item.question.id, item.question.text, item.question.hint, item.rubric, item.answer, home=home
        )
        tokens = sum(estimate_tokens(m["content"]) for m in prompt.messages)
        est.requests += samples
        est.prompt_tokens += tokens * samples
        est.completion_tokens += COMPLETION_TOKENS_GUESS * samples
    if llm and model:
        found = rates(model, batch_api)
        if found is not None:
            inp, out, est.priced_as = found
            est.cost_usd = round(est.prompt_tokens * inp + est.completion_tokens * out, 6)
    return est
