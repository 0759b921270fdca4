"""Plain-text rendering: aligned tables (CJK-aware), unicode block bars, paragraphs reflowed and wrapped, and the
progress views. Pure: data in, text out."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, tzinfo
from typing import Any

BLOCKS = " ▏▎▍▌▋▊▉█"
MARKS = {"met": "✔", "partial": "◐", "missed": "✘"}
TREND_POINTS = 30
BAR_WIDTH = 30


def cell_width(text: str) -> int:
    """Columns the text takes in a terminal: wide (CJK) characters count two, combining marks none."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def clip(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    if cell_width(text) <= width:
        return text
    out, used = "", 0
    for ch in text:
        w = cell_width(ch)
        if used + w > width - 1:
            break
        out, used = out + ch, used + w
    return out.rstrip() + "…"


LIST_ITEM = re.compile(r"^([-*•·]|\d+[.)、]|[(（]\d+[)）])\s*")
# Closing punctuation stays at the end of the line before, as typeset text does.
NO_LINE_START = set("，。、；：！？）》」』】,.;:!?)]}%")


def reflow(text: str) -> str:
    """Hard-wrapped paragraphs joined back into one line each (no space between CJK characters, one between
    words); blank lines, list items and indented lines keep their own lines."""
    paragraphs = []
    for block in re.split(r"\n[ \t]*\n", text.strip("\n")):
        lines: list[str] = []
        for raw in block.splitlines():
            line, indented = raw.strip(), raw.startswith(("    ", "\t"))
            if not line:
                continue
            if indented:
                lines.append(raw.rstrip())
            elif lines and not LIST_ITEM.match(line) and not lines[-1].startswith(("    ", "\t")):
                before = lines[-1]
                glue = "" if cell_width(before[-1]) == 2 or cell_width(line[0]) == 2 else " "
                lines[-1] = before + glue + line
            else:
                lines.append(line)
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def _tokens(line: str) -> list[str]:
    """Words, single wide characters and single spaces: the places a line may break."""
    out, word = [], ""
    for ch in line:
        if ch.isspace() or cell_width(ch) == 2:
            if word:
                out.append(word)
                word = ""
            if not ch.isspace():
                out.append(ch)
            elif out and out[-1] != " ":
                out.append(" ")
        else:
            word += ch
    if word:
        out.append(word)
    return out


def wrap(text: str, width: int | None, indent: str = "") -> list[str]:
    """Each line of `text` indented and, with a `width`, broken to fit it in terminal columns (CJK-aware; closing
    punctuation never starts a line). A word longer than the line is left whole."""
    if not width:
        return [(indent + line).rstrip() for line in text.splitlines()] or [indent.rstrip()]
    room = max(20, width - cell_width(indent))
    out = []
    for line in text.splitlines() or [""]:
        current, used = "", 0
        for tok in _tokens(line):
            if tok == " ":
                if current:
                    current, used = current + " ", used + 1
                continue
            w = cell_width(tok)
            if used + w > room and current.strip() and tok not in NO_LINE_START:
                out.append(indent + current.rstrip())
                current, used = "", 0
            current, used = current + tok, used + w
        out.append((indent + current).rstrip())
    return out


def pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - cell_width(text))
    return gap + text if right else text + gap


def table(headers: list[str], rows: list[list[Any]], right: tuple[int, ...] = ()) -> list[str]:
    """Columns padded to their widest cell, two spaces apart; numbers in `right` columns right-aligned."""
    cells = [[str(c) for c in headers]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(cell_width(r[i]) for r in cells) for i in range(len(headers))]
    last = len(headers) - 1
    return [
        "  ".join(
            pad(c, widths[i], i in right) if i < last or i in right else c for i, c in enumerate(r)
        ).rstrip()
        for r in cells
    ]


