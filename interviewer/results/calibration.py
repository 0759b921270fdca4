"""Calibration: how well a grader agrees with human scores. Pure statistics over (human, grader, length) triples."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from interviewer.content.textnorm import visible_length
from interviewer.grading.batch import grade_batch

MIDDLE_BAND = (3.0, 7.0)


@dataclass
class Example:
    human: float
    grader: float | None  # None: the grader could not grade it
    length: int
    label: str = ""  # question id and a short answer excerpt
    level: str = ""


def ranks(xs: list[float]) -> list[float]:
    """Average ranks (ties share the mean rank)."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    out = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def pearson(a: list[float], b: list[float]) -> float | None:
    n = len(a)
    if n < 2:
        return None
    ma, mb = sum(a) / n, sum(b) / n
    va = sum((x - ma) ** 2 for x in a)
    vb = sum((y - mb) ** 2 for y in b)
    if va == 0 or vb == 0:
        return None
    return sum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True)) / math.sqrt(va * vb)


def spearman(a: list[float], b: list[float]) -> float | None:
    return pearson(ranks(a), ranks(b))


def quadratic_weighted_kappa(a: list[float], b: list[float], low: int = 0, high: int = 10) -> float | None:
    """Cohen's kappa with quadratic weights on scores rounded to integers."""
    ra = [min(high, max(low, round(x))) for x in a]
    rb = [min(high, max(low, round(x))) for x in b]
    k = high - low + 1
    n = len(ra)
    if n == 0:
        return None
    observed = [[0.0] * k for _ in range(k)]
    for x, y in zip(ra, rb, strict=True):
        observed[x - low][y - low] += 1
    hist_a = [sum(row) for row in observed]
    hist_b = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    num = den = 0.0
    for i in range(k):
        for j in range(k):
            w = (i - j) ** 2 / (k - 1) ** 2
            expected = hist_a[i] * hist_b[j] / n
            num += w * observed[i][j]
            den += w * expected
    return None if den == 0 else 1 - num / den


def _agreement(pairs: list[tuple[float, float]]) -> dict[str, Any]:
    if not pairs:
        return {"n": 0}
    h = [p[0] for p in pairs]
    g = [p[1] for p in pairs]
    diffs = [y - x for x, y in pairs]
    r = lambda v: None if v is None else round(v, 3)  # noqa: E731
    return {
        "n": len(pairs),
        "spearman": r(spearman(h, g)),
        "pearson": r(pearson(h, g)),
        "qwk": r(quadratic_weighted_kappa(h, g)),
        "mae": round(sum(abs(d) for d in diffs) / len(diffs), 3),
        "bias": round(sum(diffs) / len(diffs), 3),
        "within_1": round(sum(abs(d) <= 1 for d in diffs) / len(diffs), 3),
        "within_2": round(sum(abs(d) <= 2 for d in diffs) / len(diffs), 3),
    }


def length_bias(examples: list[Example]) -> dict[str, Any]:
    """At equal human score (same rounded score), does the grader's error grow with answer length?

    Spearman correlation between length and (grader − human), computed within each human-score group and averaged
    weighted by group size. Near 0 means no length bias; clearly positive means longer answers are over-scored.
    """
    groups: dict[int, list[Example]] = {}
    for e in examples:
        groups.setdefault(round(e.human), []).append(e)
    total, weighted = 0, 0.0
    for items in groups.values():
        if len(items) < 3:
            continue
        rho = spearman([float(e.length) for e in items], [e.grader - e.human for e in items])
        if rho is None:
            continue
        weighted += rho * len(items)
        total += len(items)
    value = round(weighted / total, 3) if total else None
    verdict = (
        "n/a" if value is None else "longer answers over-scored" if value > 0.3 else "no clear length bias"
    )
    return {"spearman_length_vs_error": value, "n": total, "verdict": verdict}


def report(examples: list[Example], worst: int = 10) -> dict[str, Any]:
    graded = [e for e in examples if e.grader is not None]
    pairs = [(e.human, e.grader) for e in graded]
    middle = [(h, g) for h, g in pairs if MIDDLE_BAND[0] <= h <= MIDDLE_BAND[1]]
    worst_items = sorted(graded, key=lambda e: -abs(e.grader - e.human))[:worst]
    by_level: dict[str, list[tuple[float, float]]] = {}
    for e in graded:
        if e.level:
            by_level.setdefault(e.level, []).append((e.human, e.grader))
    return {
        "n": len(examples),
        "ungraded": len(examples) - len(graded),
        "overall": _agreement(pairs),
        "middle_band": _agreement(middle),
        "length_bias": length_bias(graded),
        "by_level": {
            level: {
                "n": len(v),
                "human_mean": round(sum(h for h, _ in v) / len(v), 2),
                "grader_mean": round(sum(g for _, g in v) / len(v), 2),
            }
            for level, v in sorted(by_level.items())
        },
        "worst": [
            {
                "label": e.label,
                "level": e.level,
                "human": e.human,
                "grader": e.grader,
                "diff": round(e.grader - e.human, 1),
            }
            for e in worst_items
        ],
    }


def calibrate(examples, grader, concurrency: int = 8, worst: int = 10, progress=None) -> dict[str, Any]:
    """Grade graded examples (`grading.batch.read_calibration`) with `grader` and measure it against the people;
    `progress` is told of each grade (see `grade_batch`)."""
    results = grade_batch([item for item, _, _ in examples], grader, concurrency, progress)
    rows = [
        Example(
            human=human,
            grader=g["score"] if g["status"] == "graded" else None,
            length=visible_length(item.answer),
            label=f"{item.question_id}: {' '.join(item.answer.split())[:60]}",
            level=level,
        )
        for (item, human, level), g in zip(examples, results, strict=True)
    ]
    return report(rows, worst)
