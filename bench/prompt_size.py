"""6. The grading prompt's size in tokens (tiktoken cl100k_base, offline) for each seed question, and where
the tokens go."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import statistics
from pathlib import Path
from typing import Any

from common import fresh_home
from inputs import answer_300, seed_questions

CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
TAG = "0123456789abcdef"  # a fixed tag, so that every prompt is built the same way
_SPACE = re.compile(r"\s+")


def squeeze(text: str) -> str:
    """The text without any whitespace."""
    return _SPACE.sub("", text)


def load_cl100k() -> tuple[Any, str]:
    """tiktoken's cl100k_base from litellm's bundled copy (no download); the note says where it came from."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("litellm is not installed, so there is no bundled cl100k_base file")
    folder = Path(next(iter(spec.submodule_search_locations))) / "litellm_core_utils" / "tokenizers"
    key = hashlib.sha1(CL100K_URL.encode()).hexdigest()
    if not (folder / key).exists():
        raise RuntimeError(f"cl100k_base is not bundled at {folder / key}; tiktoken would need the network")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)
    import tiktoken

    return tiktoken.get_encoding("cl100k_base"), f"litellm's bundled file {folder / key}"


def shown_prefix(text: str, flat: str) -> str:
    """The longest start of `text` that appears in `flat` (whitespace ignored): what is left of a trimmed text."""
    squeezed = squeeze(text)
    lo, hi = 0, len(squeezed)
    while lo < hi:  # a shorter start is shown whenever a longer one is
        mid = (lo + hi + 1) // 2
        if squeezed[:mid] in flat:
            lo = mid
        else:
            hi = mid - 1
    seen = 0
    for i, ch in enumerate(text):
        if seen == lo:
            return text[:i]
        seen += not ch.isspace()
    return text


def prompt_parts(enc, p, q, rubric, text: str) -> dict[str, int]:
    """Tokens of each piece of content the prompt `p` shows (whitespace ignored when looking for it); the rest
    is the template's own text: headings, criterion ids and names, the output format."""
    flat = squeeze(p.user)

    def tok(*pieces: str) -> int:
        return sum(len(enc.encode(x)) for x in pieces if x and squeeze(x) in flat)

    crits = rubric.all_criteria
    reference = shown_prefix(rubric.reference_answer, flat)
    parts = {
        "system prompt (fixed)": len(enc.encode(p.system)),
        "reference answer": len(enc.encode(reference.replace("\n", ""))) if reference else 0,
        f"candidate answer ({len(text)} characters)": tok(text),
        "question": tok(q.text),
        "hint": tok(q.hint),
        "criterion 'met' descriptions": tok(*(c.met for c in crits)),
        "criterion 'partial' descriptions": tok(*(c.partial for c in crits)),
        "criterion descriptions": tok(*(c.description for c in crits)),
        "criterion key points": tok(*(k.text for c in crits for k in c.key_points)),
        "common mistakes": tok(*(m.text for m in rubric.mistakes)),
    }
    total = len(enc.encode(p.system)) + len(enc.encode(p.user))
    parts["the rest: template text, criterion ids, names and weights, output format"] = total - sum(
        parts.values()
    )
    return parts


def prompt_budget() -> int | None:
    try:
        from interviewer.grading.prompt import PROMPT_BUDGET
    except ImportError:
        return None
    return PROMPT_BUDGET


def prompt_row(enc, q, rubric, text: str, home: Path) -> dict:
    """The token counts of one question's prompt, and whether build_prompt shortened it."""
    from interviewer.grading.prompt import build_prompt, response_schema

    p = build_prompt(q.id, q.text, q.hint, rubric, text, tag=TAG, home=home)
    system, user = len(enc.encode(p.system)), len(enc.encode(p.user))
    schema = len(enc.encode(json.dumps(response_schema(rubric), ensure_ascii=False)))
    flat = squeeze(p.user)
    crits = rubric.all_criteria
    reference = rubric.reference_answer
    return {
        "id": q.id,
        "system": system,
        "user": user,
        "total": system + user,
        "schema": schema,
        "rubric_source": rubric.source,
        "parts": prompt_parts(enc, p, q, rubric, text),
        "reference_trimmed": len(shown_prefix(reference, flat).strip()) < len(reference.strip()),
        "partial_dropped": any(c.partial for c in crits)
        and not any(c.partial and squeeze(c.partial) in flat for c in crits),
    }


def bench_prompt() -> dict:
    from interviewer.content.rubric import rubric_for

    try:
        enc, source = load_cl100k()
    except Exception as exc:  # reported, not hidden
        return {"error": f"{type(exc).__name__}: {exc}"}
    home = fresh_home()
    text = answer_300()
    rows = [prompt_row(enc, q, rubric_for(q, home), text, home) for q in seed_questions()]
    totals = [r["total"] for r in rows]
    return {
        "encoding_source": source,
        "answer_chars": len(text),
        "answer_tokens": len(enc.encode(text)),
        "questions": len(rows),
        "mean": statistics.fmean(totals),
        "max": max(totals),
        "min": min(totals),
        "max_id": max(rows, key=lambda r: r["total"])["id"],
        "schema_mean": statistics.fmean(r["schema"] for r in rows),
        "parts_mean": {k: statistics.fmean(r["parts"][k] for r in rows) for k in rows[0]["parts"]},
        "reference_trimmed": sum(r["reference_trimmed"] for r in rows),
        "partial_dropped": sum(r["partial_dropped"] for r in rows),
        "project_budget": prompt_budget(),
        "rows": rows,
    }
