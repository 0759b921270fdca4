"""Turn a model's reply into a `Grade`: find the last JSON object, repair small breakage, validate. Pure."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from interviewer.grading.models import CriterionResult, Grade, GraderInfo, weighted_score
from interviewer.rubric import Rubric

INJECTION_CAP = 2.0
HOLISTIC_GAP = 3.0
VERDICT_BAND = {"met": (7.0, 10.0), "partial": (3.0, 7.0), "missed": (0.0, 3.0)}


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
        if isinstance(obj, dict):
            found = obj
        i = text.find("{", end)
    if found is not None:
        return found
    start = text.find("{")
    if start == -1:
        raise ReplyError("no JSON object in the reply")
    from json_repair import repair_json

    repaired = repair_json(text[start:], return_objects=True)
    if isinstance(repaired, dict) and repaired:
        return repaired
    raise ReplyError("the reply's JSON is broken beyond repair")


def parse_reply(text: str, rubric: Rubric) -> GradeReply:
    data = last_json_object(text)
    try:
        reply = GradeReply.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ReplyError(f"invalid reply: {where}: {first['msg']}") from None
    expected = [c.id for c in rubric.all_criteria]
    got = [c.id for c in reply.criteria]
    unknown = sorted(set(got) - set(expected))
    if unknown:
        raise ReplyError(f"reply names criteria not in the rubric: {', '.join(unknown)}")
    missing = [i for i in expected if i not in got]
    if missing:
        raise ReplyError(f"reply has no verdict for: {', '.join(missing)}")
    if len(got) != len(set(got)):
        raise ReplyError("reply gives a criterion twice")
    return reply


def criterion_score(c: CriterionReply) -> float:
    """The criterion's 0–10 score: the model's number kept inside its verdict's band, else the band's middle."""
    low, high = VERDICT_BAND[c.verdict]
    if c.score is None:
        return {"met": 10.0, "partial": 5.0, "missed": 0.0}[c.verdict]
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
    if reply.injection_suspected or injection_in_text:
        flags.append("injection_suspected")
        score = min(score, INJECTION_CAP)
    if reply.off_topic:
        flags.append("off_topic")
    if reply.wrong_claims:
        flags.append("wrong_claims")
    extra = {}
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
