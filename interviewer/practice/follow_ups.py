"""Follow-ups: which one to ask after an answer, and aimed how. Change how follow-ups are chosen here.

Like an interviewer, a follow-up goes at the weakest criterion of the answer so far, asking about it without giving
the answer away; the LLM grader's own follow-up is used when it gave one. To aim without waiting for the real grade
(which may be an LLM's, seconds away), the answer is first read by the offline grader through the same `Grader`
seam. After a non-answer no follow-up is asked (the engine stops there).
"""

from __future__ import annotations

from interviewer.content.bank import Question
from interviewer.content.rubric import ACCURACY_ID, Rubric, follow_up_on
from interviewer.grading.graders import OfflineGrader
from interviewer.grading.models import Answer, Grade

_aimer = OfflineGrader()


def aim(question: Question, rubric: Rubric, answer: Answer) -> Grade:
    """An instant offline grade of the answer so far, only to aim the next follow-up."""
    return _aimer.grade(question, rubric, answer)


def next_follow_up(question: Question, grade: Grade) -> tuple[str | None, str]:
    """(criterion id, question text) of the follow-up aimed at the grade's weakest criterion; ("", "") if none."""
    scored = [c for c in grade.criteria if c.id != ACCURACY_ID] or grade.criteria
    if not scored:
        return None, ""
    weakest = min(scored, key=lambda c: (c.score / c.max_score, -c.weight))
    if grade.grader.kind == "llm" and grade.follow_up:
        return weakest.id, grade.follow_up
    return weakest.id, follow_up_on(weakest.name, question.text)
