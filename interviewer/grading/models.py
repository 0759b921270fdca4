"""The `Grade` model and the score arithmetic. Pure data; no I/O."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from interviewer.content.rubric import Rubric

MAX_SCORE = 10.0
INJECTION_CAP = (
    2.0  # an answer that tries to instruct the grader is worth at most this, whatever else it says
)
# Each verdict's score band, the same for every grader: met from 7/10, partial from 3/10.
VERDICT_BAND = {"met": (7.0, 10.0), "partial": (3.0, 7.0), "missed": (0.0, 3.0)}
VERDICTS = ("met", "partial", "missed")
VERDICT_FRACTION = {"met": 1.0, "partial": 0.5, "missed": 0.0}


@dataclass(frozen=True)
class FollowUp:
    """One follow-up exchange. Only `answer` is the candidate's: the question is the interviewer's and is never
    evidence for a grade."""

    question: str
    answer: str


@dataclass(frozen=True)
class Answer:
    """What a grader judges: the candidate's answer and the follow-up exchanges that came after it."""

    text: str
    follow_ups: tuple[FollowUp, ...] = ()

    @property
    def parts(self) -> list[str]:
        return answer_parts(self.text, self.follow_ups)


def answer_parts(answer: str, follow_ups: tuple[FollowUp, ...] | list[FollowUp] = ()) -> list[str]:
    """The candidate's own words: the main answer and each follow-up answer that says something."""
    parts = [answer] if not is_non_answer(answer) else []
    parts += [f.answer for f in follow_ups if not is_non_answer(f.answer)]
    return parts


@dataclass
class CriterionResult:
    id: str
    name: str
    weight: float
    score: float
    max_score: float = MAX_SCORE
    verdict: str = "missed"
    evidence: str = ""
    comment: str = ""


@dataclass
class GraderInfo:
    kind: str  # offline | llm
    model: str | None = None
    prompt_version: str | None = None
    rubric_version: str | None = None
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    deployment: str | None = None  # the deployment of the profile's model that served the grade


GRADER_FIELDS = frozenset(GraderInfo.__dataclass_fields__)


@dataclass
class Grade:
    question_id: str
    status: str  # graded | ungraded
    score: float | None
    max_score: float = MAX_SCORE
    criteria: list[CriterionResult] = field(default_factory=list)
    strengths: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    feedback: str = ""
    better_answer: str = ""
    follow_up: str = ""
    flags: list[str] = field(default_factory=list)
    error: str | None = None
    grader: GraderInfo = field(default_factory=lambda: GraderInfo(kind="offline"))
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. holistic_score, spread

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["grader"]["deployment"] is None:  # only a grade routed among deployments names one
            del d["grader"]["deployment"]
        extra = d.pop("extra")
        d.update(extra)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Grade:
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        extra = {k: v for k, v in d.items() if k not in known}
        return cls(
            question_id=d["question_id"],
            status=d["status"],
            score=d.get("score"),
            max_score=d.get("max_score", MAX_SCORE),
            criteria=[CriterionResult(**c) for c in d.get("criteria", [])],
            strengths=list(d.get("strengths", [])),
            missing=list(d.get("missing", [])),
            feedback=d.get("feedback", ""),
            better_answer=d.get("better_answer", ""),
            follow_up=d.get("follow_up", ""),
            flags=list(d.get("flags", [])),
            error=d.get("error"),
            grader=GraderInfo(
                **{k: v for k, v in d.get("grader", {"kind": "offline"}).items() if k in GRADER_FIELDS}
            ),
            extra=extra,
        )


def weighted_score(results: list[CriterionResult]) -> float:
    """Overall 0–10 score, one decimal, from per-criterion scores and weights."""
    total = sum(r.weight for r in results)
    if total <= 0:
        return 0.0
    value = sum(r.weight * (r.score / r.max_score) for r in results) / total * MAX_SCORE
    return round(min(MAX_SCORE, max(0.0, value)), 1)


def verdict_for(fraction: float) -> str:
    """The verdict whose band holds this fraction of the full score (`VERDICT_BAND`)."""
    score = fraction * MAX_SCORE + 1e-9  # 0.7 of 10 is 7.0 however the float rounds
    for verdict in ("met", "partial"):
        if score >= VERDICT_BAND[verdict][0]:
            return verdict
    return "missed"


NON_ANSWERS = {
    "不知道", "不会", "跳过", "不清楚", "不了解", "不太清楚", "不太了解", "不记得", "忘了", "没了解过", "没有了解过",
    "不懂", "pass", "skip", "skipped", "idk", "i don't know", "i dont know", "i do not know", "no idea", "dunno",
    "n/a", "na", "none", "不知道呢", "我不知道", "我不会", "我不清楚", "抱歉不知道", "sorry i don't know",
}  # fmt: skip


HEDGES = re.compile(
    r"^(嗯+|呃+|额+|啊+|这个|那个|我|其实|好像|抱歉|不好意思|说实话|sorry|um+|uh+|hmm+|well|honestly|i m|i am|i)\s*"
)
UNSURE = {
    "不太确定", "不确定", "不是很确定", "不太记得", "记不清", "记不清了", "没想过", "没研究过", "没接触过", "不太会",
    "not sure", "no clue", "can't remember", "cannot remember", "don't remember", "not really sure", "no idea",
    "never heard of it", "haven't used it",
}  # fmt: skip


def is_non_answer(answer: str) -> bool:
    """Empty, or only 'I don't know' / 'skip' / 'not sure' and the like: a 0 without asking any grader."""
    text = re.sub(r"[\s。.!！?？,，~…、:：;；'\"“”`()（）-]+", " ", answer.lower()).strip()
    if not text:
        return True
    if text in NON_ANSWERS:
        return True
    parts = [p for p in text.split() if p]
    if " ".join(parts) in NON_ANSWERS or (len(parts) <= 3 and all(p in NON_ANSWERS for p in parts)):
        return True
    bare = text
    while (m := HEDGES.match(bare)) and m.end() > 0:
        bare = bare[m.end() :].strip()
    bare = re.sub(r"\s*(呢|吧|啊|了|哈)$", "", bare)
    return bool(
        len(bare) <= 24 and (bare in NON_ANSWERS or bare in UNSURE or bare.replace(" ", "") in UNSURE)
    )


def non_answer_grade(question_id: str, rubric: Rubric, answer: str, kind: str = "offline") -> Grade:
    results = [CriterionResult(id=c.id, name=c.name, weight=c.weight, score=0.0) for c in rubric.all_criteria]
    empty = not answer.strip()
    return Grade(
        question_id=question_id,
        status="graded",
        score=0.0,
        criteria=results,
        missing=[c.name for c in rubric.criteria],
        feedback="No answer was given." if empty else "The answer says it does not know; scored 0.",
        better_answer=outline(rubric),
        follow_up="",
        flags=["empty"] if empty else ["no_answer"],
        grader=GraderInfo(kind=kind, rubric_version=rubric.version_tag),
    )


def ungraded(question_id: str, error: str, info: GraderInfo) -> Grade:
    """A grade that could not be obtained: status ungraded, no score (never a 0)."""
    return Grade(question_id=question_id, status="ungraded", score=None, error=error, grader=info)


def outline(rubric: Rubric) -> str:
    """An outline of a full-marks answer: the reference answer, else the rubric's key points."""
    if rubric.reference_answer:
        return rubric.reference_answer
    lines = []
    for c in rubric.criteria:
        points = "; ".join(kp.text for kp in c.key_points[:4])
        lines.append(f"- {c.name}: {points}" if points and points != c.name else f"- {c.name}")
    return "\n".join(lines)
