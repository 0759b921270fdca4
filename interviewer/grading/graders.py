"""The `Grader` seam: a grader takes one question (with its rubric) and one answer (with its follow-ups) and
returns one `Grade`. Graders are found by name in `registry.GRADERS`."""

from __future__ import annotations

from typing import Protocol

from interviewer.config import Settings
from interviewer.content.bank import Question
from interviewer.content.rubric import Rubric
from interviewer.grading.models import Answer, Grade
from interviewer.grading.offline import grade_offline
from interviewer.grading.registry import factory


class Grader(Protocol):
    kind: str

    def grade(self, question: Question, rubric: Rubric, answer: Answer) -> Grade: ...


class OfflineGrader:
    kind = "offline"

    def grade(self, question: Question, rubric: Rubric, answer: Answer) -> Grade:
        return grade_offline(
            question.id, question.text, rubric, answer.text, answer.follow_ups, hint=question.hint
        )


def make_offline(settings: Settings, samples: int = 1) -> Grader:
    return OfflineGrader()


def make_grader(settings: Settings, samples: int = 1) -> Grader:
    """The grader the settings name, from the registry."""
    return factory(settings.grader_kind)(settings, samples)
