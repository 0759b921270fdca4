"""The `Grader` seam: the offline grader or the LLM grader, chosen from the settings."""

from __future__ import annotations

from typing import Protocol

from interviewer.config import Settings
from interviewer.grading.models import FollowUp, Grade
from interviewer.grading.offline import grade_offline
from interviewer.rubric import Rubric


class Grader(Protocol):
    kind: str

    def grade(
        self,
        question_id: str,
        question: str,
        hint: str,
        rubric: Rubric,
        answer: str,
        follow_ups: tuple[FollowUp, ...] = (),
    ) -> Grade: ...


class OfflineGrader:
    kind = "offline"

    def grade(
        self,
        question_id: str,
        question: str,
        hint: str,
        rubric: Rubric,
        answer: str,
        follow_ups: tuple[FollowUp, ...] = (),
    ) -> Grade:
        return grade_offline(question_id, question, rubric, answer, follow_ups, hint=hint)


def make_grader(settings: Settings, samples: int = 1) -> Grader:
    if settings.grader_kind == "offline":
        return OfflineGrader()
    from interviewer.grading.llm import LLMGrader

    return LLMGrader(
        model=settings.model,
        api_base=settings.api_base,
        api_key=settings.api_key,
        timeout=settings.timeout,
        retries=settings.retries,
        samples=samples,
        home=settings.home,
    )
