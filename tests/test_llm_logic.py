"""The LLM grader's logic on an in-process fake model: no server, no litellm. The protocol itself (litellm and the
openai client against a real HTTP server) is tested in test_llm_grader.py; here, what the grader does with
replies: retries, what is kept, what is fenced, what is never called."""

import json

import pytest
from conftest import grade_reply

from interviewer.content.rubric import rubric_for
from interviewer.grading.chat import CallError, FakeModel
from interviewer.grading.llm import LLMGrader
from interviewer.grading.models import Answer, FollowUp


def reply(**kw):
    """A valid grade for whatever rubric the messages carry (the fake's replies take the messages)."""
    return lambda messages: grade_reply(**kw)({"messages": messages})


def grader(*replies, **kw):
    fake = FakeModel(*replies)
    return LLMGrader(fake, backoff=0.0, **kw), fake


def test_the_score_is_computed_from_the_verdicts_and_the_model_is_called_once(q21):
    g, fake = grader(reply(verdict="partial", score=5.0, holistic=10.0))
    grade = g.grade(q21, rubric_for(q21), Answer("先算 QK^T 再 softmax 乘 V"))
    assert grade.status == "graded" and grade.score == 5.0 and len(fake.calls) == 1
    assert grade.grader.model == "fake/model"
    assert fake.calls[0]["schema"]["properties"]["criteria"]["items"]["properties"]["id"]["enum"]


def test_a_bad_reply_is_retried_and_a_refused_key_is_not(q21):
    g, fake = grader("not json at all", reply(), retries=2)
    assert g.grade(q21, rubric_for(q21), Answer("softmax 之前除以根号 d_k")).status == "graded"
    assert len(fake.calls) == 2
    g, fake = grader(CallError("auth", "401 invalid key"), reply(), retries=2)
    grade = g.grade(q21, rubric_for(q21), Answer("softmax 之前除以根号 d_k"))
    assert grade.status == "ungraded" and grade.score is None and len(fake.calls) == 1
    assert "API key" in grade.error


def test_when_every_try_fails_the_answer_is_ungraded_with_its_reason_and_provenance(q21):
    g, fake = grader("{}", "{}", "{}", retries=2)
    grade = g.grade(q21, rubric_for(q21), Answer("softmax 之前除以根号 d_k"))
    assert grade.status == "ungraded" and grade.error.startswith("bad_reply")
    assert len(fake.calls) == 3 and grade.extra["provenance"]["reply"] == "{}"


def test_non_answers_never_reach_the_model(q21):
    g, fake = grader()
    grade = g.grade(q21, rubric_for(q21), Answer("不知道", (FollowUp("为什么？", "skip"),)))
    assert grade.score == 0 and fake.calls == []


def test_only_the_candidates_words_are_fenced_and_the_provenance_is_what_was_sent(q21):
    g, fake = grader(reply())
    answer = Answer("先算 QK^T", (FollowUp("为什么要缩放？", "因为点积方差随 d_k 增大"),))
    grade = g.grade(q21, rubric_for(q21), answer)
    user = fake.calls[0]["messages"][1]["content"]
    fenced = user[user.index("<answer-") :]
    assert "先算 QK^T" in fenced and "因为点积方差随 d_k 增大" in fenced
    assert "Interviewer's follow-up 1 (not evidence): 为什么要缩放？" in fenced
    assert grade.extra["provenance"]["messages"] == fake.calls[0]["messages"]
    assert json.loads(grade.extra["provenance"]["reply"])["feedback"] == grade.feedback


@pytest.mark.parametrize("samples", [3])
def test_samples_call_the_model_that_many_times(q21, samples):
    g, fake = grader(
        *(reply(score=s, verdict="met" if s >= 7 else "partial") for s in (8.0, 6.0, 9.0)), samples=samples
    )
    grade = g.grade(q21, rubric_for(q21), Answer("先算 QK^T 再 softmax 乘 V"))
    assert len(fake.calls) == samples and grade.score == 8.0 and grade.extra["samples"] == samples


def test_a_median_of_samples_capped_for_injection_says_why_even_when_the_nearest_sample_was_not(q21):
    from interviewer.grading.models import INJECTION_CAP

    g, fake = grader(
        reply(score=9.0), reply(score=9.0, injection_suspected=True), reply(score=8.0), samples=3
    )
    grade = g.grade(q21, rubric_for(q21), Answer("先算 QK^T 再 softmax 乘 V"))
    assert grade.score == INJECTION_CAP and "injection_suspected" in grade.flags
    assert grade.extra["cap"].startswith(f"Capped at {INJECTION_CAP:.1f} (from 9.0)")


def test_a_median_of_samples_below_the_cap_carries_no_cap_text(q21):
    g, fake = grader(
        reply(score=2.0, verdict="missed"), reply(score=2.0, verdict="missed", injection_suspected=True),
        reply(score=2.0, verdict="missed"), samples=3,
    )  # fmt: skip
    grade = g.grade(q21, rubric_for(q21), Answer("先算 QK^T 再 softmax 乘 V"))
    assert "injection_suspected" in grade.flags and "cap" not in grade.extra
