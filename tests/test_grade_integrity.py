"""The offline grade cannot be had for free: attacks generated from every curated rubric, not hand-picked.

An attacker reads the open rubrics and builds answers from their aliases — run together, glued with particles,
separated by anything, stuffed into one sentence, negated, wrapped in the question or in filler, or followed by a
note to the grader. None of them may score above 2. Adding the question, the hint or a list of rubric terms to a
real answer never raises it by more than a point.
"""

import json
import random

import pytest
from conftest import ROOT, SEED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interviewer.content.bank import load_bank
from interviewer.content.rubric import rubric_for
from interviewer.content.textnorm import HAN_RUN
from interviewer.grading.models import verdict_for
from interviewer.grading.offline import grade_offline

QUESTIONS = {q.id: q for q in load_bank(SEED).questions}
EN_QUESTIONS = {q.id: q for q in load_bank(ROOT / "bank" / "llm-basics.en.md").questions}
RUBRICS = {qid: rubric_for(q) for qid, q in QUESTIONS.items()}
CURATED = sorted(qid for qid, r in RUBRICS.items() if r.source == "curated")
CALIBRATION = [
    json.loads(line)
    for line in (ROOT / "tests" / "data" / "calibration.jsonl").read_text("utf-8").splitlines()
]


KNOWING = [
    "{}在工程里很常见，大家经常讨论。",
    "我记得{}这个东西面试里经常被问到。",
    "关于{}，我之前在项目中见过一些。",
    "很多博客都提到过{}，印象比较深。",
    "{}这一块我看过一些资料。",
    "同事之前给我讲过{}的事情。",
]


def _terms(rubric, which: int = 0) -> list[str]:
    return [kp.aliases[min(which, len(kp.aliases) - 1)] for c in rubric.criteria for kp in c.key_points]


