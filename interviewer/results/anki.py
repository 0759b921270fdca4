"""A bank as an Anki package (.apkg), to review it on a phone: one deck per bank, a subdeck per section, one note
per question (front: the question with its section, frequency and difficulty; back: the hint and the reference
answer of its curated rubric). genanki writes the package; it is imported only here.

Ids are stable: a deck's and the note type's come from names (the bank's, the edition's), a note's GUID from the
question's identity, so importing a newer package into Anki updates the notes instead of adding them again.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import os
import re
import sqlite3
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from interviewer.content.bank import Bank, Question
from interviewer.content.formats.fields import wrap_joint
from interviewer.content.formats.table import ANKI_NOTE_FIELDS, ANKI_NOTE_TYPE
from interviewer.content.rubric import rubric_for
from interviewer.errors import InterviewerError

LABELS = {
    "zh": {"hint": "提示", "answer": "参考答案", "none": "没有提示或参考答案", "frequency": "频率", "difficulty": "难度",
           "high": "高", "medium": "中", "low": "低", "easy": "易", "hard": "难"},
    "en": {"hint": "Hint", "answer": "Reference answer", "none": "No hint or reference answer", "frequency":
           "frequency", "difficulty": "difficulty", "high": "high", "medium": "medium", "low": "low", "easy": "easy",
           "hard": "hard"},
}  # fmt: skip
CSS = """\
.card { font-family: -apple-system, "PingFang SC", "Noto Sans CJK SC", sans-serif; font-size: 19px;
  line-height: 1.55; text-align: left; color: #1d1d1f; background: #fff; padding: 0 4px; }
.info { font-size: 13px; color: #6e6e73; margin-bottom: 10px; }
.question { font-weight: 600; }
.hint { margin: 10px 0; padding: 8px 10px; background: #f5f5f7; border-radius: 6px; }
.reference { margin-top: 10px; }
.ref, .none { font-size: 12px; color: #86868b; margin-top: 14px; }
pre { white-space: pre-wrap; font-size: 14px; background: #f5f5f7; padding: 8px; border-radius: 6px; }
.nightMode .card, .night_mode .card { color: #f5f5f7; background: #1c1c1e; }
.nightMode .hint, .nightMode pre, .night_mode .hint, .night_mode pre { background: #2c2c2e; }
"""
BLOCK_START_RE = re.compile(r"^\s*(?:[-*+•]\s|\d+[.)、]|#{1,6}\s|>|\|)")


def stable_id(*names: str) -> int:
    """An id in [2^30, 2^31) from names, the range genanki advises: the same names always give the same id."""
    digest = hashlib.sha256("\x1f".join(names).encode("utf-8")).digest()
    return (1 << 30) + int.from_bytes(digest[:4], "big") % (1 << 30)


def text_to_html(text: str) -> str:
    """Plain text (a reference answer) as escaped HTML: code fences kept as <pre>, paragraphs split by a blank
    line, list and heading lines on their own line, other line breaks a soft wrap (no space after Chinese)."""
    out: list[str] = []
    para: list[str] = []

    def flush():
        if para:
            joined = html.escape(para[0])
            for before, line in itertools.pairwise(para):
                joint = "<br>" if BLOCK_START_RE.match(line) else wrap_joint(before, line)
                joined += joint + html.escape(line)
            out.append(joined)
            para.clear()

    lines = text.strip().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(("```", "~~~")):
            flush()
            fence, code = line.lstrip()[:3], []
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith(fence):
                code.append(lines[i])
                i += 1
            out.append("<pre><code>" + html.escape("\n".join(code)) + "</code></pre>")
        elif line.strip():
            para.append(line.strip())
        else:
            flush()
        i += 1
    flush()
    return "<br><br>".join(out)


def _model(lang: str):
    import genanki

    t = LABELS.get(lang, LABELS["en"])
    front = '<div class="info">{{Section}}{{#Info}} · {{Info}}{{/Info}}</div>\n<div class="question">{{Question}}</div>'
    back = (
        "{{FrontSide}}\n<hr id=answer>\n"
        f'{{{{#Hint}}}}<div class="hint"><b>{t["hint"]}</b> {{{{Hint}}}}</div>{{{{/Hint}}}}\n'
        f'{{{{#Answer}}}}<div class="reference"><b>{t["answer"]}</b><br>{{{{Answer}}}}</div>{{{{/Answer}}}}\n'
        f'{{{{^Answer}}}}{{{{^Hint}}}}<div class="none">{t["none"]}</div>{{{{/Hint}}}}{{{{/Answer}}}}\n'
        '<div class="ref">{{Ref}}</div>'
    )
    name = ANKI_NOTE_TYPE if lang == "zh" else f"{ANKI_NOTE_TYPE} ({lang})"
    return genanki.Model(
        stable_id("model", ANKI_NOTE_TYPE, lang),
        name,
        fields=[{"name": f} for f in ANKI_NOTE_FIELDS],
        templates=[{"name": "Card 1", "qfmt": front, "afmt": back}],
        css=CSS,
    )


@dataclass(frozen=True)
class Card:
    """One note's content as plain values (its HTML fields escaped), so it is tested without genanki. `identity`
    (bank, edition, question id) gives the note's GUID."""

    identity: tuple[str, str, str]
    deck: str
    subdeck: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]


def deck_name(bank: Bank) -> str:
    return (bank.title or bank.name).replace("::", ":")


def card_for(q: Question, deck: str, reference: str) -> Card:
    t = LABELS.get(q.lang, LABELS["en"])
    levels = (("frequency", q.frequency), ("difficulty", q.difficulty))
    info = " · ".join(f"{t[kind]} {t[value]}" for kind, value in levels if value)
    fields = (html.escape(q.text), html.escape(q.hint), text_to_html(reference), html.escape(q.section),
              html.escape(info), html.escape(f"{q.bank}:{q.id}"))  # fmt: skip
    tags = tuple(f"{'freq' if kind == 'frequency' else kind}::{value}" for kind, value in levels if value)
    return Card((q.bank, q.lang, q.ref), deck, f"{deck}::{q.section.replace('::', ':')}", fields, tags)


def cards(banks: list[Bank], home: Path | None) -> list[Card]:
    """Every question of the banks as a card, with its curated rubric's reference answer (in its edition)."""
    return [
        card_for(q, deck_name(b), rubric_for(q, home).reference_answer) for b in banks for q in b.questions
    ]


def write_package(banks: list[Bank], path: Path, home: Path | None) -> int:
    """Write the banks as one .apkg at `path` (0600, replaced whole); returns the number of notes."""
    import genanki

    models: dict[str, genanki.Model] = {}
    decks: dict[str, genanki.Deck] = {}
    for bank in banks:  # the bank's own deck, holding its sections' subdecks
        decks.setdefault(
            deck_name(bank), genanki.Deck(stable_id("deck", bank.name, bank.lang), deck_name(bank))
        )
    written = cards(banks, home)
    for card in written:
        bank, lang, _ = card.identity
        if card.subdeck not in decks:
            decks[card.subdeck] = genanki.Deck(stable_id("deck", bank, lang, card.subdeck), card.subdeck)
        model = models.setdefault(lang, _model(lang))
        guid = genanki.guid_for("interviewer", *card.identity)
        note = genanki.Note(model=model, fields=list(card.fields), tags=list(card.tags), guid=guid)
        decks[card.subdeck].add_note(note)
    package = genanki.Package(list(decks.values()))
    now = time.time()
    part = path.with_name(f".{path.name}.part")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "collection.anki2"
            conn = sqlite3.connect(db)
            try:  # what genanki's write_to_file does, without leaving its temporary database behind
                package.write_to_db(conn.cursor(), now, itertools.count(int(now * 1000)))
                conn.commit()
            finally:
                conn.close()
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
                z.write(db, "collection.anki2")
                z.writestr("media", "{}")
        os.replace(part, path)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise InterviewerError(f"{path}: cannot write ({exc.strerror}); choose another -o path") from None
    return len(written)
