"""Turn a model's reply into a `Grade`: find the last JSON object, repair small breakage, validate. Pure."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from interviewer.content.rubric import Rubric
from interviewer.grading.models import (
    INJECTION_CAP,
    MAX_SCORE,
    VERDICT_BAND,
    VERDICT_FRACTION,
    CriterionResult,
    Grade,
    GraderInfo,
    weighted_score,
)

HOLISTIC_GAP = 3.0

# Size caps on model text. A whole reply above MAX_REPLY_CHARS is a bad reply (a real grade is a few thousand
# characters); inside it, each field is cut to its cap before it is shown or stored.
MAX_REPLY_CHARS = 64_000
TEXT_CAPS = {"feedback": 3000, "better_answer": 4000, "follow_up": 500}
CRITERION_CAPS = {"evidence": 500, "comment": 500}
LIST_ITEM_CAP = 300
LIST_ITEMS = 12
MAX_BRACKETS = 2000  # a grade has a few dozen; far more is not a grade, and too many to repair quickly


class ReplyError(ValueError):
    """The reply could not be turned into a grade."""


class CriterionReply(BaseModel):
    id: str
    evidence: str = ""
    verdict: Literal["met", "partial", "missed"]
    score: float | None = Field(default=None, ge=0, le=10)
    comment: str = ""


class GradeReply(BaseModel):
    criteria: list[CriterionReply]
    wrong_claims: list[str] = []
    strengths: list[str] = []
    missing: list[str] = []
    feedback: str = ""
    better_answer: str = ""
    follow_up: str = ""
    injection_suspected: bool = False
    off_topic: bool = False
    holistic_score: float | None = Field(default=None, ge=0, le=10)


def cap(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, the cut marked with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cap_reply(text: str, limit: int = MAX_REPLY_CHARS) -> str:
    """A raw reply as kept for provenance: whole up to `limit`, else its start and its full length."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… [cut: {len(text):,} characters in all]"


def _capped(reply: GradeReply) -> GradeReply:
    for name, limit in TEXT_CAPS.items():
        setattr(reply, name, cap(getattr(reply, name), limit))
    for name in ("wrong_claims", "strengths", "missing"):
        setattr(reply, name, [cap(item, LIST_ITEM_CAP) for item in getattr(reply, name)[:LIST_ITEMS]])
    for c in reply.criteria:
        for name, limit in CRITERION_CAPS.items():
            setattr(c, name, cap(getattr(c, name), limit))
    return reply


def _names(ids: list[str]) -> str:
    return ", ".join(cap(i, 40) for i in ids[:5]) + (" …" if len(ids) > 5 else "")


def last_json_object(text: str) -> dict:
    """The last complete top-level JSON object in the text; else a repaired one; else ReplyError."""
    if not text or not text.strip():
        raise ReplyError("empty reply")
    decoder = json.JSONDecoder()
    found = None
    i = text.find("{")
    while i != -1:
        try:
            obj, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            i = text.find("{", i + 1)
            continue
        except RecursionError:
            raise ReplyError("the reply's JSON is nested too deeply") from None
        if isinstance(obj, dict):
            found = obj
        i = text.find("{", end)
    if found is not None:
        return found
    start = text.find("{")
    if start == -1:
        raise ReplyError("no JSON object in the reply")
    rest = text[start:]
    if rest.count("{") + rest.count("[") > MAX_BRACKETS:  # repairing deep nesting takes seconds, then fails
        raise ReplyError("the reply's JSON is broken beyond repair")
    from json_repair import repair_json

    try:
        repaired = repair_json(rest, return_objects=True)
    except (ValueError, RecursionError):
        raise ReplyError("the reply's JSON is broken beyond repair") from None
    if isinstance(repaired, dict) and repaired:
        return repaired
    raise ReplyError("the reply's JSON is broken beyond repair")


def parse_reply(text: str, rubric: Rubric) -> GradeReply:
    """The reply validated against the rubric, its text fields capped; ReplyError when it is not a usable grade."""
    if len(text) > MAX_REPLY_CHARS:
        raise ReplyError(f"the reply is {len(text):,} characters, over the {MAX_REPLY_CHARS:,} accepted")
    data = last_json_object(text)
    try:
        reply = GradeReply.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ReplyError(cap(f"invalid reply: {where}: {first['msg']}", 200)) from None
    expected = [c.id for c in rubric.all_criteria]
    got = [c.id for c in reply.criteria]
    unknown = sorted(set(got) - set(expected))
    if unknown:
        raise ReplyError(f"reply names criteria not in the rubric: {_names(unknown)}")
    missing = [i for i in expected if i not in got]
    if missing:
        raise ReplyError(f"reply has no verdict for: {_names(missing)}")
    if len(got) != len(set(got)):
        raise ReplyError("reply gives a criterion twice")
    return _capped(reply)


def criterion_score(c: CriterionReply) -> float:
    """The criterion's 0–10 score: the model's number kept inside its verdict's band, else the band's middle."""
    low, high = VERDICT_BAND[c.verdict]
    if c.score is None:
        return VERDICT_FRACTION[c.verdict] * MAX_SCORE
    return min(high, max(low, c.score))


def grade_from_reply(
    question_id: str, rubric: Rubric, reply: GradeReply, info: GraderInfo, injection_in_text: bool = False
) -> Grade:
    by_id = {c.id: c for c in reply.criteria}
    results = []
    for crit in rubric.all_criteria:
        c = by_id[crit.id]
        results.append(
            CriterionResult(
                id=crit.id,
                name=crit.name,
                weight=crit.weight,
                score=round(criterion_score(c), 1),
                verdict=c.verdict,
                evidence=c.evidence,
                comment=c.comment,
            )
        )
    score = weighted_score(results)
    flags = []
    extra = {}
    if reply.injection_suspected or injection_in_text:
        flags.append("injection_suspected")
        if score > INJECTION_CAP:  # the criteria keep the model's verdicts: say why the total is lower
            extra["cap"] = (
                f"Capped at {INJECTION_CAP:.1f} (from {score:.1f}): the answer addresses the grader "
                "(injection suspected); the criteria show the verdicts before the cap."
            )
        score = min(score, INJECTION_CAP)
    if reply.off_topic:
        flags.append("off_topic")
    if reply.wrong_claims:
        flags.append("wrong_claims")
    if reply.holistic_score is not None:
        extra["holistic_score"] = reply.holistic_score
        if abs(reply.holistic_score - score) >= HOLISTIC_GAP:
            flags.append("needs_review")
    return Grade(
        question_id=question_id,
        status="graded",
        score=score,
        criteria=results,
        strengths=reply.strengths,
        missing=reply.missing + [f"Wrong claim: {w}" for w in reply.wrong_claims],
        feedback=reply.feedback,
        better_answer=reply.better_answer or rubric.reference_answer,
        follow_up=reply.follow_up,
        flags=flags,
        grader=info,
        extra=extra,
    )
