"""Markdown imports: numbered lists under `#` section headings, and headed question/answer files.

A numbered list (`1. …`, `1) …`, `1、…`, `(1) …`, `Q: …`; `一、…` lines or headings as sections) gives one question
per item; indented lines continue it, and what follows it — after an answer marker (`答：`, `**答案**：`,
`Answer:`) or a blank line — is its answer. A headed file (`### 1. question?` with the answer paragraphs under it,
as most 面试八股 collections are written) gives one question per heading of the deepest level; the shallower
headings are its sections. `提示：`/`Hint:` lines are hints, and bank tags (`[频率:高]`) are read as a bank reads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from interviewer.content.bank import parse_item
from interviewer.content.formats.fields import (
    GUESSED_RE,
    Imported,
    ImportedQuestion,
    html_to_text,
    join_wrapped,
    one_line,
    tidy_block,
)
from interviewer.errors import BankError

HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE_RE = re.compile(r"^\s*(```|~~~)")
ITEM_RE = re.compile(
    r"^(?P<indent>\s{0,3})(?:(?P<n>\d+)\s*(?:[.．](?!\d)|[)）、])|[（(](?P<p>\d+)[)）]"
    r"|(?P<q>question|q|问题|问)\s*\d*\s*[:：.、．])\s*(?P<body>.*)$",
    re.IGNORECASE,
)
BULLET_RE = re.compile(r"^\s{0,3}[-*+•]\s+(.*)$")
CN_SECTION_RE = re.compile(r"^([一二三四五六七八九十百]+)\s*[、.．]\s*(.+)$")
_BOLD = r"(?:\*\*|__)?"
ANSWER_RE = re.compile(
    rf"^\s*(?:>\s*)?{_BOLD}\s*(?:参考答案|答案|解答|回答|答|解析|answer|a)\s*{_BOLD}\s*[:：]\s*{_BOLD}\s*(.*)$"
    rf"|^\s*{_BOLD}\s*(?:参考答案|答案|解答|解析|answer)\s*{_BOLD}\s*$"
    r"|^\s*(?:<details>\s*)?<summary>.*?</summary>\s*$",
    re.IGNORECASE,
)
HINT_LINE_RE = re.compile(rf"^\s*{_BOLD}\s*(?:提示|hint)\s*{_BOLD}\s*[:：]\s*{_BOLD}\s*(.*)$", re.IGNORECASE)
SKIP_RE = re.compile(r"^\s*(?:([-*_])(?:\s*\1){2,}|</?details[^>]*>|\[toc\]|<!--.*-->)\s*$", re.IGNORECASE)
QUESTION_PREFIX_RE = re.compile(
    r"^(?:(?:question|q|问题|题目|面试题)\s*\d*\s*[:：.、．]\s*|第\s*\d+\s*题\s*[:：.、．]?\s*"
    r"|\d+\s*(?:[.．](?!\d)|[)）、])\s*|[（(]\d+[)）]\s*)",
    re.IGNORECASE,
)
SECTION_PREFIX_RE = re.compile(
    r"^(?:[一二三四五六七八九十百]+\s*[、.．]\s*|\d+(?:\.\d+)*\s*[.、)）]?\s+|第\s*[一二三四五六七八九十百\d]+\s*[章节部分篇]\s*[:：、.]?\s*)"
)
QUESTION_WORDS_RE = re.compile(
    r"[？?]\s*$|什么|为什么|为何|如何|怎么|怎样|哪些|哪种|是否|吗|呢|区别|差异|对比|比较|解释|介绍|说说|谈谈|简述|描述|"
    r"\b(?:what|why|how|when|which|explain|describe|compare|difference)\b",
    re.IGNORECASE,
)
INLINE_HTML_RE = re.compile(r"</?(?:strong|b|em|i|u|br|span|font|code|p|div|sup|sub)\b[^>]*>", re.IGNORECASE)
TERMINAL_RE = re.compile(r"[？?。.!！]\s*$")


def _unbold(text: str) -> str:
    m = re.fullmatch(r"\s*(\*\*|__)(.+?)\1\s*[:：]?\s*", text)
    return m.group(2) if m else text


def question_heading(text: str) -> str:
    """`**Q1：什么是 RAG？**` → `什么是 RAG？`."""
    return QUESTION_PREFIX_RE.sub("", _unbold(text).strip(), count=1).strip()


def section_name(text: str) -> str:
    """`一、Transformer 基础` → `Transformer 基础`."""
    text = _unbold(text).strip()
    return SECTION_PREFIX_RE.sub("", text, count=1).strip() or text


@dataclass
class _Line:
    no: int
    raw: str
    fenced: bool  # inside a code fence, or a fence line itself
    heading: tuple[int, str] | None = None


def _lines(text: str) -> list[_Line]:
    out, fenced = [], False
    for no, raw in enumerate(text.splitlines(), 1):
        if FENCE_RE.match(raw):
            out.append(_Line(no, raw, True))
            fenced = not fenced
            continue
        line = _Line(no, raw, fenced)
        m = None if fenced else HEADING_RE.match(raw)
        if m and (ANSWER_RE.match(m.group(2)) or HINT_LINE_RE.match(m.group(2))):
            line.raw = m.group(2)  # `#### 答案`: a marker, not a heading
        elif m and m.group(2):
            line.heading = (len(m.group(1)), m.group(2))
        out.append(line)
    return out


def _item(line: str) -> re.Match | None:
    return ITEM_RE.match(_unbold(line) if line.strip().startswith(("**", "__")) else line)


def _emit(
    out: Imported,
    line: int,
    section: str,
    text: str,
    hint: str,
    answer: list[str],
    guessed: tuple[str, ...] = (),
) -> None:
    """Read a question's text as a bank item (tags, inline hint) and add it, or reject its line. Tags a bank marks
    as guessed (`<!-- guessed: difficulty -->` after the item) count as not given."""
    if INLINE_HTML_RE.search(text):  # `<strong>…</strong>`, `<br>`: a question is plain text
        text = html_to_text(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text)  # bold; `__init__` stays as written
    try:
        fields = parse_item("", line, one_line(text))
    except BankError as exc:
        out.rejections.append((line, exc.message))
        return
    out.questions.append(
        ImportedQuestion(
            text=fields["text"],
            line=line,
            section=section,
            hint=fields["hint"] or one_line(hint),
            answer=tidy_block("\n".join(answer)),
            frequency=None if "frequency" in guessed else fields.get("frequency"),
            difficulty=None if "difficulty" in guessed else fields.get("difficulty"),
            id=fields.get("id"),
        )
    )


def read_markdown(text: str) -> Imported:
    """A Markdown file of questions: a numbered list, or headed questions with their answers."""
    lines = _lines(text)
    headings = [x for x in lines if x.heading]
    title = ""
    h1 = [x for x in headings if x.heading[0] == 1]
    has_items = any(not x.fenced and not x.heading and _item(x.raw) for x in lines)
    if len(h1) == 1 and headings[0] is h1[0] and (len(headings) > 1 or has_items):
        title = section_name(h1[0].heading[1])
        headings = headings[1:]
    if headings and _is_headed(lines, headings):
        out = _read_headed(lines, headings)
    else:
        out = _read_list(lines, title_line=h1[0].no if title else 0)
        if not out.questions and not out.rejections and headings:
            out = _read_headed(lines, headings)
    out.title = title
    return out


def _is_headed(lines: list[_Line], headings: list[_Line]) -> bool:
    """Questions are headings when most of the deepest headings read as questions or have prose under them."""
    deepest = max(h.heading[0] for h in headings)
    last = [h for h in headings if h.heading[0] == deepest]
    by_no = {x.no: i for i, x in enumerate(lines)}
    questions = prose = 0
    for h in last:
        if QUESTION_WORDS_RE.search(question_heading(h.heading[1])):
            questions += 1
        start = by_no[h.no] + 1
        first = next((lines[j] for j in range(start, len(lines)) if lines[j].raw.strip()), None)
        if (
            first is not None
            and not first.heading
            and (first.fenced or not (_item(first.raw) or BULLET_RE.match(first.raw)))
        ):
            prose += 1
    return questions * 2 >= len(last) or prose * 2 > len(last)


def _read_headed(lines: list[_Line], headings: list[_Line]) -> Imported:
    out = Imported()
    structure = {h.no for h in headings}
    deepest = max(h.heading[0] for h in headings)
    section, current = "", None
    pre: list[str] = []  # under the heading, before an answer marker
    ans: list[str] = []  # after the marker
    hint, marked = "", False

    def flush():
        if current is None:
            return
        heading = question_heading(current.heading[1])
        if not one_line(heading):
            out.rejections.append((current.no, "the heading has no question text"))
            return
        # With a marker, what comes before it continues the question; without one, it is all the answer.
        text = join_wrapped([heading, *pre]) if marked else heading
        _emit(out, current.no, section, text, hint, ans if marked else pre)

    for x in lines:
        if x.no in structure:
            flush()
            pre, ans, hint, marked = [], [], "", False
            level, name = x.heading
            if level < deepest:
                section, current = section_name(name), None
            else:
                current = x
            continue
        if current is None:
            continue
        if not x.fenced:
            hm = HINT_LINE_RE.match(x.raw)
            if hm and not hint:
                hint = hm.group(1)
                continue
            am = ANSWER_RE.match(x.raw)
            if am and not marked:
                marked = True
                ans.append(am.group(1) or "")
                continue
            if SKIP_RE.match(x.raw):
                continue
        (ans if marked else pre).append(x.raw)
    flush()
    return out


@dataclass
class _Open:
    """The list item being read."""

    line: int
    number: int | None
    section: str
    question: list[str] = field(default_factory=list)
    answer: list[str] = field(default_factory=list)
    hint: str = ""
    in_answer: bool = False
    guessed: tuple[str, ...] = ()
    sub_next: int | None = None  # the next number of a numbered list inside the answer


def _read_list(lines: list[_Line], title_line: int = 0) -> Imported:
    out = Imported()
    bullets = not any(not x.fenced and not x.heading and _item(x.raw) for x in lines)
    section = ""
    cur: _Open | None = None
    blank_before = False

    def flush():
        if cur is not None:
            _emit(out, cur.line, cur.section, join_wrapped(cur.question), cur.hint, cur.answer, cur.guessed)

    def new(line: int, number: int | None, body: str) -> _Open:
        flush()
        return _Open(line, number, section, [body])

    for x in lines:
        raw = x.raw
        if x.no == title_line:
            continue
        if x.fenced:
            if cur is not None:
                cur.in_answer = True
                cur.answer.append(raw)
            blank_before = False
            continue
        if x.heading:
            flush()
            cur, section, blank_before = None, section_name(x.heading[1]), False
            continue
        if not raw.strip():
            blank_before = True
            if cur is not None and cur.in_answer:
                cur.answer.append("")
            continue
        guessed = GUESSED_RE.match(raw.strip())
        if guessed and cur is not None:
            cur.guessed = tuple(t.strip() for t in guessed.group(1).split(","))
            continue
        if SKIP_RE.match(raw):
            continue
        m = _item(raw)
        if m:
            number = m.group("n") or m.group("p")
            number = int(number) if number else None
            if cur is None or not cur.in_answer or _starts_question(cur, number, m.group("q"), blank_before):
                cur = new(x.no, number, m.group("body"))
            else:
                cur.answer.append(raw)
        elif bullets and BULLET_RE.match(raw) and (cur is None or not cur.in_answer):
            cur = new(x.no, None, BULLET_RE.match(raw).group(1))
        elif CN_SECTION_RE.match(raw) and (cur is None or not cur.in_answer):
            flush()
            cur, section = None, section_name(raw)
        elif cur is None:
            pass  # prose before the first item: an introduction
        elif ANSWER_RE.match(raw) and not cur.in_answer:
            cur.in_answer = True
            cur.answer.append(ANSWER_RE.match(raw).group(1) or "")
        elif HINT_LINE_RE.match(raw) and not cur.hint:
            cur.hint = HINT_LINE_RE.match(raw).group(1)
        elif cur.in_answer:
            cur.answer.append(raw)
        elif raw[:1] in (" ", "\t") or (not blank_before and not TERMINAL_RE.search(cur.question[-1])):
            cur.question.append(raw.strip())
        else:
            cur.in_answer = True
            cur.answer.append(raw)
        blank_before = False
    flush()
    return out


def _starts_question(cur: _Open, number: int | None, qmark: str | None, blank_before: bool) -> bool:
    """Inside an answer, is this numbered line the next question, or a list of the answer's own?"""
    if qmark or number is None:
        return bool(qmark)
    expected = cur.number + 1 if cur.number is not None else None
    if cur.sub_next is not None and number == cur.sub_next and not (blank_before and number == expected):
        cur.sub_next += 1
        return False
    if number == 1 and expected != 1:
        cur.sub_next = 2
        return False
    return number == expected or blank_before
