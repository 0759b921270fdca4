"""Imported questions → a bank file in the project's Markdown format, and their answers → rubric files.

The bank has no field for a reference answer; curated rubrics do (`reference_answer`), so an imported answer is
written into `rubrics/<bank>/<id>.toml` with the criteria the grader would derive from the question's hint anyway.
A frequency or difficulty the source did not give is written as medium and marked on the next line with a comment
the bank parser ignores: `<!-- guessed: frequency, difficulty -->`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from interviewer.content.bank import HINT_RE, ID_RE, Question, parse_item, parse_markdown
from interviewer.content.formats.fields import GUESSED_RE, ImportedQuestion, one_line
from interviewer.content.textnorm import HAN_RUN
from interviewer.errors import BankError

GUESSED = "medium"
POSITION_ID_RE = re.compile(r"^\d+\.\d+$")
ZH_LEVELS = {"high": "高", "medium": "中", "low": "低", "easy": "易", "hard": "难"}


@dataclass
class BankImport:
    """A bank written from an imported file: its text, its questions as the bank parser reads them back, a rubric
    file's text for each question that came with an answer, and what was rejected (line, reason)."""

    text: str
    name: str
    questions: list[Question]
    rubrics: dict[str, str]
    rejections: list[tuple[int, str]]
    notes: list[str] = field(default_factory=list)
    guessed: int = 0

    def files(self, output: Path) -> dict[Path, str]:
        """What to write for a bank at `output`: the bank file, then a rubric file per answer (see rubric_folder)."""
        folder = rubric_folder(output, self.name)
        return {output: self.text} | {folder / f"{qid}.toml": body for qid, body in self.rubrics.items()}


def _render(q: ImportedQuestion, n: int, zh: bool) -> str:
    freq, diff = q.frequency or GUESSED, q.difficulty or GUESSED
    tags = f"[频率:{ZH_LEVELS[freq]}][难度:{ZH_LEVELS[diff]}]" if zh else f"[freq:{freq}][difficulty:{diff}]"
    if q.id:
        tags += f"[id:{q.id}]"
    hint = (" 提示：" if zh else " Hint: ") + q.hint if q.hint else ""
    return f"{n}. {tags} {q.text}{hint}"


def _unwritable(q: ImportedQuestion, item: str) -> str | None:
    """Why this item would not read back as the same question, or None when it does."""
    try:
        back = parse_item("", 0, item.split(" ", 1)[1])
    except BankError as exc:
        return exc.message
    wanted = (q.text, q.hint, q.id, q.frequency or GUESSED, q.difficulty or GUESSED)
    if (back["text"], back["hint"], back.get("id"), back["frequency"], back["difficulty"]) == wanted:
        return None
    if HINT_RE.search(q.text):
        return (
            "the question holds '提示：' or 'Hint:', which a bank reads as the start of the hint: reword it"
        )
    return "the question holds a [name:value] tag that a bank would read as one: reword it"


