"""A session's transcript for the terminal (`interviewer show`): plain text, wrapped to the terminal, no markup.

Also what every transcript shows after a grade (`worked_answers`), so the terminal, Markdown and HTML say the same.
Pure: the session dict (`export.session_dict`) in, text out.
"""

from __future__ import annotations

from typing import Any

from interviewer.textview import MARKS, Style, cell_width, fmt_score, local_time, reflow, table, wrap

GUTTER = (
    "│ "  # before every line of the candidate's words and of a raw prompt or reply: nothing inside can pass
)
# for the transcript's own lines
INDENT = "   "


def worked_answers(grade: dict[str, Any] | None, reference: str | None) -> list[tuple[str, str]]:
    """(label, text) of the answers to compare with one's own: the rubric's curated reference answer, and the
    grader's stronger answer when it wrote its own (an LLM's, or the offline grader's outline of the key points
    when there is no reference); both reflowed."""
    out = []
    reference = reflow(reference or "")
    if reference:
        out.append(("Reference answer", reference))
    better = reflow((grade or {}).get("better_answer") or "")
    if better and "".join(better.split()) != "".join(reference.split()):
        info = (grade or {}).get("grader") or {}
        if info.get("kind") == "llm":
            label = "The grader's stronger answer" + (f" ({info['model']})" if info.get("model") else "")
        else:
            label = "A stronger answer would cover"
        out.append((label, better))
    return out


SUGGESTED_FOLLOW_UP = "Suggested next follow-up (not asked)"


def grader_line(g: dict[str, Any]) -> str:
    info = g.get("grader") or {}
    parts = [f"grader: {info.get('kind') or '-'}"]
    if info.get("model"):
        parts.append(
            info["model"] + (f" (deployment {info['deployment']})" if info.get("deployment") else "")
        )
    parts += [f"prompt {info.get('prompt_version') or '-'}", f"rubric {info.get('rubric_version') or '-'}"]
    if info.get("latency_ms") is not None:
        parts.append(f"{info['latency_ms']:g} ms")
    if info.get("prompt_tokens"):
        parts.append(f"{info['prompt_tokens']}+{info.get('completion_tokens') or 0} tokens")
    if info.get("cost_usd"):
        parts.append(f"${info['cost_usd']}")
    return " · ".join(parts)


def _quoted(text: str, width: int | None, indent: str, paint: Style) -> list[str]:
    """The candidate's own words behind the gutter, each line as typed; only a line too long for the terminal is
    wrapped."""
    if not text.strip():
        return [indent + paint.dim("(no answer)")]
    room = width - cell_width(indent + GUTTER) if width else None
    lines = []
    for line in text.rstrip().splitlines():
        lines += wrap(line, room) if room and cell_width(line) > room else [line.rstrip()]
    return [indent + paint.dim(GUTTER) + line for line in lines]


def _section(label: str, text: str, width: int | None, paint: Style) -> list[str]:
    return [INDENT + paint.bold(label + ":"), *wrap(text, width, INDENT + "  ")]


def _grade_lines(g: dict[str, Any] | None, width: int | None, paint: Style) -> list[str]:
    if g is None:
        return [INDENT + paint("Not graded yet.", "33")]
    if g.get("status") != "graded":
        return [INDENT + paint.bold("Ungraded") + f": {g.get('error') or '-'}"]
    flags = f"  [{', '.join(g['flags'])}]" if g.get("flags") else ""
    skipped = "empty" in (g.get("flags") or [])
    label = "Skipped (counts as 0): " if skipped else "Score: "
    out = [INDENT + label + paint.score(g.get("score")) + flags]
    if g.get("cap"):
        out += wrap(str(g["cap"]), width, INDENT)
    for c in [] if skipped else g.get("criteria") or []:
        head = f"{MARKS.get(c.get('verdict'), '?')} {c.get('name')} ({c.get('score', 0):.1f}/{c.get('max_score', 10):g}"
        head += f", weight {c.get('weight', 1):g})"
        said = [f"“{c['evidence']}”"] if c.get("evidence") else []
        said += [c["comment"]] if c.get("comment") else []
        text = head + (" — " + " — ".join(said) if said else "")
        out += wrap(" ".join(text.split()), width, INDENT + "  ")
    if g.get("feedback"):
        out += _section("Feedback", reflow(g["feedback"]), width, paint)
    return out


