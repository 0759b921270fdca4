"""Question banks: parse the Markdown (or TOML) format into `Question`s.

Markdown format: `## Section` headings; numbered items
`N. [频率:高][难度:易] question 提示：hint` (or `[freq:high][difficulty:easy] … Hint: …`), with an optional
`[id:some-id]` tag. Indented lines continue the item above.

Two names per question. Its `id` is what is shown and typed: `S.Q` (1-based section, 1-based item within the
section, in file order) unless an `[id:…]` tag is given. Its `key` is its identity, which history, schedules and
stats are kept under (`ref` = `bank:key`): the `[id:…]` where given, otherwise `~` and a fingerprint of its
normalised text, so inserting, deleting or reordering questions moves no history. Touched-up wording is
matched back to its history by `content.identity`; the editions of a bank share keys (`core.load_banks`).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from interviewer.errors import BankError, InputError, NotFoundError

FREQUENCY = {
    "高": "high",
    "中": "medium",
    "低": "low",
    "high": "high",
    "medium": "medium",
    "mid": "medium",
    "low": "low",
}
DIFFICULTY = {"易": "easy", "中": "medium", "难": "hard", "easy": "easy", "medium": "medium", "hard": "hard"}
TAG_NAMES = {
    "频率": "frequency",
    "freq": "frequency",
    "frequency": "frequency",
    "难度": "difficulty",
    "difficulty": "difficulty",
    "diff": "difficulty",
    "id": "id",
}
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
ITEM_RE = re.compile(r"^\s{0,3}(\d+)[.)、]\s*(.*)$")
TAG_RE = re.compile(r"\[\s*([^\[\]:：]+?)\s*[:：]\s*([^\[\]]*?)\s*\]")
UNCLOSED_TAG_RE = re.compile(
    r"\[\s*(频率|freq|frequency|难度|difficulty|diff|id)\s*[:：][^\]\[]*(\[|$)", re.IGNORECASE
)
HINT_RE = re.compile(r"(?:提示|hint)\s*[:：]", re.IGNORECASE)


@dataclass(frozen=True)
class Question:
    id: str
    bank: str
    section: str
    section_index: int
    text: str
    hint: str = ""
    frequency: str | None = None
    difficulty: str | None = None
    lang: str = "zh"
    path: str = ""
    line: int = 0
    key: str = ""  # identity; empty means the id (questions made in code)
    explicit: bool = False  # the id was given with [id:…]
    editions: tuple[str, ...] = ()  # its text in the bank's other editions, which share its identity

    @property
    def ref(self) -> str:
        """The question's identity qualified by its bank, `bank:key`: what history is stored under."""
        return f"{self.bank}:{self.key or self.id}"

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "bank": self.bank,
            "section": self.section,
            "text": self.text,
            "hint": self.hint,
            "frequency": self.frequency,
            "difficulty": self.difficulty,
        }


@dataclass
class Bank:
    name: str
    path: str
    lang: str
    title: str = ""
    questions: list[Question] = field(default_factory=list)

    @property
    def sections(self) -> list[str]:
        return list(dict.fromkeys(q.section for q in self.questions))


def normalise(text: str) -> str:
    """Text as compared for identity: NFKC, lower case, letters and digits only."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch.isalnum())


def fingerprint(text: str) -> str:
    return "~" + hashlib.sha1(normalise(text).encode("utf-8")).hexdigest()[:10]


def _identify(path: str, items: list[tuple[int | None, int, int, dict]]) -> list[tuple[str, str, bool]]:
    """(id, key, explicit) for each (line, section index, number, fields). The same text twice gets a second
    key by its order (`~…-2`)."""
    out, seen, keys = [], {}, set()
    for line, sidx, num, fields in items:
        given = fields.get("id")
        qid = given or f"{sidx}.{num}"
        if qid in seen:
            first = f" (first at line {seen[qid]})" if seen[qid] else ""
            raise BankError(path, line, f"duplicate question id {qid!r}{first}")
        seen[qid] = line
        if given:
            out.append((qid, qid, True))
            continue
        key, k = fingerprint(fields["text"]), 1
        while key in keys:
            k += 1
            key = f"{fingerprint(fields['text'])}-{k}"
        keys.add(key)
        out.append((qid, key, False))
    return out


def bank_name_and_lang(path: Path) -> tuple[str, str]:
    """`llm-basics.en.md` → ("llm-basics", "en"); `llm-basics.md` → ("llm-basics", "zh")."""
    stem = path.name.rsplit(".", 1)[0]
    if "." in stem:
        base, lang = stem.rsplit(".", 1)
        if 2 <= len(lang) <= 3 and lang.isalpha():
            return base, lang.lower()
    return stem, "zh"


def read_bytes(path: Path, error=BankError, folder: str = "is a folder, expected a file") -> bytes:
    """A file's bytes, or `error(path, None, what went wrong)`."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise error(path, None, "file not found") from None
    except IsADirectoryError:
        raise error(path, None, folder) from None
    except OSError as exc:
        raise error(path, None, f"cannot read: {exc.strerror}") from None


