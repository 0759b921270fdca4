"""What every import format shares: the imported question, field names in either language, levels, tags, text."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from interviewer.content.bank import DIFFICULTY, FREQUENCY, parse_item
from interviewer.errors import BankError


@dataclass
class ImportedQuestion:
    """One question read from a source file, before it is written as a bank item; `line` is where it starts."""

    text: str
    line: int
    section: str = ""
    hint: str = ""
    answer: str = ""
    frequency: str | None = None
    difficulty: str | None = None
    id: str | None = None


@dataclass
class Imported:
    """What a reader gives back: the questions, the rejected lines as (line, reason), the source's title, and
    notes for the user (columns ignored, and so on)."""

    questions: list[ImportedQuestion] = field(default_factory=list)
    rejections: list[tuple[int, str]] = field(default_factory=list)
    title: str = ""
    notes: list[str] = field(default_factory=list)


# Column (CSV, Anki `#columns:`) and key (JSON) names, matched without case, spaces, '_' or '-'.
FIELD_NAMES = {
    "question": ["question", "q", "问题", "题目", "题干", "面试题", "问", "front", "prompt", "text", "正面"],
    "answer": [
        "answer", "a", "答案", "参考答案", "回答", "解答", "答", "解析", "back", "reference", "referenceanswer",
        "背面",
    ],
    "section": ["section", "category", "分类", "类别", "章节", "模块", "topic", "主题", "deck", "group", "分组"],
    "difficulty": ["difficulty", "diff", "难度", "level"],
    "frequency": ["frequency", "freq", "频率", "频次"],
    "hint": ["hint", "提示", "tip", "tips"],
    "id": ["id"],
    "tags": ["tags", "tag", "标签"],
}  # fmt: skip
_FIELD_BY_NAME = {name: key for key, names in FIELD_NAMES.items() for name in names}

# Levels as people write them, beyond the bank's own 高/中/低 and 易/中/难.
FREQUENCY_WORDS = FREQUENCY | {
    "高频": "high", "常考": "high", "常见": "high", "often": "high", "common": "high", "frequent": "high",
    "中频": "medium", "一般": "medium", "sometimes": "medium",
    "低频": "low", "少见": "low", "罕见": "low", "rare": "low", "seldom": "low",
}  # fmt: skip
DIFFICULTY_WORDS = DIFFICULTY | {
    "简单": "easy", "容易": "easy", "基础": "easy", "初级": "easy", "低": "easy", "basic": "easy",
    "中等": "medium", "一般": "medium", "中级": "medium", "普通": "medium", "normal": "medium",
    "moderate": "medium", "intermediate": "medium",
    "困难": "hard", "较难": "hard", "高": "hard", "高级": "hard", "进阶": "hard", "difficult": "hard",
    "advanced": "hard",
}  # fmt: skip
# How a written bank marks the tags an import had to guess (bankfile writes it, the Markdown reader honours it).
GUESSED_RE = re.compile(r"^<!--\s*guessed:\s*([a-z, ]+?)\s*-->$")
_TAG_RE = re.compile(r"^(freq|frequency|频率|difficulty|diff|难度)\s*(?:::|[:：=])\s*(.+)$", re.IGNORECASE)
_BARE_FREQUENCY_TAGS = {"高频": "high", "中频": "medium", "低频": "low"}


def field_key(name: str) -> str | None:
    """A column or key name → question|answer|section|difficulty|frequency|hint|id|tags, or None."""
    norm = re.sub(r"[\s_\-]+", "", name.strip().lstrip("\ufeff").lower())
    norm = re.sub(r"[(（].*?[)）]$", "", norm)  # "答案（参考）", "Question (zh)"
    return _FIELD_BY_NAME.get(norm)


def level(kind: str, value: str) -> str:
    """A frequency or difficulty as written → high|medium|low or easy|medium|hard; ValueError names the choices."""
    words = FREQUENCY_WORDS if kind == "frequency" else DIFFICULTY_WORDS
    found = words.get(value.strip().lower())
    if found is None:
        choices = "高/中/低 or high/medium/low" if kind == "frequency" else "易/中/难 or easy/medium/hard"
        raise ValueError(f"unknown {kind} {value.strip()!r}; use {choices}")
    return found


def levels_from_tags(tags: str | list[str]) -> dict[str, str]:
    """`freq::high difficulty::easy` (Anki), `频率:高`, `高频` → {"frequency": "high", "difficulty": "easy"}.
    Other tags are left alone."""
    words = tags if isinstance(tags, list) else re.split(r"[\s,，;；]+", tags)
    found: dict[str, str] = {}
    for word in (str(w).strip() for w in words):
        m = _TAG_RE.match(word)
        if m:
            kind = "frequency" if m.group(1).lower() in ("freq", "frequency", "频率") else "difficulty"
            with contextlib.suppress(ValueError):  # an unknown level in a tag is just another tag
                found.setdefault(kind, level(kind, m.group(2)))
        elif word in _BARE_FREQUENCY_TAGS:
            found.setdefault("frequency", _BARE_FREQUENCY_TAGS[word])
    return found


def one_line(text: str) -> str:
    return " ".join(text.split())


_PUNCT_END = re.compile(r"[\u3000-\u303f\uff00-\uffef]$")
_HAN_END = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]$")
_WIDE_START = re.compile(r"^[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


def wrap_joint(before: str, after: str) -> str:
    """What joins two lines of one wrapped sentence: nothing after Chinese punctuation or between Chinese
    characters, else a space."""
    if _PUNCT_END.search(before) or (_HAN_END.search(before) and _WIDE_START.match(after)):
        return ""
    return " "


def join_wrapped(parts: list[str]) -> str:
    """Lines of one wrapped sentence, joined (see wrap_joint)."""
    out = ""
    for part in (p.strip() for p in parts):
        if part:
            out += (wrap_joint(out, part) if out else "") + part
    return out


def tidy_block(text: str) -> str:
    """A multi-line answer: trailing spaces and surrounding blank lines gone, runs of blank lines made one."""
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


class _TextOf(HTMLParser):
    """HTML → text: block tags and <br> become line breaks, entities are decoded, scripts and styles dropped."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    BLOCKS = frozenset(
        {"br", "div", "p", "li", "tr", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "ul", "ol"}
    )

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
            if tag == "li":
                self.parts.append("- ")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_startendtag(self, tag, attrs):
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


