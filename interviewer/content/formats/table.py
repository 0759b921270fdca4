"""Tables: CSV/TSV with named columns, and Anki's "Notes in Plain Text" export.

Line numbers are those of the file: a record whose quoted field runs over several lines is reported at the line
it starts on.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

from interviewer.content.formats.fields import (
    Imported,
    field_key,
    html_to_text,
    question_from_fields,
)

ANKI_SEPARATORS = {"tab": "\t", "comma": ",", "semicolon": ";", "space": " ", "pipe": "|", "colon": ":"}
ANKI_HEADER_RE = re.compile(r"^#([a-z][a-z ]*):(.*)$", re.IGNORECASE)
# The note type `interviewer export --format anki` writes, and its fields in order: its text export reads back.
ANKI_NOTE_TYPE = "interviewer question"
ANKI_NOTE_FIELDS = ("Question", "Hint", "Answer", "Section", "Info", "Ref")


class FormatError(ValueError):
    """The whole file cannot be read in this format: the line (or None) and why."""

    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line, self.message = line, message


def records(text: str, delimiter: str, first_line: int = 1) -> Iterator[tuple[int, list[str] | None, str]]:
    """(line the record starts on, its fields or None, why it could not be read) for each record."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    while True:
        start = reader.line_num + first_line
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "unexpected end of data" in str(exc) or "EOF" in str(exc):
                yield start, None, "a quoted field opened here is never closed (add the closing '\"')"
                return
            yield (
                start,
                None,
                f"broken quoting ({exc}); put '\"' around the whole field and double any inside",
            )
            continue
        if any(cell.strip() for cell in row):
            yield start, row, ""


def sniff_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in ("\t", ",", ";", "，")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_csv(text: str, delimiter: str | None = None) -> Imported:
    """CSV or TSV whose first row names the columns (question/问题, answer/答案, section/分类, …)."""
    lines = text.split("\n")
    skip = 0
    while skip < len(lines) and not lines[skip].strip():
        skip += 1
    if skip < len(lines) and re.fullmatch(r"sep=(.)", lines[skip].strip()):  # Excel's first line
        delimiter = delimiter or lines[skip].strip()[4]
        skip += 1
    if skip >= len(lines):
        raise FormatError(None, "no header row")
    delimiter = delimiter or sniff_delimiter(lines[skip])
    rows = records("\n".join(lines[skip:]), delimiter, skip + 1)
    header_line, header, reason = next(rows, (skip + 1, None, "no header row"))
    if header is None:
        raise FormatError(header_line, reason)
    keys = [field_key(h) for h in header]
    if "question" not in keys:
        names = ", ".join(repr(h.strip()) for h in header[:6])
        raise FormatError(
            header_line, f"no question column in the header row ({names}): name it 'question' or '问题'"
        )
    out = Imported()
    ignored = [h.strip() for h, k in zip(header, keys, strict=True) if k is None and h.strip()]
    if ignored:
        out.notes.append(f"columns ignored: {', '.join(ignored)}")
    column = {k: i for i, k in reversed(list(enumerate(keys))) if k}  # the first column of each name wins
    qname = header[column["question"]].strip()
    for line, row, reason in rows:
        if row is None:
            out.rejections.append((line, reason))
            continue
        if len(row) > len(header) and any(c.strip() for c in row[len(header) :]):
            out.rejections.append(
                (line, f"{len(row)} fields where the header has {len(header)}: quote a field that holds the "
                 f"separator {delimiter!r}")
            )  # fmt: skip
            continue
        values = {k: row[i] for k, i in column.items() if i < len(row)}
        try:
            out.questions.append(question_from_fields(values, line, f"the {qname!r} column is empty"))
        except ValueError as exc:
            out.rejections.append((line, str(exc)))
    return out


def read_anki(text: str) -> Imported:
    """Anki's "Notes in Plain Text" export: `#separator:tab`, `#html:true`, `#columns:`, `#deck column:3` … lines,
    then one note a line (HTML fields made plain text); the first field is the question, the second the answer."""
    lines = text.split("\n")
    meta: dict[str, str] = {}
    n = 0
    while n < len(lines) and (m := ANKI_HEADER_RE.match(lines[n].strip())):
        meta[m.group(1).strip().lower()] = m.group(2).strip()
        n += 1
    sep = meta.get("separator", "")
    delimiter = ANKI_SEPARATORS.get(sep.lower(), sep if len(sep) == 1 else "")
    body = "\n".join(lines[n:])
    delimiter = delimiter or ("\t" if "\t" in body else sniff_delimiter(body.split("\n", 1)[0]))
    html = meta.get("html", "true").lower() != "false"
    special = {}
    for kind in ("guid", "notetype", "deck", "tags"):
        value = meta.get(f"{kind} column", "")
        if value.isdigit() and int(value) >= 1:
            special[kind] = int(value) - 1
    names = meta["columns"].split(delimiter) if "columns" in meta else None
    out = Imported()
    tops: set[str] = set()
    for line, row, reason in records(body, delimiter, n + 1):
        if row is None:
            out.rejections.append((line, reason))
            continue
        row = [html_to_text(c) if html else c for c in row]
        cells = [(i, c) for i, c in enumerate(row) if i not in special.values()]
        notetype = (
            row[special["notetype"]] if "notetype" in special and special["notetype"] < len(row) else ""
        )
        notetype = notetype or meta.get("notetype", "")
        if names:
            values = {field_key(names[i]) if i < len(names) else None: c for i, c in reversed(cells)}
        elif notetype.strip().lower().startswith(ANKI_NOTE_TYPE):
            values = {field_key(name): c for name, (_, c) in zip(ANKI_NOTE_FIELDS, cells, strict=False)}
        else:
            values = {k: c for k, (_, c) in zip(("question", "answer"), cells, strict=False)}
        values.pop(None, None)
        deck = (
            row[special["deck"]] if "deck" in special and special["deck"] < len(row) else meta.get("deck", "")
        )
        if deck and not values.get("section"):
            values["section"] = deck.split("::")[-1].strip()
        tops.add(deck.split("::")[0].strip() if "::" in deck else "")
        tags = row[special["tags"]] if "tags" in special and special["tags"] < len(row) else ""
        tags = f"{meta.get('tags', '')} {tags}".strip()
        if tags and not values.get("tags"):
            values["tags"] = tags
        try:
            q = question_from_fields(values, line, "the first field is empty")
        except ValueError as exc:
            out.rejections.append((line, str(exc)))
            continue
        out.questions.append(q)
    if len(tops) == 1:
        out.title = tops.pop()  # every note under one deck: the bank is named after it
    return out
