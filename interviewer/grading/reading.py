"""How the offline grader reads an answer: sentences and clauses, each clause with its mentions of key points
and the candidate's own words around them, and which clauses only list terms. Pure: text and the rubric's terms
in, the reading out.

A clause that names points and says nothing else (rubric terms, explain words, glue) is *bare*. Bare clauses in a
run, a sentence of nothing but terms, one frame repeated around different terms, a clause naming three or more
points with little else, or the question said back are *in a list*: their mentions name points and state none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from interviewer.content.textnorm import content_tokens, fold, sentences, visible_length
from interviewer.grading.mentions import (
    GLUE,
    Mention,
    find_mentions,
    own_tokens,
    own_weight,
    residual,
    whole_words,
)
from interviewer.grading.signals import function_word_ratio, has_reason, looks_like_keyword_list

CLAUSE_SPLIT = re.compile(r"[，,;；：]+|(?<!\d):(?!\d)|(?<=[^\s])\s+-\s+")


@dataclass
class Clause:
    text: str
    sentence: int  # index of its sentence
    folded: str
    mentions: list[Mention]
    own: list[str]  # the candidate's own content tokens, first use in the answer only
    points: int  # distinct points affirmed in it
    substantive: bool = False  # it has words of the candidate's own, not only rubric terms and glue
    frame: tuple[str, ...] = ()  # its words around the terms, before de-duplication
    in_list: bool = False  # its mentions name points and state none (see the module's docstring)

    @property
    def bare(self) -> bool:
        """It names points and says nothing else (rubric terms, explain words and glue only)."""
        return bool(self.mentions) and not self.substantive

    @property
    def share(self) -> float:
        """What the clause says per point it names."""
        return own_weight(self.own) / max(1, self.points)


@dataclass
class Sentence:
    text: str
    folded: str
    own: set[str]
    reason: bool


def read_answer(
    text: str, aliases: list[list[str]], explain: list[list[str]], echo: set[str]
) -> tuple[list[Sentence], list[Clause]]:
    """The answer as sentences and clauses, each clause with its mentions and its own words.

    A clause with no function words at all (`点积softmax加权求和`, `dot product softmax variance`) is a run of terms,
    not a statement: it has no own words whatever it contains."""
    terms = aliases + explain  # explain words are the rubric's, not the candidate's
    seen: set[str] = set()
    sents, clauses = [], []
    for si, sent in enumerate(sentences(text) or [text]):
        sent_own: set[str] = set()
        for part in CLAUSE_SPLIT.split(sent):
            folded = fold(part)
            if not folded.strip():
                continue
            found = find_mentions(folded, terms)
            mentions = [m for m in found if m.point < len(aliases)]
            rest = residual(folded, mentions)
            loose = whole_words(folded, find_mentions(folded, terms, relaxed=True))
            strict = own_tokens(residual(folded, loose + found), echo)
            own = []
            if visible_length(part) <= 6 or function_word_ratio(rest) > 0 or not mentions:
                for t in own_tokens(rest, echo):
                    if t not in seen:
                        seen.add(t)
                        own.append(t)
            affirmed = {m.point for m in mentions if not m.negated}
            clause = Clause(
                part.strip(),
                si,
                folded,
                mentions,
                own,
                len(affirmed),
                substantive=substantive(strict),
                frame=tuple(t for t in strict if "@" not in t),
            )
            words = [t for t in content_tokens(folded) if t not in GLUE]
            if words and sum(t in echo for t in words) >= 0.6 * len(words):
                clause.in_list = True  # the question or hint said back: its terms are the interviewer's
            clauses.append(clause)
            sent_own.update(own)
        sents.append(Sentence(sent.strip(), fold(sent), sent_own, has_reason(sent)))
    mark_lists(clauses)
    return sents, clauses


def substantive(own: list[str]) -> bool:
    """Own words, or a formula (three symbols or more, of two kinds at least): a `/` or `+` between terms says
    nothing, however often it comes."""
    symbols = [t.split("@")[0] for t in own if "@" in t]
    words = [t for t in own if "@" not in t and not t.isdigit()]
    return bool(words) or (len(symbols) >= 3 and len(set(symbols)) >= 2)


def mark_lists(clauses: list[Clause]) -> None:
    """Terms listed, whatever the separator: three or more bare clauses in a row (nothing but terms and glue), a
    sentence of nothing but terms, or one clause that names three or more points with little else. Their mentions
    name points; they state none."""
    run: list[Clause] = []
    for c in [*clauses, None]:
        if c is not None and not c.mentions and not c.own:
            continue  # filler between terms ("这个很关键") does not break a list
        if c is not None and c.bare:
            run.append(c)
            continue
        if len(run) >= 3:
            for r in run:
                r.in_list = True
        run = []
    frames: dict[tuple[str, ...], list[Clause]] = {}
    for c in clauses:
        if c.mentions and c.frame:
            frames.setdefault(c.frame, []).append(c)
    for same in frames.values():
        if len(same) >= 3:  # one frame around different terms ("- 这里会用到 X 来处理") is a list
            for c in same:
                c.in_list = True
    said = {c.sentence for c in clauses if c.substantive}
    for c in clauses:
        if c.points >= 3 and c.share < 1.5:
            c.in_list = True
        if c.bare and c.sentence not in said:
            c.in_list = True  # a sentence of bare terms ("双向对齐。") states nothing


def is_list(text: str, clauses: list[Clause], echo: set[str]) -> bool:
    """Terms without a statement: listed or run together, or several words with no function word at all."""
    if not text.strip():
        return False
    bare_words = visible_length(text) >= 8 and function_word_ratio(text) == 0
    return bare_words or looks_like_keyword_list(text) or runs_of_terms(clauses, echo)


def runs_of_terms(clauses: list[Clause], echo: set[str]) -> bool:
    """Terms one after another with nothing said between them — run together, glued with 的/和/因为…所以, or
    separated by spaces, slashes or 、 — whatever the separator: most gaps between mentions are empty."""
    gaps = empty = 0
    for c in clauses:
        ms = c.mentions
        for a, b in zip(ms, ms[1:], strict=False):
            gaps += 1
            empty += not own_tokens(c.folded[a.end : b.start], echo)
    between = [c for c in clauses if c.mentions]
    for a, b in zip(between, between[1:], strict=False):  # across clause breaks too: `点积，softmax，方差`
        gaps += 1
        tail = own_tokens(a.folded[a.mentions[-1].end :], echo)
        head = own_tokens(b.folded[: b.mentions[0].start], echo)
        empty += not tail and not head
    return gaps >= 3 and empty / gaps >= 0.7