def render_transcript(
    session: dict[str, Any], paint: Style, width: int | None = None, details: bool = False
) -> str:
    """The whole session as the terminal shows it; `width` wraps the text to fit (None: one line a paragraph)."""
    s = session
    summary = s["summary"]
    settings = s.get("settings") or {}
    grader = settings.get("grader_kind") or "-"
    if settings.get("model"):
        grader += f" ({settings['model']})"
    when = f"Started {local_time(s['started_at'])}"
    if s.get("finished_at"):
        when += f" · finished {local_time(s['finished_at'])}"
    total = paint.score(summary["score"]) if summary["score"] is not None else paint("ungraded", "33")
    out = [
        paint.bold(f"Interview {s['id']}"),
        paint.dim(f"{when} · {s['mode']} · {s['status']} · grader {grader}"),
        f"Score: {total} over {summary['graded']} graded of {summary['answered']} answered ({s['planned']} planned)"
        + (f"; {summary['skipped']} skipped, counted as 0" if summary.get("skipped") else ""),
    ]
    if summary["by_section"]:
        rows = [[name, fmt_score(v)] for name, v in summary["by_section"].items()]
        out += ["", *("  " + line for line in table(["section", "score"], rows, right=(1,)))]
    for t in s["turns"]:
        out += ["", *_turn_lines(t, width, paint)]
    text = "\n".join(out) + "\n"
    return text + render_details(session, paint, width) if details else text


def _turn_lines(t: dict[str, Any], width: int | None, paint: Style) -> list[str]:
    q = t["question"]
    head = wrap(f"{t['index']}. [{q['id']}] {q['text']}", width)
    out = [paint.bold(line) for line in head]
    meta = [q.get("section") or "-", q.get("difficulty") or "-", f"frequency {q.get('frequency') or '-'}"]
    if t.get("duration_s") is not None:
        meta.append(f"{t['duration_s']:.0f} s")
    if t.get("hint_used"):
        meta.append("hint used")
    if t.get("answered_at"):
        meta.append(local_time(t["answered_at"]))
    out += [INDENT + paint.dim(" · ".join(meta)), "", INDENT + paint.bold("Answer:")]
    out += _quoted(t.get("answer") or "", width, INDENT, paint)
    for f in t.get("follow_ups") or []:
        out += wrap(f"Follow-up asked: {f['question']}", width, INDENT)
        out += _quoted(f.get("answer") or "", width, INDENT, paint)
    if t.get("earlier_attempts"):
        tries = ", ".join(
            f"#{e['attempt']} " + (f"{e['score']:.1f}" if e.get("score") is not None else "ungraded")
            for e in t["earlier_attempts"]
        )
        out.append(INDENT + paint.dim(f"Earlier attempts: {tries}"))
    if t.get("practice_attempts"):
        tries = ", ".join(
            f"#{e['attempt']} " + (f"{e['score']:.1f}" if e.get("score") is not None else "ungraded")
            for e in t["practice_attempts"]
        )
        out.append(INDENT + paint.dim(f"Practised after the reference answer (not counted): {tries}"))
    g = t.get("grade")
    out += ["", *_grade_lines(g, width, paint)]
    for label, text in worked_answers(g, t.get("reference_answer")):
        out += _section(label, text, width, paint)
    if g and g.get("status") == "graded" and g.get("follow_up"):
        out += wrap(f"{SUGGESTED_FOLLOW_UP}: {g['follow_up']}", width, INDENT)
    if g:
        out.append(INDENT + paint.dim(grader_line(g)))
    return out


def render_details(session: dict[str, Any], paint: Style, width: int | None = None) -> str:
    """Per turn, the prompt and the raw reply behind the grade shown (its `provenance`), each line behind the
    gutter exactly as sent and received (never wrapped)."""
    out = ["", paint.bold("Grading details")]
    for t in session["turns"]:
        g = t["grade"] or {}
        head = f"{t['index']}. [{t['question']['id']}]"
        prov = g.get("provenance")
        if not prov:
            why = "not graded yet" if not g else f"{(g.get('grader') or {}).get('kind', '?')} grade"
            out += ["", f"{head} {why}: no prompt or reply kept"]
            continue
        info = g.get("grader") or {}
        out += [
            "",
            paint.bold(
                f"{head} {info.get('model') or '-'} · prompt {info.get('prompt_version') or '-'}"
                f" · mode {prov.get('mode') or '-'} · {g['status']}"
            ),
        ]
        for m in prov.get("messages") or []:
            out += [INDENT + paint.bold(f"{m['role'].capitalize()} prompt:"), *_raw(m["content"], paint)]
        reply = prov.get("reply")
        out += [INDENT + paint.bold("Raw reply:")]
        out += _raw(reply, paint) if reply is not None else [INDENT + paint.dim("(no reply)")]
    return "\n".join(out) + "\n"


def _raw(text: str, paint: Style) -> list[str]:
    return [INDENT + paint.dim(GUTTER) + line for line in text.split("\n")]
