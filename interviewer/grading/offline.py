"""The offline grader: deterministic key-point coverage against the rubric. No network, a few ms per answer.

Per key point: 0 when absent; partial credit for the bare term; full credit when it is stated with its reason
(a causal phrase or one of the point's `explain` words in the same sentence). A criterion is met when most of
its points are. Common mistakes cost accuracy and points; keyword lists, off-topic answers and attempts to
instruct the grader are capped. Length alone never raises a score: only distinct points do.
"""

from __future__ import annotations

import math
import time

from interviewer.grading.models import (
    CriterionResult,
    Grade,
    GraderInfo,
    is_non_answer,
    non_answer_grade,
    outline,
    verdict_for,
    weighted_score,
)
from interviewer.grading.signals import has_reason, injection_spans, is_negated, looks_like_keyword_list
from interviewer.rubric import ACCURACY_ID, Criterion, KeyPoint, Rubric
from interviewer.textnorm import (
    HAN_RUN,
    compact,
    contains_alias,
    content_tokens,
    fold,
    sentences,
    stem_compact,
    visible_length,
)

PROMPT_VERSION = "offline-1"
BARE_CREDIT = 0.6
FUZZY_MAX = 0.5
REF_FLOOR = 0.1  # reference-answer points: share of their content words below which nothing is credited
REF_FULL = 0.55  # ... and from which the point counts in full (answers rarely reuse every word)
FUZZY_FLOOR = 0.3
KEYWORD_LIST_CAP = 3.0
INJECTION_CAP = 2.0
OFF_TOPIC_CAP = 1.0
MISTAKE_PENALTY = 1.0
SWITCH_HINT = "Offline grade (key-point coverage, an approximation). For a model's judgement: --grader llm --model M, or set INTERVIEWER_MODEL."


class _Answer:
    """The answer split into sentences, each folded and compacted once."""

    def __init__(self, text: str, question: str = ""):
        self.text = text
        self.question_tokens = set(content_tokens(question))
        self.sentences = sentences(text) or [text]
        self.folded = [fold(s) for s in self.sentences]
        self.compacted = [compact(s) for s in self.sentences]
        self.stemmed = [stem_compact(s) for s in self.sentences]
        self.tokens = set(content_tokens(text))


def _hits(point: KeyPoint, ans: _Answer) -> list[int]:
    """Indices of the sentences that state the point."""
    return [
        i
        for i, (f, c, st) in enumerate(zip(ans.folded, ans.compacted, ans.stemmed, strict=True))
        if any(contains_alias(f, c, a, st) for a in point.aliases)
    ]


def _point_credit(point: KeyPoint, hits: list[int], links: list[int], ans: _Answer) -> tuple[float, str]:
    """Full credit when the point comes with its reason or is tied to another point in the same sentence."""
    if point.tokens:
        wanted = set(point.tokens)
        hit = len(wanted & ans.tokens) / len(wanted)
        credit = min(1.0, max(0.0, (hit - REF_FLOOR) / (REF_FULL - REF_FLOOR)))
        return credit, point.text if credit > 0 else ""
    best, evidence = 0.0, ""
    for i in hits:
        sent, f, c = ans.sentences[i], ans.folded[i], ans.compacted[i]
        long_enough = visible_length(sent) >= 14
        explained = any(contains_alias(f, c, w) for w in point.explain) or (
            long_enough and (has_reason(sent) or links[i] >= 2)
        )
        credit = 1.0 if explained else BARE_CREDIT
        if credit > best:
            best, evidence = credit, sent.strip()
        if best == 1.0:
            break
    if best == 0.0 and FUZZY_MAX > 0:  # the point in other words: its content tokens in the answer
        wanted = set(content_tokens(point.text)) - ans.question_tokens
        if len(wanted) >= 3:
            share = len(wanted & ans.tokens) / len(wanted)
            best = FUZZY_MAX * min(1.0, max(0.0, (share - FUZZY_FLOOR) / (1 - FUZZY_FLOOR - 0.2)))
            evidence = ""
    return best, evidence


def _criterion_fraction(credits: list[float]) -> float:
    """Most of the points make a criterion: the best n-1 of n (all of 1 or 2) count."""
    n = len(credits)
    if n == 0:
        return 0.0
    needed = n if n <= 2 else n - 1
    return min(1.0, sum(sorted(credits, reverse=True)[:needed]) / needed)


def _mistakes(rubric: Rubric, ans: _Answer) -> list[str]:
    found = []
    for mistake in rubric.mistakes:
        for pattern in mistake.patterns:
            p = compact(pattern)
            hit = False
            for c in ans.compacted:
                i = c.find(p)
                if p and i >= 0 and not is_negated(c, i):
                    hit = True
                    break
            if hit:
                found.append(mistake.text)
                break
    return found


def _topicality(question_text: str, rubric: Rubric, ans: _Answer) -> float:
    """Share of the question's own content tokens that the answer uses: near 0 for an answer to another question."""
    wanted = set(content_tokens(question_text))
    if not wanted:
        return 1.0
    return len(wanted & ans.tokens) / len(wanted)


def follow_up_text(name: str, question_text: str) -> str:
    """A follow-up on one criterion that asks without giving the answer away, in the question's language."""
    if HAN_RUN.search(question_text):
        return f"能再具体讲讲「{name}」吗？为什么，怎么做？"
    return f"Could you go deeper into “{name}”: why does it matter, and how does it work?"