def read_text(path: Path, error=BankError) -> str:
    data = read_bytes(path, error)
    if b"\x00" in data[:8192]:
        raise error(path, None, "looks like a binary file, expected UTF-8 text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(path, line, "unreadable encoding: the file must be UTF-8 (re-save it as UTF-8)") from None


def _normalise_tag(path: str, line: int, name: str, value: str) -> tuple[str, str]:
    key = TAG_NAMES.get(name.strip().lower())
    if key is None:
        raise BankError(path, line, f"unknown tag [{name}:…]; use 频率/freq, 难度/difficulty or id")
    value = value.strip()
    if key == "frequency":
        norm = FREQUENCY.get(value.lower())
        if norm is None:
            raise BankError(path, line, f"unknown frequency {value!r}; use 高/中/低 or high/medium/low")
        return key, norm
    if key == "difficulty":
        norm = DIFFICULTY.get(value.lower())
        if norm is None:
            raise BankError(path, line, f"unknown difficulty {value!r}; use 易/中/难 or easy/medium/hard")
        return key, norm
    if not ID_RE.match(value):
        raise BankError(path, line, f"bad id {value!r}: use letters, digits, '.', '-' or '_'")
    return key, value


def parse_item(path: str, line: int, body: str) -> dict:
    """Split an item's text into tags, question and hint."""
    tags: dict[str, str] = {}
    unclosed = UNCLOSED_TAG_RE.search(body)
    if unclosed:
        raise BankError(path, line, f"unclosed tag {unclosed.group(0)[:20]!r}: close it with ']'")
    rest = body
    while True:
        m = TAG_RE.match(rest.lstrip())
        if not m or HINT_RE.search(m.group(1) + ":") or HINT_RE.search(m.group(2)):
            break  # `[Hint: …]`, `[x: Hint: …]`: the question's own text with its hint, not a tag
        key, value = _normalise_tag(path, line, m.group(1), m.group(2))
        if key in tags:
            raise BankError(path, line, f"tag {key} given twice")
        tags[key] = value
        rest = rest.lstrip()[m.end() :]
    # Tags may also follow the question text; a bracket that is not a known tag stays in the text.
    for m in list(TAG_RE.finditer(rest)):
        if m.group(1).strip().lower() in TAG_NAMES:
            key, value = _normalise_tag(path, line, m.group(1), m.group(2))
            if key in tags:
                raise BankError(path, line, f"tag {key} given twice")
            tags[key] = value
            rest = rest.replace(m.group(0), " ", 1)
    hint = ""
    hm = HINT_RE.search(rest)
    if hm:
        hint = rest[hm.end() :].strip()
        rest = rest[: hm.start()]
    text = " ".join(rest.split())
    if not text:
        raise BankError(path, line, "item has no question text")
    return {"text": text, "hint": " ".join(hint.split()), **tags}


def parse_markdown(text: str, path: str = "<bank>", name: str = "bank", lang: str = "zh") -> Bank:
    bank = Bank(name=name, path=path, lang=lang)
    section: str | None = None
    section_index = 0
    number = 0
    items: list[tuple[int, str, int, int, str]] = []  # (line, section, section_index, number, body)
    in_fence = False
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence or not line.strip():
            continue
        if line.startswith("# ") and not bank.title:
            bank.title = line[2:].strip()
            continue
        if line.startswith("## "):
            section = line[3:].strip()
            if not section:
                raise BankError(path, lineno, "section heading has no name")
            section_index += 1
            number = 0
            continue
        m = ITEM_RE.match(line)
        if m:
            if section is None:
                raise BankError(
                    path, lineno, "question outside a section: add a '## Section' heading above it"
                )
            number += 1
            items.append((lineno, section, section_index, number, m.group(2)))
            continue
        if raw[:1] in (" ", "\t") and items and items[-1][1] == section:
            last = items[-1]
            items[-1] = (last[0], last[1], last[2], last[3], last[4] + " " + line.strip())
            continue
        # Any other line is prose (an intro paragraph, a sub-heading): allowed and ignored.
    parsed = [
        (lineno, sec, sidx, num, parse_item(path, lineno, body)) for lineno, sec, sidx, num, body in items
    ]
    names = _identify(path, [(lineno, sidx, num, fields) for lineno, _, sidx, num, fields in parsed])
    for (lineno, sec, sidx, _, fields), (qid, key, explicit) in zip(parsed, names, strict=True):
        fields.pop("id", None)
        bank.questions.append(
            Question(id=qid, key=key, explicit=explicit, bank=name, section=sec, section_index=sidx, lang=lang,
                     path=path, line=lineno, **fields)
        )  # fmt: skip
    if not bank.questions:
        raise BankError(path, None, "no questions found: expected '## Section' headings and numbered items")
    return bank


def parse_toml(text: str, path: str = "<bank>", name: str = "bank", lang: str = "zh") -> Bank:
    """TOML banks: `[[sections]] name = "…"` with `[[sections.questions]] text, hint, frequency, difficulty, id`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise BankError(path, int(m.group(1)) if m else None, f"invalid TOML: {exc}") from None
    bank = Bank(name=name, path=path, lang=lang, title=str(data.get("title", "")))
    sections = data.get("sections", [])
    if not isinstance(sections, list) or not all(isinstance(x, dict) for x in sections):
        raise BankError(path, None, "'sections' must be an array of tables: [[sections]]")
    parsed = []
    for sidx, sec in enumerate(sections, 1):
        questions = sec.get("questions", [])
        if not isinstance(questions, list) or not all(isinstance(x, dict) for x in questions):
            raise BankError(path, None, f"section {sidx}: 'questions' must be an array of tables")
        sname = str(sec.get("name", "")).strip()
        if not sname:
            raise BankError(path, None, f"section {sidx} has no name")
        for num, q in enumerate(questions, 1):
            text = str(q.get("text", "")).strip()
            if not text:
                raise BankError(path, None, f"question {sidx}.{num} has no text")
            fields = {"text": text, "hint": str(q.get("hint", "")).strip()}
            for key in ("frequency", "difficulty", "id"):
                if key in q:
                    fields.update([_normalise_tag(path, 0, key, str(q[key]))])
            parsed.append((sname, sidx, num, fields))
    names = _identify(path, [(None, sidx, num, fields) for _, sidx, num, fields in parsed])
    for (sname, sidx, _, fields), (qid, key, explicit) in zip(parsed, names, strict=True):
        fields.pop("id", None)
        bank.questions.append(
            Question(id=qid, key=key, explicit=explicit, bank=name, section=sname, section_index=sidx,
                     lang=lang, path=path, **fields)
        )  # fmt: skip
    if not bank.questions:
        raise BankError(path, None, "no questions found")
    return bank


def load_bank(path: Path) -> Bank:
    name, lang = bank_name_and_lang(path)
    text = read_text(path)
    if path.suffix.lower() == ".toml":
        return parse_toml(text, str(path), name, lang)
    return parse_markdown(text, str(path), name, lang)


def bank_files(folder: Path, lang: str) -> list[Path]:
    """The bank files of one language in a folder: `x.en.md` for en, else `x.md`; default edition as fallback."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".md", ".toml"))
    files = [p for p in files if p.name.lower() != "readme.md"]
    by_bank: dict[str, dict[str, Path]] = {}
    for p in files:
        name, plang = bank_name_and_lang(p)
        by_bank.setdefault(name, {})[plang] = p
    chosen = []
    for editions in by_bank.values():
        chosen.append(editions.get(lang) or editions.get("zh") or next(iter(editions.values())))
    return chosen


class QuestionSet:
    """All questions of the loaded banks, looked up by `id` or `bank:id`."""

    def __init__(self, banks: Iterable[Bank]):
        self.banks = list(banks)
        self.questions = [q for b in self.banks for q in b.questions]
        self._by_ref = {q.ref: q for q in self.questions}

    def by_ref(self, ref: str) -> Question | None:
        """By identity, as stored with history and in a session's plan."""
        return self._by_ref.get(ref)

    def __iter__(self):
        return iter(self.questions)

    def __len__(self):
        return len(self.questions)

    def get(self, qid: str) -> Question:
        """As typed: a shown id (`2.1`), a shown id in a bank (`bank:2.1`), or an identity (`bank:~3f…`)."""
        qid = qid.strip()
        bank, sep, shown = qid.rpartition(":")
        if sep and bank:
            matches = [q for q in self.questions if q.bank == bank and q.id == shown]
            if matches:
                return matches[0]
        if qid in self._by_ref:
            return self._by_ref[qid]
        matches = [q for q in self.questions if q.id == qid]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            refs = ", ".join(q.ref for q in matches)
            raise NotFoundError(f"question id {qid!r} is in several banks ({refs}); qualify it as bank:{qid}")
        raise NotFoundError(f"no question {qid!r}; run 'interviewer bank list' to see the ids")

    def filter(
        self, section: str | None = None, difficulty: str | None = None, frequency: str | None = None
    ) -> list[Question]:
        out = self.questions
        if section:
            out = [q for q in out if section_matches(q, section)]
        if difficulty:
            d = _level("--difficulty", difficulty, DIFFICULTY)
            out = [q for q in out if q.difficulty == d]
        if frequency:
            f = _level("--frequency", frequency, FREQUENCY)
            out = [q for q in out if q.frequency == f]
        return out


def _level(flag: str, value: str, names: dict[str, str]) -> str:
    """A frequency or difficulty as typed (高, high, HIGH) → its name; an unknown one is named in the error."""
    level = names.get(value.strip().lower())
    if level is None:
        known = " / ".join(dict.fromkeys([*names, *names.values()]))
        raise InputError(f"{flag} {value!r} is not a level; use one of {known}")
    return level


def section_matches(q: Question, wanted: str) -> bool:
    """A section is chosen by its number (`2`) or by part of its name (`注意力`)."""
    wanted = wanted.strip()
    if wanted.isdigit():
        return q.section_index == int(wanted)
    return wanted.lower() in q.section.lower()