def build_bank(
    questions: list[ImportedQuestion],
    rejections: list[tuple[int, str]],
    *,
    title: str,
    default_section: str,
    source: str,
    bank_name: str,
    lang: str,
) -> BankImport:
    """Write the questions as a bank, grouped by section in the order they first appear; check that the bank
    parser reads every item back as written, and reject (with its line) any it would not."""
    rejections = list(rejections)
    notes: list[str] = []
    zh = sum(bool(HAN_RUN.search(q.text)) for q in questions) * 2 >= max(1, len(questions))
    seen_text: dict[str, int] = {}
    seen_id: dict[str, int] = {}
    positional = 0
    by_section: dict[str, list[tuple[ImportedQuestion, str]]] = {}
    for q in questions:
        key = one_line(q.text).casefold()
        if key in seen_text:
            rejections.append((q.line, f"the same question as line {seen_text[key]}"))
            continue
        if q.id and POSITION_ID_RE.match(q.id):
            q.id, positional = None, positional + 1  # a bank numbers its questions itself
        if q.id and not ID_RE.match(q.id):
            rejections.append((q.line, f"bad id {q.id!r}: use letters, digits, '.', '-' or '_'"))
            continue
        if q.id and q.id in seen_id:
            rejections.append((q.line, f"id {q.id!r} is already used at line {seen_id[q.id]}"))
            continue
        section = one_line(q.section) or default_section
        items = by_section.setdefault(section, [])
        item = _render(q, len(items) + 1, zh)
        why = _unwritable(q, item)
        if why:
            rejections.append((q.line, why))
            continue
        seen_text[key] = q.line
        if q.id:
            seen_id[q.id] = q.line
        items.append((q, item))
    if positional:
        notes.append(f"{positional} id(s) like '1.2' left out: a bank numbers its questions itself")
    body: list[str] = []
    written: list[ImportedQuestion] = []
    guessed = 0
    for section, items in by_section.items():
        if not items:
            continue
        body += ["", f"## {section}", ""]
        for q, item in items:
            body.append(item)
            missing = [k for k in ("frequency", "difficulty") if getattr(q, k) is None]
            if missing:
                guessed += 1
                body.append(f"<!-- guessed: {', '.join(missing)} -->")
            written.append(q)
    note = f"<!-- Imported from {source} by `interviewer bank import`."
    if guessed:
        note += " A tag marked 'guessed' was not in the source and was set to medium: check it."
    lines = [f"# {one_line(title) or default_section}", "", note + " -->", *body]
    text = "\n".join(lines) + "\n"
    parsed = parse_markdown(text, source, bank_name, lang).questions if written else []
    rubrics = {
        p.id: rubric_text(p, q.answer, source, q.line)
        for p, q in zip(parsed, written, strict=True)
        if q.answer
    }
    rejections.sort(key=lambda r: r[0])
    return BankImport(text, bank_name, parsed, rubrics, rejections, notes, guessed)


def rubric_folder(output: Path, bank_name: str) -> Path:
    """Where the rubric files of a bank written at `output` go: `bank/x.md` → `rubrics/x/` beside its `bank/`
    folder (the layout of the data home and of the shipped assets, where the grader looks); any other
    `folder/x.md` → `folder/rubrics/x/`."""
    base = output.parent.parent if output.parent.name == "bank" else output.parent
    return base / "rubrics" / bank_name


def guessed_tags(text: str) -> dict[int, list[str]]:
    """In a bank file: the line of each item followed by a `<!-- guessed: … -->` comment → the tags it names."""
    out: dict[int, list[str]] = {}
    item_line = 0
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        m = GUESSED_RE.match(line)
        if m and item_line:
            out[item_line] = [t.strip() for t in m.group(1).split(",") if t.strip()]
        elif re.match(r"^\d+[.)、]", line):
            item_line = no
        elif line:
            item_line = 0
    return out


# ---------------------------------------------------------------- rubric files


def _s(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def _block(value: str) -> str:
    """A TOML multi-line basic string, its own lines kept."""
    body = value.replace("\\", "\\\\").replace('"""', '""\\"')
    body = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", lambda m: f"\\u{ord(m.group(0)):04x}", body)
    return f'"""\n{body}\n"""'


def rubric_text(question: Question, answer: str, source: str, line: int) -> str:
    """A rubric file holding an imported answer as the reference answer and nothing else: the grader derives the
    criteria from that answer (and the hint) until `interviewer rubric draft` or a person writes real ones."""
    out = [
        f"# Written by `interviewer bank import` from {source}, line {line}. The reference answer is the imported",
        "# answer; the grader derives criteria from it. `interviewer rubric draft` drafts full criteria from it,",
        "# or write them yourself (rubrics/README.md describes the format).",
        f"question_id = {_s(question.id)}",
        f"question = {_s(question.text)}",
        "version = 1",
        f"reference_answer = {_block(answer)}",
    ]
    return "\n".join(out) + "\n"
