"""Importing questions from other shapes (`interviewer bank import`) into a bank in the project's own format.

- `markdown` — numbered lists, and headed question/answer Markdown (面试八股 collections);
- `table` — CSV/TSV with named columns, and Anki's "Notes in Plain Text" export;
- `jsondoc` — JSON: a list of objects, `{"sections": […]}`, or JSON lines;
- `fields` — what they share: the imported question, field names in Chinese and English, levels, tags;
- `bankfile` — the imported questions written as a bank, and their answers as rubric files.

Each reader takes the file's text and returns the questions and the rejected lines as (line, reason); `auto`
picks the reader from the file's extension and content. The only I/O here is reading the source file.
"""

from __future__ import annotations

import json
from pathlib import Path

from interviewer.content.bank import bank_name_and_lang, read_bytes
from interviewer.content.formats.bankfile import BankImport, build_bank
from interviewer.content.formats.fields import Imported, ImportedQuestion, field_key
from interviewer.content.formats.jsondoc import read_json
from interviewer.content.formats.markdown import read_markdown
from interviewer.content.formats.table import ANKI_HEADER_RE, FormatError, read_anki, read_csv
from interviewer.errors import BankError

FORMATS = ("auto", "md", "csv", "json", "anki")
READERS = {"md": read_markdown, "csv": read_csv, "json": read_json, "anki": read_anki}
ANKI_KEYS = {"separator", "html", "columns", "tags", "deck", "notetype", "guid column", "notetype column",
             "deck column", "tags column", "if matches"}  # fmt: skip
PACKAGES = {
    ".apkg": "an Anki package: in Anki, export the deck as 'Notes in Plain Text (.txt)' and import that file",
    ".colpkg": "an Anki collection: in Anki, export the deck as 'Notes in Plain Text (.txt)' and import that file",
    ".xlsx": "a spreadsheet: save it as 'CSV UTF-8' and import the .csv",
    ".xls": "a spreadsheet: save it as 'CSV UTF-8' and import the .csv",
    ".numbers": "a spreadsheet: export it as CSV and import the .csv",
    ".docx": "a Word document: save it as plain text or Markdown and import that",
    ".pdf": "a PDF: copy its text into a .md or .txt file and import that",
}

__all__ = [
    "FORMATS", "BankImport", "Imported", "ImportedQuestion", "build_bank", "detect_format", "import_text",
    "read_questions", "read_source",
]  # fmt: skip


def read_source(path: Path) -> str:
    """The text of a file to import: UTF-8 (with or without a BOM) or UTF-16 with a BOM, line endings made `\\n`.
    Anything else is a BankError naming the file and what to do."""
    data = read_bytes(path, BankError, "is a folder: import one file at a time")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise BankError(path, None, "a broken UTF-16 file: re-save it as UTF-8") from None
    else:
        what = PACKAGES.get(path.suffix.lower())
        if what and (data.startswith(b"PK") or b"\x00" in data[:8192] or path.suffix.lower() == ".pdf"):
            raise BankError(path, None, f"is {what}")
        if b"\x00" in data[:8192]:
            raise BankError(
                path, None, "looks like a binary file; import a text file (Markdown, CSV, JSON or Anki text)"
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise BankError(
                path,
                line,
                "not UTF-8 text: re-save it as UTF-8 (from Excel: 'CSV UTF-8'; a GBK file: iconv -f GBK -t UTF-8)",
            ) from None
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise BankError(path, None, "is empty: nothing to import")
    return text


def detect_format(name: str, text: str) -> str:
    """md, csv, json or anki: Anki's header lines first, then the extension, then the content."""
    first = next((line.strip() for line in text.split("\n") if line.strip()), "")
    m = ANKI_HEADER_RE.match(first)
    if m and m.group(1).strip().lower() in ANKI_KEYS:
        return "anki"
    suffix = Path(name).suffix.lower()
    if suffix in (".json", ".jsonl", ".ndjson"):
        return "json"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".md", ".markdown"):
        return "md"
    if first[:1] in ("[", "{") and _is_json(text):
        return "json"
    for sep in ("\t", ",", "，", ";"):
        if sep in first and "question" in {field_key(c.strip('"')) for c in first.split(sep)}:
            return "csv"
    lines = [line for line in text.split("\n") if line.strip()]
    if "\t" in first and sum("\t" in line for line in lines) * 10 >= len(lines) * 9:
        return "anki"  # an older Anki text export: no header, one note a line
    return "md"


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        return all(line.startswith("{") and line.endswith("}") for line in lines)
    return True


def read_questions(text: str, fmt: str, name: str = "<import>") -> tuple[Imported, str]:
    """Read with the given format (or the detected one for `auto`): the result and the format used.
    A file that cannot be read in that format at all is a BankError with its line."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    used = detect_format(name, text) if fmt == "auto" else fmt
    try:
        return READERS[used](text), used
    except FormatError as exc:
        hint = "" if fmt == "auto" else f" (read as --format {fmt}; try --format auto)"
        raise BankError(name, exc.line, exc.message + hint) from None


def import_text(text: str, fmt: str, source: Path, bank_name: str, lang: str) -> tuple[BankImport, str]:
    """A source file's text → the bank to write (and its rubric files), and the format it was read as."""
    found, used = read_questions(text, fmt, str(source))
    bank = build_bank(
        found.questions,
        found.rejections,
        title=found.title,
        default_section=found.title or bank_name_and_lang(source)[0],
        source=source.name,
        bank_name=bank_name,
        lang=lang,
    )
    bank.notes[:0] = found.notes
    return bank, used
