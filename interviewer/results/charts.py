"""Geometry for the inline SVG charts of the HTML pages. Pure: values in, coordinates out; templates draw them."""

from __future__ import annotations

import math
from typing import Any

from interviewer.grading.models import MAX_SCORE
from interviewer.textview import clip

FULL = MAX_SCORE


def level(value: float | None) -> str:
    """A CSS class for a score: hi (≥7), mid (≥4), lo, or none (ungraded)."""
    if value is None:
        return "none"
    return "hi" if value >= 7 else "mid" if value >= 4 else "lo"


def hbars(
    items: list[tuple[str, float | None]], width: int = 640, label_w: int = 230, row: int = 28
) -> dict[str, Any]:
    """Horizontal bars on a 0–10 scale, one row per (label, value); a None value has no bar."""
    value_w = 46
    plot_w = width - label_w - value_w
    bars = []
    for i, (label, value) in enumerate(items):
        y = 10 + i * row
        w = 0.0 if value is None else round(max(0.0, min(value, FULL)) / FULL * plot_w, 1)
        bars.append(
            {"label": label, "short": clip(label, 30), "value": value, "level": level(value),
             "x": label_w, "y": y, "w": w, "h": row - 10, "ty": y + (row - 10) / 2 + 5}
        )  # fmt: skip
    height = 20 + len(items) * row
    grid = [{"x": round(label_w + plot_w * v / FULL, 1), "v": v} for v in (0, 5, 10)]
    return {"width": width, "height": height, "label_w": label_w, "bars": bars, "grid": grid}


def vbars(points: list[tuple[str, str, float | None]], width: int = 640, height: int = 220) -> dict[str, Any]:
    """Vertical bars on 0–10 with a line through their tops, one per (label, full label, value), oldest first."""
    left, right, top, bottom = 34, 10, 12, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(points), 1)
    slot = plot_w / n
    bw = round(min(40.0, slot * 0.7), 1)
    every = math.ceil(n / 10)
    bars, line = [], []
    for i, (label, full_label, value) in enumerate(points):
        cx = round(left + slot * (i + 0.5), 1)
        h = 0.0 if value is None else round(max(0.0, min(value, FULL)) / FULL * plot_h, 1)
        y = round(top + plot_h - h, 1)
        bars.append(
            {"label": label if i % every == 0 or i == n - 1 else "", "title": full_label, "value": value,
             "level": level(value), "x": round(cx - bw / 2, 1), "y": y, "w": bw, "h": h, "cx": cx}
        )  # fmt: skip
        if value is not None:
            line.append(f"{cx},{y}")
    grid = [{"y": round(top + plot_h - plot_h * v / FULL, 1), "v": v} for v in (0, 5, 10)]
    return {
        "width": width, "height": height, "left": left, "right": width - right, "base": top + plot_h,
        "label_y": height - 12, "bars": bars, "line": " ".join(line) if len(line) > 1 else "", "grid": grid,
    }  # fmt: skip
