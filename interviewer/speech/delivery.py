"""Delivery signals of a spoken answer — speaking time, pace, long pauses, filler words — computed from its
transcript, its length and (when the transcription gives them) its timed segments. Pure functions; shown beside
the content grade, never part of it."""

from __future__ import annotations

import re
from typing import Any

LONG_PAUSE_S = 2.0  # a silence between two segments at least this long is a long pause
FILLERS_ZH = ("嗯", "呃", "那个", "就是")
FILLERS_EN = ("um", "uh", "like")

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")


def count_units(text: str) -> tuple[int, str]:
    """How much was said: Latin-script words plus CJK characters, and which of the two it mostly is."""
    cjk = len(_CJK.findall(text))
    words = len(_WORD.findall(_CJK.sub(" ", text)))
    return words + cjk, ("chars" if cjk > words else "words")


def count_fillers(text: str) -> dict[str, int]:
    """Filler words in the transcript: Chinese ones as substrings, English ones as whole words."""
    out: dict[str, int] = {}
    for f in FILLERS_ZH:
        n = text.count(f)
        if n:
            out[f] = n
    lower = text.lower()
    for f in FILLERS_EN:
        n = len(re.findall(rf"(?<![a-z']){f}(?![a-z'])", lower))
        if n:
            out[f] = n
    return out


def long_pauses(segments: list[tuple[float, float]] | None, threshold: float = LONG_PAUSE_S) -> list[float]:
    """The silences between consecutive timed segments that last at least `threshold` seconds."""
    out = []
    ordered = sorted((float(a), float(b)) for a, b in segments or [])
    for (_, end), (start, _) in zip(ordered, ordered[1:], strict=False):
        if start - end >= threshold:
            out.append(round(start - end, 1))
    return out


def per_minute(count: int, seconds: float | None) -> float | None:
    return round(count * 60.0 / seconds, 1) if seconds else None


def delivery_signals(
    text: str, duration_s: float | None, segments: list[tuple[float, float]] | None = None
) -> dict[str, Any]:
    """The signals of one spoken answer. Rates are None when its length is unknown; pauses are None when the
    transcription gave no timed segments."""
    units, unit = count_units(text)
    fillers = count_fillers(text)
    pauses = long_pauses(segments) if segments else None
    duration = round(float(duration_s), 1) if duration_s else None
    return {
        "speaking_time_s": duration,
        unit: units,
        "unit": unit,
        "per_minute": per_minute(units, duration),
        "long_pauses": None if pauses is None else len(pauses),
        "longest_pause_s": max(pauses) if pauses else None,
        "fillers": fillers,
        "fillers_per_minute": per_minute(sum(fillers.values()), duration),
    }


def format_delivery(d: dict[str, Any] | None) -> str | None:
    """One line for the terminal and the transcripts, e.g. `Delivery: 42 s · 128 words/min · 1 long pause (3.1 s)
    · fillers 2.9/min (um 2)`."""
    if not d:
        return None
    parts = []
    if d.get("speaking_time_s") is not None:
        parts.append(f"{d['speaking_time_s']:g} s")
    unit = d.get("unit") or "words"
    if d.get("per_minute") is not None:
        parts.append(f"{d['per_minute']:g} {unit}/min")
    else:
        parts.append(f"{d.get(unit, 0)} {unit}")
    if d.get("long_pauses") is not None:
        n = d["long_pauses"]
        parts.append(
            f"{n} long pause{'' if n == 1 else 's'}"
            + (f" (longest {d['longest_pause_s']:g} s)" if d.get("longest_pause_s") else "")
        )
    fillers = d.get("fillers") or {}
    listed = ", ".join(f"{k} {v}" for k, v in fillers.items())
    if d.get("fillers_per_minute") is not None:
        parts.append(f"fillers {d['fillers_per_minute']:g}/min" + (f" ({listed})" if listed else ""))
    else:
        parts.append(f"fillers: {listed or 'none'}")
    return "Delivery: " + " · ".join(parts)
