"""Question identity across bank edits: which stored history a loaded question is (pure: data in, data out).

A question's `key` (see `bank`) is its `[id:…]`, or a fingerprint of its text. The store remembers every text
each identity has been asked with (`known`: ref → texts). Reconciling a bank against it:

1. a question whose own ref is known keeps it;
2. else one whose text (or its other edition's text) is a known text of another ref takes that ref: the text
   is unchanged but the identity was recorded otherwise, e.g. by position before identities were fingerprints;
3. else the most similar known ref of the same bank that no loaded question holds, when similar enough,
   one to one, best pairs first: the wording was touched up.

A question matched by 2 or 3 is reported, with what it was matched to, so `bank validate` can say so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from interviewer.content.bank import Question, normalise

SIMILAR = 0.6  # Dice similarity of character bigrams for reworded text to keep its history
MARGIN = 0.08  # and clearly more similar to that history than to any other


@dataclass(frozen=True)
class Rematch:
    question_id: str  # as shown
    ref: str  # the identity it now has (its history's)
    was: str  # the identity its text alone would give
    how: str  # "same text" | "reworded"
    similarity: float
    known_text: str


def bigrams(text: str) -> set[str]:
    t = normalise(text)
    return {t[i : i + 2] for i in range(len(t) - 1)} or {t}


def similarity(a: str, b: str) -> float:
    x, y = bigrams(a), bigrams(b)
    return 2 * len(x & y) / (len(x) + len(y)) if x and y else 0.0


def texts_of(q: Question) -> tuple[str, ...]:
    return (q.text, *q.editions)


def reconcile(
    questions: Iterable[Question], known: dict[str, list[str]]
) -> tuple[list[Question], list[Rematch]]:
    """The questions with the identities of their stored history, and what was matched other than by ref."""
    qs = list(questions)
    held = {q.ref for q in qs if q.ref in known}
    by_text: dict[str, list[str]] = {}
    for ref, texts in known.items():
        for t in texts:
            by_text.setdefault(normalise(t), []).append(ref)
    out: dict[int, Question] = {}
    matches: list[Rematch] = []
    for i, q in enumerate(qs):  # 1 and 2
        if q.ref in known:
            continue
        refs = {
            r
            for t in texts_of(q)
            for r in by_text.get(normalise(t), [])
            if r not in held and r.startswith(q.bank + ":")
        }
        if len(refs) == 1:
            (ref,) = refs
            held.add(ref)
            out[i] = _with_ref(q, ref)
            matches.append(Rematch(q.id, ref, q.ref, "same text", 1.0, q.text))
    free = [r for r in known if r not in held]
    pairs = []
    for i, q in enumerate(qs):  # 3
        if i in out or q.ref in known:
            continue
        mine = [r for r in free if r.startswith(q.bank + ":")]
        scored = sorted(
            ((max(similarity(t, k) for t in texts_of(q) for k in known[r]), r) for r in mine), reverse=True
        )
        if scored and scored[0][0] >= SIMILAR and (len(scored) == 1 or scored[0][0] - scored[1][0] >= MARGIN):
            pairs.append((scored[0][0], i, scored[0][1]))
    for score, i, ref in sorted(pairs, reverse=True):
        if i in out or ref in held:
            continue
        held.add(ref)
        out[i] = _with_ref(qs[i], ref)
        best = max(known[ref], key=lambda k: max(similarity(t, k) for t in texts_of(qs[i])))
        matches.append(Rematch(qs[i].id, ref, qs[i].ref, "reworded", round(score, 2), best))
    return [out.get(i, q) for i, q in enumerate(qs)], matches


def _with_ref(q: Question, ref: str) -> Question:
    return replace(q, key=ref[len(q.bank) + 1 :])