def _follow_up(weakest: Criterion | None, question_text: str) -> str:
    return follow_up_text(weakest.name, question_text) if weakest is not None else ""


def grade_offline(question_id: str, question_text: str, rubric: Rubric, answer: str) -> Grade:
    started = time.perf_counter()
    if is_non_answer(answer):
        return non_answer_grade(question_id, rubric, answer)
    flags: list[str] = []
    spans = injection_spans(answer)
    text = answer
    if spans:
        flags.append("injection_suspected")
        for start, end in reversed(spans):  # instructions to the grader are not content
            text = text[:start] + " " + text[end:]
    ans = _Answer(text, question_text)
    # A bare list of terms is capped, unless the expected answer is itself a list ("Name three ...").
    keyword_list = looks_like_keyword_list(text) and not looks_like_keyword_list(rubric.reference_answer)
    if keyword_list:
        flags.append("keyword_list")
    if visible_length(text) < 15:
        flags.append("too_short")

    results: list[CriterionResult] = []
    strengths, missing = [], []
    fractions: list[tuple[Criterion, float]] = []
    hits = {id(p): _hits(p, ans) for c in rubric.criteria for p in c.key_points}
    links = [0] * len(ans.sentences)  # how many distinct points each sentence states
    for idx in hits.values():
        for i in idx:
            links[i] += 1
    raw_coverage_points = 0
    for crit in rubric.criteria:
        credits, evidence = [], []
        for point in crit.key_points:
            credit, ev = _point_credit(point, hits[id(point)], links, ans)
            raw_coverage_points += credit > 0
            if keyword_list:
                credit = min(credit, BARE_CREDIT / 2)
            credits.append(credit)
            if ev and ev not in evidence:
                evidence.append(ev)
        fraction = _criterion_fraction(credits)
        fractions.append((crit, fraction))
        verdict = verdict_for(fraction)
        covered = [p.text for p, c in zip(crit.key_points, credits, strict=True) if c > 0]
        absent = [p.text for p, c in zip(crit.key_points, credits, strict=True) if c == 0]
        comment = ""
        if covered:
            comment = "Covered: " + "; ".join(covered)
        if absent:
            comment += ("; " if comment else "") + "Missing: " + "; ".join(absent)
        results.append(
            CriterionResult(
                id=crit.id,
                name=crit.name,
                weight=crit.weight,
                score=round(10 * fraction, 1),
                verdict=verdict,
                evidence=" … ".join(e[:160] for e in evidence[:2]),
                comment=comment,
            )
        )
        if verdict == "met":
            strengths.append(crit.name)
        else:
            missing.append(crit.name if not absent else f"{crit.name}: {'; '.join(absent[:3])}")

    total_w = sum(c.weight for c, _ in fractions) or 1.0
    coverage = sum(c.weight * f for c, f in fractions) / total_w
    mistakes = _mistakes(rubric, ans)
    accuracy = min(1.0, coverage * 1.25) * max(0.0, 1.0 - 0.5 * len(mistakes))
    results.append(
        CriterionResult(
            id=ACCURACY_ID,
            name=rubric.accuracy.name,
            weight=rubric.accuracy_weight,
            score=round(10 * accuracy, 1),
            verdict=verdict_for(accuracy) if not mistakes else ("partial" if accuracy >= 0.3 else "missed"),
            evidence="",
            comment=("Wrong claims: " + "; ".join(mistakes)) if mistakes else "No known wrong claim found.",
        )
    )
    score = weighted_score(results)
    if mistakes:
        flags.append("wrong_claims")
        score -= MISTAKE_PENALTY * len(mistakes)
    topical = _topicality(question_text, rubric, ans)
    if raw_coverage_points == 0 and topical < 0.15:
        flags.append("off_topic")
        score = min(score, OFF_TOPIC_CAP)
    if keyword_list:
        score = min(score, KEYWORD_LIST_CAP)
    if spans:
        score = min(score, INJECTION_CAP)
    score = round(max(0.0, min(10.0, score)), 1)

    weakest = min(fractions, key=lambda cf: (cf[1], -cf[0].weight))[0] if fractions else None
    feedback = _feedback(strengths, missing, mistakes, flags)
    return Grade(
        question_id=question_id,
        status="graded",
        score=score,
        criteria=results,
        strengths=strengths,
        missing=missing + [f"Wrong claim: {m}" for m in mistakes],
        feedback=feedback,
        better_answer=outline(rubric),
        follow_up=_follow_up(weakest, question_text)
        if weakest is not None and math.isfinite(score) and score < 9.5
        else "",
        flags=flags,
        grader=GraderInfo(
            kind="offline",
            prompt_version=PROMPT_VERSION,
            rubric_version=rubric.version_tag,
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
        ),
    )


def _feedback(strengths: list[str], missing: list[str], mistakes: list[str], flags: list[str]) -> str:
    parts = []
    if strengths:
        parts.append("Covered: " + ", ".join(strengths) + ".")
    if missing:
        parts.append("Missing or thin: " + "; ".join(missing) + ".")
    if mistakes:
        parts.append("Wrong claims: " + "; ".join(mistakes) + ".")
    if "keyword_list" in flags:
        parts.append("The answer lists terms without explaining them; say why and how.")
    if "off_topic" in flags:
        parts.append("The answer does not address this question.")
    if "injection_suspected" in flags:
        parts.append("Text addressed to the grader was ignored and the score capped.")
    parts.append(SWITCH_HINT)
    return " ".join(parts)