CLOZE_RE = re.compile(r"\{\{c\d+::(.*?)(?:::[^}]*)?\}\}", re.DOTALL)
SOUND_RE = re.compile(r"\[sound:[^\]]*\]")


def html_to_text(value: str) -> str:
    """Anki field HTML → plain text: `a<br>b` → "a\\nb", `&lt;` → "<", cloze deletions shown, sounds dropped."""
    value = SOUND_RE.sub("", CLOZE_RE.sub(r"\1", value))
    if "<" not in value and "&" not in value:
        return value
    parser = _TextOf()
    parser.feed(value)
    parser.close()
    text = "".join(parser.parts).replace("\xa0", " ")
    return tidy_block(re.sub(r"[ \t]*\n[ \t]*", "\n", text))


def _as_text(value, joiner: str) -> str:
    if value is None or isinstance(value, bool | dict):
        return ""
    if isinstance(value, list):
        return joiner.join(_as_text(v, joiner) for v in value if _as_text(v, joiner))
    return str(value).strip()


def question_from_fields(values: dict[str, object], line: int, missing: str) -> ImportedQuestion:
    """A question from named fields (a CSV row, a JSON object). The question text is read as a bank item, so
    `[频率:高]` and an inline `提示：` mean what they mean in a bank; given fields win over inline ones.
    ValueError says why the entry cannot be imported (`missing` names where the question should have been)."""
    text = one_line(_as_text(values.get("question"), " "))
    if not text:
        raise ValueError(f"no question ({missing})")
    try:
        inline = parse_item("", line, text)
    except BankError as exc:
        raise ValueError(exc.message) from None
    hint = one_line(_as_text(values.get("hint"), "；"))
    if inline["hint"] and hint:
        raise ValueError(
            "the question holds '提示：' or 'Hint:' and a hint is given too; a bank reads what follows 'Hint:' "
            "as the hint: reword the question"
        )
    q = ImportedQuestion(
        text=inline["text"],
        line=line,
        section=one_line(_as_text(values.get("section"), " ")),
        hint=hint or inline["hint"],
        answer=tidy_block(_as_text(values.get("answer"), "\n")),
        frequency=inline.get("frequency"),
        difficulty=inline.get("difficulty"),
        id=_as_text(values.get("id"), "") or inline.get("id"),
    )
    tags = levels_from_tags(values["tags"]) if values.get("tags") else {}
    for kind in ("frequency", "difficulty"):
        given = _as_text(values.get(kind), " ")
        if given:
            setattr(q, kind, level(kind, given))
        elif kind in tags and getattr(q, kind) is None:
            setattr(q, kind, tags[kind])
    return q
