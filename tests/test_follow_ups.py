"""Follow-ups are graded as answers only: the interviewer's question is never evidence, a non-answer adds nothing,
no follow-up comes after a non-answer, and two non-answers in an interview are 0."""

import json

import pytest
from conftest import SEED

from interviewer.content.bank import load_bank
from interviewer.content.rubric import follow_up_on, rubric_for
from interviewer.grading.models import FollowUp
from interviewer.grading.offline import grade_offline

QUESTIONS = {q.id: q for q in load_bank(SEED).questions}
CURATED = sorted(qid for qid, q in QUESTIONS.items() if rubric_for(q).source == "curated")
PARTIAL_21 = "先算 Q 乘 K 的转置，然后 softmax，再乘 V。"


def _grade(q, answer, follow_ups=()):
    return grade_offline(q.id, q.text, rubric_for(q), answer, tuple(follow_ups), hint=q.hint)


@pytest.mark.parametrize("non_answer", ["不知道", "不清楚。", "I don't know", "skip", ""])
def test_a_non_answer_to_a_follow_up_never_raises_the_grade_on_any_rubric(non_answer):
    raised = []
    for qid in CURATED:
        q = QUESTIONS[qid]
        rubric = rubric_for(q)
        main = "我觉得主要看场景，具体要看情况。" + rubric.criteria[0].key_points[0].aliases[0] + "很重要。"
        before = _grade(q, main)
        asked = [FollowUp(follow_up_on(c.name, q.text), non_answer) for c in rubric.criteria]
        after = _grade(q, main, asked)
        if after.score > before.score:
            raised.append((qid, before.score, after.score))
    assert not raised


def test_the_follow_up_question_never_becomes_evidence():
    q = QUESTIONS["2.1"]
    before = _grade(q, PARTIAL_21)
    question = "除以 √d_k 是因为点积的方差随 d_k 增大，softmax 饱和、梯度消失——你能解释这一点吗？"
    after = _grade(q, PARTIAL_21, [FollowUp(question, "嗯，这个我不太确定。")])
    assert after.score <= before.score
    assert all("方差" not in c.evidence for c in after.criteria)


def test_a_real_follow_up_answer_counts_like_part_of_the_answer():
    q = QUESTIONS["2.1"]
    before = _grade(q, PARTIAL_21)
    answer = (
        "除以 √d_k 是因为 q、k 各分量独立、方差为 1 时点积的方差是 d_k，数值大会让 softmax 饱和、梯度接近 0。"
    )
    after = _grade(q, PARTIAL_21, [FollowUp("为什么要缩放？", answer)])
    assert after.score > before.score + 2


def _start(cli, tmp_path, text, mode):
    f = tmp_path / "a.txt"
    f.write_text(text, encoding="utf-8")
    r = cli("start", "-n", "2", "--section", "2", "--order", "bank", "--mode", mode, "--follow-ups", "1",
            "--answers", str(f), "--json")  # fmt: skip
    assert r.exit_code == 0, r
    return json.loads(r.stdout)


@pytest.mark.parametrize("mode", ["practice", "interview"])
def test_no_follow_up_is_asked_after_a_non_answer(cli, tmp_path, mode):
    s = _start(cli, tmp_path, f"不知道\n---\n{PARTIAL_21}\n---\n不知道\n", mode)
    first, second = s["turns"]
    assert first["follow_ups"] == [] and first["grade"]["score"] == 0.0
    assert (
        first["answer"] == "不知道" and second["answer"] == PARTIAL_21
    )  # the next answer went to the next question


def test_in_interview_mode_two_non_answers_are_zero(cli, tmp_path):
    s = _start(cli, tmp_path, f"{PARTIAL_21}\n---\n不知道\n---\n不知道\n", "interview")
    first, second = s["turns"]
    assert [f["answer"] for f in first["follow_ups"]] == ["不知道"]
    assert second["follow_ups"] == [] and second["grade"]["score"] == 0.0
    assert first["grade"]["score"] == _grade(QUESTIONS["2.1"], PARTIAL_21).score
