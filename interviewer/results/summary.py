"""Score arithmetic over a session's turns. Pure."""

from __future__ import annotations

from typing import Any

from interviewer.grading.models import MAX_SCORE


def summarize(turns: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean score over graded turns, overall and by section; ungraded turns are counted, never scored 0; a skip
    (no answer) scores 0 and is counted as skipped, overall and in its section. `turns` are the ones that count
    (`Store.turns`: one a question)."""
    graded = [t for t in turns if t.get("grade") and t["grade"].get("status") == "graded"]
    by_section: dict[str, list[float]] = {}
    for t in graded:
        by_section.setdefault(t["question"]["section"], []).append(t["grade"]["score"])
    skipped: dict[str, int] = {}
    for t in turns:
        if is_skip(t):
            skipped[t["question"]["section"]] = skipped.get(t["question"]["section"], 0) + 1

    def mean(xs):
        return round(sum(xs) / len(xs), 1) if xs else None

    return {
        "score": mean([t["grade"]["score"] for t in graded]),
        "max_score": MAX_SCORE,
        "answered": len(turns),
        "graded": len(graded),
        "ungraded": len(turns) - len(graded),
        "skipped": sum(skipped.values()),
        "by_section": {s: mean(v) for s, v in by_section.items()},
        "skipped_by_section": skipped,
    }


def is_skip(turn: dict[str, Any]) -> bool:
    """A turn with no answer (`:skip`, or nothing typed)."""
    if "skipped" in turn:
        return bool(turn["skipped"])
    return not (turn.get("answer") or "").strip()