def bar(value: float | None, full: float = 10.0, width: int = BAR_WIDTH) -> str:
    """A bar of eighth-blocks: `width` columns at `full`."""
    if not value or value <= 0:
        return ""
    eighths = round(min(value, full) / full * width * 8)
    return "█" * (eighths // 8) + (BLOCKS[eighths % 8] if eighths % 8 else "")


def score_colour(value: float) -> str:
    """Green from a pass (7), yellow from 4, red below: the same for every view."""
    return "32" if value >= 7 else "33" if value >= 4 else "31"


class Style:
    """ANSI colour only when enabled (a terminal and no NO_COLOR). The one colour class of every view."""

    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled and text else text

    def bold(self, t: str) -> str:
        return self(t, "1")

    def dim(self, t: str) -> str:
        return self(t, "2")

    def for_score(self, text: str, value: float | None) -> str:
        return text if value is None else self(text, score_colour(value))

    def score(self, value: float | None) -> str:
        if value is None:
            return self("ungraded", "33")
        return self(f"{value:.1f}/10", "1;" + score_colour(value))


def fmt_score(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def trend_chart(points: list[dict[str, Any]], paint: Style, limit: int = TREND_POINTS) -> list[str]:
    shown = points[-limit:]
    width = max((cell_width(p["label"]) for p in shown), default=0)
    lines = [f"(the last {len(shown)} of {len(points)})"] if len(points) > len(shown) else []
    for p in shown:
        avg = p["average"]
        b = paint.for_score(pad(bar(avg), BAR_WIDTH), avg)
        extra = f"  ({p['graded']}/{p['answers']} graded)" if p["graded"] != p["answers"] else ""
        lines.append(f"{pad(p['label'], width)}  {b}  {fmt_score(avg):>4}{extra}")
    return lines


def spent_line(spent: dict | None) -> list[str]:
    """What the model grades cost, as one line (none when no grade came from a model)."""
    if not spent or not spent.get("llm_grades"):
        return []
    cost = "price unknown" if spent.get("cost_usd") is None else f"${spent['cost_usd']:.4f}"
    return [
        f"Model grades: {spent['llm_grades']}, {spent['prompt_tokens']:,} prompt + "
        f"{spent['completion_tokens']:,} completion tokens, {cost}"
    ]


def render_stats(st: dict[str, Any], paint: Style, since_label: str | None = None) -> str:
    where = f" since {since_label or st['since']}" if st["since"] else ""
    if not st["answers"]:
        return f"{st['sessions']} session(s){where} and no answers yet; start with: interviewer start\n"
    head = paint("Progress", "1") + where
    avg = paint.for_score(f"{fmt_score(st['average'])}/10", st["average"])
    out = [
        f"{head}: {st['sessions']} session(s), {st['answers']} answer(s) "
        f"({st['graded']} graded, {st['ungraded']} ungraded"
        + (f", {st['skipped']} skipped as 0" if st.get("skipped") else "")
        + f"), average {avg}",
        *spent_line(st.get("spent")),
        "",
        paint("By section", "1"),
        *table(
            ["section", "answers", "graded", "average"],
            [[r["section"], r["answers"], r["graded"], fmt_score(r["average"])] for r in st["by_section"]],
            right=(1, 2, 3),
        ),
        "",
        paint("By difficulty", "1"),
        *table(
            ["difficulty", "answers", "graded", "average"],
            [
                [r["difficulty"] or "-", r["answers"], r["graded"], fmt_score(r["average"])]
                for r in st["by_difficulty"]
            ],
            right=(1, 2, 3),
        ),
        "",
        paint(f"Trend (average per {st['trend_by']}, oldest first)", "1"),
        *trend_chart(st["trend"], paint),
    ]
    if st["weakest_criteria"]:
        out += ["", paint("Weakest criteria", "1")]
        out += table(
            ["criterion", "average", "count", "questions"],
            [[clip(r["name"], 40), fmt_score(r["average"]), r["count"], clip(", ".join(r.get("questions") or []), 24)]
             for r in st["weakest_criteria"]],
            right=(1, 2),
        )  # fmt: skip
    if st["to_review"]:
        out += ["", paint("To review (latest graded attempt, lowest first)", "1")]
        out += table(
            ["id", "score", "tries", "question"],
            [
                [r["ref"], fmt_score(r["score"]), r["attempts"], clip(r["text"] or "", 60)]
                for r in st["to_review"]
            ],
            right=(1, 2),
        )
        out.append("See one question's attempts with: interviewer history ID")
    return "\n".join(out) + "\n"


def local_time(ts: str, tz: tzinfo | None = None) -> str:
    """A stored UTC timestamp as `YYYY-MM-DD HH:MM` on the local clock (or `tz`)."""
    return datetime.fromisoformat(ts).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def verdicts_short(criteria: list[dict[str, Any]], width: int = 12) -> str:
    return " ".join(
        f"{MARKS.get(c.get('verdict'), '?')}{clip(c.get('name') or c.get('id') or '', width)}"
        for c in criteria
    )


def render_history(h: dict[str, Any], paint: Style) -> str:
    out = [paint(f"[{h['ref']}] {h['text'] or ''}", "1")]
    if not h["attempts"]:
        return "\n".join([*out, "No attempts yet."]) + "\n"
    rows = []
    for a in h["attempts"]:
        score = fmt_score(a["score"]) if a["status"] == "graded" else "ungraded"
        grader = a["grader"]["kind"] or "-"
        if a["grader"]["model"]:
            grader += f" ({a['grader']['model']})"
        session = a["session_id"] + (f" (try {a['attempt']})" if a.get("attempt", 1) > 1 else "")
        rows.append([local_time(a["answered_at"]), session, score, grader, verdicts_short(a["criteria"])])
    out += table(["date", "session", "score", "grader", "criteria"], rows, right=(2,))
    out.append(
        f"{len(h['attempts'])} attempt(s); best {fmt_score(h['best'])}, latest {fmt_score(h['latest'])}"
    )
    return "\n".join(out) + "\n"
