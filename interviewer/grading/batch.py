"""Batch grading: read a JSONL file of answers, grade them concurrently, yield results in input order."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interviewer.content.bank import Question, QuestionSet, read_text
from interviewer.content.rubric import Rubric, derive_rubric, reference_rubric, rubric_for
from interviewer.errors import AnswersError, NotFoundError
from interviewer.grading.models import Answer
from interviewer.practice.answers import load_json_line


@dataclass
class BatchItem:
    line: int
    id: Any
    question: Question
    rubric: Rubric
    answer: str

    @property
    def question_id(self) -> str:
        return self.question.id


def adhoc_question(qid: str, text: str, hint: str) -> Question:
    return Question(id=qid, bank="adhoc", section="ad hoc", section_index=0, text=text, hint=hint)


def parse_batch_line(
    obj: Any, lineno: int, path: str, questions: QuestionSet, home: Path | None, rubric_of=rubric_for
) -> BatchItem:
    if not isinstance(obj, dict):
        raise AnswersError(path, lineno, "each line must be a JSON object")
    answer = obj.get("answer")
    if not isinstance(answer, str):
        raise AnswersError(path, lineno, 'missing string "answer"')
    if obj.get("question_id") is not None and not obj.get("question"):
        try:
            q = questions.get(str(obj["question_id"]))
        except NotFoundError as exc:
            raise AnswersError(path, lineno, str(exc)) from None
        return BatchItem(lineno, obj.get("id"), q, rubric_of(q, home), answer)
    text = obj.get("question")
    if not isinstance(text, str) or not text.strip():
        raise AnswersError(
            path, lineno, 'needs "question_id", or "question" (with "hint" and/or "reference")'
        )
    hint = obj.get("hint") or ""
    reference = obj.get("reference") or ""
    if not isinstance(hint, str) or not isinstance(reference, str):
        raise AnswersError(path, lineno, '"hint" and "reference" must be strings')
    qid = str(obj.get("question_id") or obj.get("id") or f"line-{lineno}")
    q = adhoc_question(qid, text, hint)
    rubric = reference_rubric(qid, text, reference, hint) if reference.strip() else derive_rubric(q)
    return BatchItem(lineno, obj.get("id"), q, rubric, answer)


def json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object) for each non-blank line of a JSONL file."""
    for lineno, line in enumerate(read_text(path, AnswersError).splitlines(), 1):
        if line.strip():
            yield lineno, load_json_line(line, path, lineno)


def lazy_json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """As `json_lines`, reading one line at a time: memory stays flat whatever the file's size."""
    try:
        f = path.open("rb")
    except FileNotFoundError:
        raise AnswersError(path, None, "file not found") from None
    except IsADirectoryError:
        raise AnswersError(path, None, "is a folder, expected a file") from None
    except OSError as exc:
        raise AnswersError(path, None, f"cannot read: {exc.strerror}") from None
    with f:
        if b"\x00" in f.read(8192):
            raise AnswersError(path, None, "looks like a binary file, expected UTF-8 text")
        f.seek(0)
        for lineno, raw in enumerate(f, 1):
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise AnswersError(
                    path, lineno, "unreadable encoding: the file must be UTF-8 (re-save it as UTF-8)"
                ) from None
            if line.strip():
                yield lineno, load_json_line(line, path, lineno)


def iter_batch(path: Path, questions: QuestionSet, home: Path | None) -> Iterator[BatchItem]:
    """The batch's lines, parsed one at a time (a bank question's rubric is loaded once per question)."""
    rubrics: dict[tuple[str, str], Rubric] = {}

    def cached_rubric(q: Question, home: Path | None) -> Rubric:
        key = (q.bank, q.id)
        if key not in rubrics:
            rubrics[key] = rubric_for(q, home)
        return rubrics[key]

    for lineno, obj in lazy_json_lines(path):
        yield parse_batch_line(obj, lineno, str(path), questions, home, cached_rubric)


def read_batch(path: Path, questions: QuestionSet, home: Path | None) -> list[BatchItem]:
    """All lines are checked before anything is graded: a bad line is an input error naming the line."""
    items = [parse_batch_line(obj, lineno, str(path), questions, home) for lineno, obj in json_lines(path)]
    if not items:
        raise AnswersError(path, None, "no lines to grade")
    return items


def grade_batch(
    items: list[BatchItem], grader, concurrency: int = 8, progress=None
) -> Iterator[dict[str, Any]]:
    """Grades in input order; `progress` (`start(total)`, `advance()`, e.g. `progressbar.Progress`) is told of each
    grade as it finishes."""

    def one(item: BatchItem) -> dict[str, Any]:
        try:
            grade = grader.grade(item.question, item.rubric, Answer(item.answer))
        finally:
            if progress is not None:
                progress.advance()
        out = grade.to_dict()
        return ({"id": item.id} if item.id is not None else {}) | out

    if progress is not None:
        progress.start(len(items))
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        yield from pool.map(one, items)


def read_calibration(
    path: Path, questions: QuestionSet, home: Path | None
) -> list[tuple[BatchItem, float, str]]:
    """Graded examples: a batch line plus a human `score` (0–10) and an optional `level`."""
    out = []
    for lineno, obj in json_lines(path):
        item = parse_batch_line(obj, lineno, str(path), questions, home)
        score = obj.get("score")
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 10:
            raise AnswersError(path, lineno, 'needs a human "score" between 0 and 10')
        out.append((item, float(score), str(obj.get("level", ""))))
    if not out:
        raise AnswersError(path, None, "no graded examples")
    return out
