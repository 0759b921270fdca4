"""JSON imports: a list of question objects, `{"sections": [{"name", "questions": […]}]}`, `{"questions": […]}`,
or `{"Section name": […], …}`; JSON lines (one object a line) too. Entries are reported by number and line."""

from __future__ import annotations

import bisect
import json
import re

from interviewer.content.formats.fields import Imported, field_key, question_from_fields
from interviewer.content.formats.table import FormatError

LIST_KEYS = {"questions", "items", "cards", "entries", "data", "list", "题目", "题库", "问题列表", "面试题"}
SECTION_LIST_KEYS = {"sections", "categories", "chapters", "groups", "分类", "章节"}
NAME_KEYS = {"name", "title", "section", "category", "分类", "名称", "标题", "章节"}
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _norm(key: str) -> str:
    return re.sub(r"[\s_\-]+", "", key.strip().lower())


class _Located:
    """Parses valid JSON again, noting the line each array element starts on (keyed by the array's id)."""

    def __init__(self, text: str):
        self.text = text
        self.newlines = [m.start() for m in re.finditer("\n", text)]
        self.starts: dict[int, list[int]] = {}

    def line(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def value(self, i: int):
        s = self.text
        i = _WS.match(s, i).end()
        if s[i] == "[":
            items: list = []
            lines: list[int] = []
            i = _WS.match(s, i + 1).end()
            while s[i] != "]":
                i = _WS.match(s, i).end()
                lines.append(self.line(i))
                v, i = self.value(i)
                items.append(v)
                i = _WS.match(s, i).end()
                i += s[i] == ","
                i = _WS.match(s, i).end()
            self.starts[id(items)] = lines
            return items, i + 1
        if s[i] == "{":
            obj: dict = {}
            i = _WS.match(s, i + 1).end()
            while s[i] != "}":
                key, i = json.decoder.scanstring(s, _WS.match(s, i).end() + 1)
                i = _WS.match(s, i).end() + 1  # the colon
                obj[key], i = self.value(i)
                i = _WS.match(s, i).end()
                i += s[i] == ","
                i = _WS.match(s, i).end()
            return obj, i + 1
        return _DECODER.raw_decode(s, i)


def read_json(text: str) -> Imported:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        lines = [(n, line) for n, line in enumerate(text.split("\n"), 1) if line.strip()]
        if len(lines) > 1 and all(line.lstrip().startswith("{") for _, line in lines):
            return _read_json_lines(lines)
        raise FormatError(exc.lineno, f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    located = _Located(text)
    data, _ = located.value(0)
    out = Imported()
    for section, entries in _sections(data, out):
        lines = located.starts.get(id(entries), [])
        for n, entry in enumerate(entries):
            _entry(out, entry, n + 1, lines[n] if n < len(lines) else 1, section)
    return out


def _sections(data, out: Imported) -> list[tuple[str, list]]:
    """The (section, entries) pairs of a document, whichever of the accepted shapes it has."""
    if isinstance(data, list):
        if data and all(
            isinstance(e, dict) and _list_of(e) is not None and "question" not in _keys(e) for e in data
        ):
            return [(_name_of(e), _list_of(e)) for e in data]  # a list of sections
        return [("", data)]
    if not isinstance(data, dict):
        raise FormatError(1, "expected a list of questions or an object holding them")
    for key, value in data.items():
        if _norm(key) == "title" and isinstance(value, str):
            out.title = value.strip()
    for key, value in data.items():
        if _norm(key) in SECTION_LIST_KEYS and isinstance(value, list):
            return _sections(value, out) if all(isinstance(e, dict) for e in value) else [("", value)]
    entries = _list_of(data)
    if entries is not None:
        return [("", entries)]
    lists = [(k, v) for k, v in data.items() if isinstance(v, list)]
    if lists:
        return [(k.strip(), v) for k, v in lists]  # {"Section": [...], ...}
    raise FormatError(1, "no list of questions: give a list, or an object with 'questions' or 'sections'")


def _keys(obj: dict) -> set[str | None]:
    return {field_key(k) for k in obj}


def _list_of(obj: dict) -> list | None:
    return next((v for k, v in obj.items() if _norm(k) in LIST_KEYS and isinstance(v, list)), None)


def _name_of(obj: dict) -> str:
    return next((str(v).strip() for k, v in obj.items() if _norm(k) in NAME_KEYS and isinstance(v, str)), "")


def _entry(out: Imported, entry, n: int, line: int, section: str) -> None:
    if isinstance(entry, str):
        entry = {"question": entry}
    if not isinstance(entry, dict):
        kind = {bool: "true/false", int: "a number", float: "a number", list: "a list"}.get(
            type(entry), "null"
        )
        out.rejections.append((line, f"entry {n} is {kind}; expected an object with a question"))
        return
    values: dict[str, object] = {}
    for k, v in entry.items():
        key = field_key(k)
        if key and key not in values:
            values[key] = v
    try:
        q = question_from_fields(values, line, f"entry {n} has no 'question' or '问题'")
    except ValueError as exc:
        out.rejections.append(
            (line, f"entry {n}: {exc}" if not str(exc).startswith("no question") else str(exc))
        )
        return
    q.section = q.section or section
    out.questions.append(q)


def _read_json_lines(lines: list[tuple[int, str]]) -> Imported:
    out = Imported()
    for n, (line, text) in enumerate(lines, 1):
        try:
            entry = json.loads(text)
        except json.JSONDecodeError as exc:
            out.rejections.append((line, f"not valid JSON: {exc.msg} (column {exc.colno})"))
            continue
        _entry(out, entry, n, line, "")
    return out