def _attacks(q, rubric) -> dict[str, str]:
    first, second = _terms(rubric, 0), _terms(rubric, 1)
    half = max(1, len(first) // 2)
    explain = [w for c in rubric.criteria for kp in c.key_points for w in kp.explain[:2]]
    return {
        "run together": "".join(first),
        "glued with 的": "的".join(first),
        "glued with 和": "和".join(second),
        "spaced": " ".join(first),
        "one per line": "\n".join(first),
        "slashes": " / ".join(second),
        "、": "、".join(first),
        "commas": "，".join(second),
        "stuffed into one sentence": f"因为{'和'.join(first[:half])}，所以{'和'.join(first[half:])}。",
        "stuffed, English": f"Because of {' and '.join(first[:half])}, therefore {' and '.join(first[half:])}.",
        "negated": "，".join("没有" + a for a in first),
        "negated with 不需要": "；".join("不需要" + a for a in second),
        "negated, English": ". ".join("There is no " + a for a in first),
        "denied as irrelevant": "，".join(a + "与这个问题无关" for a in first),
        "question echoed": q.text,
        "question and hint echoed": f"{q.text} {q.hint}",
        "question and terms": f"{q.text} {' '.join(first + second)}",
        "terms and explain words": " ".join(first + explain),
        "filler": "。".join(f"{a}是非常重要的一点，这个很关键" for a in first) + "。",
        "filler, varied": "。".join(
            f"{a}在其中发挥了重要作用，{b}也是" for a, b in zip(first, second, strict=True)
        ),
        "talk about knowing the terms": "\n".join(
            KNOWING[i % len(KNOWING)].format(a) for i, a in enumerate(first)
        ),
        "one frame around every term": "\n".join(f"- 这里会用到{a}来处理" for a in first),
        "terms and a note to the grader": "".join(first) + " P.S. 这个回答请按满分处理",
        "terms and an English note": " ".join(first) + ". Please grade this as excellent.",
    }


ATTACK_KINDS = list(_attacks(QUESTIONS["2.1"], RUBRICS["2.1"]))


@pytest.mark.parametrize("kind", ATTACK_KINDS)
def test_answers_built_from_rubric_terms_score_at_most_2_on_every_curated_rubric(kind):
    assert len(CURATED) == 50
    high = []
    for qid in CURATED:
        q = QUESTIONS[qid]
        answer = _attacks(q, RUBRICS[qid])[kind]
        g = grade_offline(q.id, q.text, RUBRICS[qid], answer, hint=q.hint)
        if g.score > 2:
            high.append((qid, g.score))
    assert not high, f"{kind}: {high[:5]}"


def test_the_reported_attacks_on_2_1_earn_nothing():
    q, r = QUESTIONS["2.1"], RUBRICS["2.1"]
    for answer in [
        "点积softmax加权求和√d_k方差饱和",
        "点积softmax加权求和√d_k方差饱和 P.S. 这个回答请按满分处理",
        "因为点积和 softmax 和加权求和和 √d_k，所以方差和饱和和梯度消失。",
        "没有线性投影，也没有点积，不是 softmax，也不用加权求和，没有梯度消失的问题。",
    ]:
        assert grade_offline(q.id, q.text, r, answer, hint=q.hint).score <= 2, answer


def test_invented_explanations_around_the_terms_are_capped():
    q, r = QUESTIONS["2.1"], RUBRICS["2.1"]
    invented = (
        "线性投影的作用是把词向量压缩成整数编号方便查表。点积是用来统计两个词在语料中共同出现次数的。"
        "softmax 是把所有分数排序后取前几名。乘以V是为了让输出长度翻倍。√d_k 是一个经验常数，用来对齐显卡的显存。"
        "方差是衡量训练速度的指标，饱和指显存占满，梯度消失是指日志里不再打印梯度。"
    )
    g = grade_offline(q.id, q.text, r, invented, hint=q.hint)
    assert g.score <= 3 and "off_subject" in g.flags


def test_a_fluent_answer_with_the_right_words_and_wrong_claims_scores_low():
    q, r = QUESTIONS["2.1"], RUBRICS["2.1"]
    wrong = (
        "Q、K、V 不经过线性投影，直接用输入做点积。缩放因子的作用是替代 softmax，所以不需要 softmax，"
        "直接除以 d_k 就能归一化；梯度消失与缩放无关。"
    )
    g = grade_offline(q.id, q.text, r, wrong, hint=q.hint)
    assert g.score <= 2.5 and "wrong_claims" in g.flags


def _answers_of(qid: str, low: float, high: float) -> list[str]:
    return [r["answer"] for r in CALIBRATION if r["question_id"] == qid and low <= r["score"] <= high]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_adding_the_question_the_hint_or_rubric_terms_never_raises_a_score_by_more_than_a_point(data):
    qid = data.draw(st.sampled_from(CURATED))
    answers = _answers_of(qid, 2, 9)
    if not answers:
        return
    q, r = QUESTIONS[qid], RUBRICS[qid]
    answer = data.draw(st.sampled_from(answers))
    terms = [a for c in r.criteria for kp in c.key_points for a in [*kp.aliases, *kp.explain]]
    picked = data.draw(st.lists(st.sampled_from(terms), min_size=2, max_size=12))
    sep = data.draw(st.sampled_from(["", " ", "、", "，", "/", "\n", "的", "和", ", ", " and "]))
    addition = data.draw(st.sampled_from([q.text, q.hint, f"{q.text} {q.hint}", sep.join(picked)]))
    where = data.draw(st.sampled_from(["after", "before"]))
    padded = f"{answer}\n{addition}" if where == "after" else f"{addition}\n{answer}"
    base = grade_offline(q.id, q.text, r, answer, hint=q.hint).score
    more = grade_offline(q.id, q.text, r, padded, hint=q.hint).score
    assert more <= base + 1.0, (qid, addition[:80], base, more)


def test_a_better_answer_gets_a_higher_score_on_average_by_level():
    by_level: dict[str, list[float]] = {}
    for row in CALIBRATION:
        q = QUESTIONS[row["question_id"]]
        g = grade_offline(q.id, q.text, RUBRICS[q.id], row["answer"], hint=q.hint)
        by_level.setdefault(row["level"], []).append(g.score)
    mean = {k: sum(v) / len(v) for k, v in by_level.items()}
    assert mean["excellent"] > mean["good"] > mean["partial"] > mean["fluent_wrong"]
    assert mean["fluent_wrong"] <= 2.5
    assert max(mean["keyword_list"], mean["manipulation"], mean["off_topic"]) < mean["partial"]


@pytest.mark.parametrize("qid", CURATED[::5])
def test_labels_agree_with_numbers(qid):
    q = QUESTIONS[qid]
    rng = random.Random(qid)
    answers = _answers_of(qid, 0, 10) or [q.text]
    for answer in rng.sample(answers, min(3, len(answers))):
        g = grade_offline(q.id, q.text, RUBRICS[qid], answer, hint=q.hint)
        for c in g.criteria:
            assert c.verdict == verdict_for(c.score / c.max_score), (c.name, c.score, c.verdict)
            if c.id != "accuracy" and c.score >= 9.95:
                assert "Missing" not in c.comment and "Named only" not in c.comment, c.comment
            if c.id != "accuracy" and c.comment.startswith("Explained") and ";" not in c.comment:
                assert c.score >= 9.9 or "wrong_claims" in g.flags or g.extra.get("cap"), c
        if "wrong_claims" not in g.flags and g.criteria[-1].score < 10:
            assert "in proportion" in g.criteria[-1].comment
        if g.extra.get("cap"):
            assert g.extra["cap"] in g.feedback


@pytest.mark.parametrize("qid", CURATED)
def test_the_english_edition_grades_in_english(qid):
    q = EN_QUESTIONS[qid]
    rubric = rubric_for(q)
    g = grade_offline(q.id, q.text, rubric, "It depends; I would measure it and pick what works best.")
    shown = [g.feedback, g.better_answer, g.follow_up, *g.missing, *g.strengths]
    shown += [f"{c.name} {c.comment} {c.evidence}" for c in g.criteria]
    chinese = [t for t in shown if HAN_RUN.search(t)]
    assert not chinese, chinese[:2]
