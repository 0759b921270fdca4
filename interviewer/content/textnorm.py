"""Text normalisation and matching shared by rubric derivation and the offline grader. Pure functions."""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

HAN = r"\u3400-\u9fff"
SENTENCE_SPLIT = re.compile(r"(?<=[。！？!?；;\n])|(?<=[.])\s+")
CLAUSE_SPLIT = re.compile(r"[，,、：:（）()\s]+")
WORD_RE = re.compile(r"[a-z0-9][a-z0-9_\-+.]*[a-z0-9+]|[a-z0-9]")
HAN_RUN = re.compile(f"[{HAN}]+")
COMPACT_DROP = re.compile(r"[\s\-_·•*`'\"“”‘’]+")

EN_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "and",
        "or",
        "but",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "with",
        "as",
        "by",
        "at",
        "from",
        "into",
        "than",
        "then",
        "so",
        "such",
        "can",
        "could",
        "will",
        "would",
        "should",
        "may",
        "might",
        "must",
        "do",
        "does",
        "did",
        "done",
        "not",
        "no",
        "yes",
        "we",
        "you",
        "they",
        "he",
        "she",
        "i",
        "me",
        "my",
        "our",
        "your",
        "their",
        "them",
        "his",
        "her",
        "which",
        "who",
        "whom",
        "what",
        "when",
        "where",
        "why",
        "how",
        "also",
        "very",
        "more",
        "most",
        "some",
        "any",
        "each",
        "other",
        "all",
        "both",
        "only",
        "just",
        "about",
        "over",
        "under",
        "between",
        "while",
        "if",
        "else",
        "there",
        "here",
        "have",
        "has",
        "had",
        "having",
        "use",
        "used",
        "using",
        "one",
        "two",
    ]
)
HAN_STOP = frozenset("的了是在和与及或也就都而且并把被对从以为之其这那有个们中上下")


def fold(text: str) -> str:
    """NFKC (full-width → half-width), lower case, one space between words."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def compact(text: str) -> str:
    """Folded text without spaces, hyphens and quotes: `Dot-Product` → `dotproduct`."""
    return COMPACT_DROP.sub("", fold(text))


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_SPLIT.split(text) if s and s.strip()]


_stemmers = threading.local()


def _english_stemmer():
    """One Snowball stemmer per thread: a stemmer object keeps state between calls and is not thread-safe."""
    s = getattr(_stemmers, "english", None)
    if s is None:
        import snowballstemmer  # small, but only text matching needs it

        s = _stemmers.english = snowballstemmer.stemmer("english")
    return s


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball (Porter 2) stem of an English word: `saturation`, `saturated` → `satur`; `training` → `train`."""
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    return _english_stemmer().stemWord(word)


def content_tokens(text: str) -> list[str]:
    """Content-bearing tokens: stemmed English words without stop words, and Chinese character bigrams."""
    f = fold(text)
    tokens = [stem(w) for w in WORD_RE.findall(f) if w not in EN_STOP and not (len(w) == 1 and w.isalpha())]
    for run in HAN_RUN.findall(f):
        chars = [c for c in run if c not in HAN_STOP] if len(run) > 2 else list(run)
        if len(chars) == 1:
            tokens.append(chars[0])
        tokens.extend(chars[i] + chars[i + 1] for i in range(len(chars) - 1))
    return tokens


def visible_length(text: str) -> int:
    """Length in 'words': a Chinese character counts one, an English word counts two (about the same content)."""
    f = fold(text)
    return sum(len(r) for r in HAN_RUN.findall(f)) + 2 * len(WORD_RE.findall(f))
