"""The offline grader: deterministic key-point coverage against the rubric. No network, a few ms per answer.

A key point counts only where the answer says something about it. Per point and sentence:
- named: its alias is there but the sentence says nothing else about it (terms run together, glued with 的, listed
  with any separator, or several points stuffed into one clause) — no credit;
- stated: the sentence carries the candidate's own words about it — partial credit;
- explained: enough own words for this point plus its reason or mechanism (an `explain` word, words of the point's
  own description, or a causal phrase) — full credit;
- denied (`没有…`, `不需要…`, `…无关`) where it is never affirmed: no credit, and it costs accuracy.
The candidate's words are the answer and the follow-up answers only; the interviewer's follow-up questions, the
question's and hint's own words and filler never count. Known wrong claims and denied points cost accuracy and
scale the whole grade down; keyword lists, off-topic answers and instructions to the grader are capped, and every
cap scales the criteria with it so the labels agree with the total.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from interviewer.content.rubric import ACCURACY_ID, Criterion, KeyPoint, Rubric, follow_up_on
from interviewer.content.textnorm import compact, content_tokens, fold, sentences, visible_length
from interviewer.grading.mentions import (
    GLUE,
    alias_regex,
    own_tokens,
    own_weight,
)
from interviewer.grading.models import (
    INJECTION_CAP,
    MAX_SCORE,
    CriterionResult,
    FollowUp,
    Grade,
    GraderInfo,
    answer_parts,
    non_answer_grade,
    outline,
    verdict_for,
    weighted_score,
)
from interviewer.grading.reading import Clause, Sentence, is_list, read_answer
from interviewer.grading.signals import (
    injection_spans,
    is_negated,
)

PROMPT_VERSION = "offline-2"
EXPLAINED, STATED = 1.0, 0.85
FUZZY_MAX = 0.4  # a point in other words: its description's content words, no alias ...
FUZZY_FLOOR, FUZZY_FULL = 0.15, 0.7  # ... credited from this share of those words, fully from that one
PARTIAL_FLOOR = 0.4  # a criterion whose "partial" level the answer reaches (its quoted phrases, its words)
PARTIAL_SHARE = 0.5  # ... when the answer has this share of a quoted phrase's words
QUOTE_RE = re.compile(r"[“\"「『]([^”\"」』]{2,})[”\"」』]")
STATED_SHARE = 2  # own content tokens per point in its sentence, for a statement
EXPLAINED_SHARE = 4  # ... and for an explanation (with a reason)
CURVE = 0.4  # criterion score = 10 · fraction^CURVE: a half-covered criterion is worth more than half
# Wrong claims and denied points scale the content criteria: one slip in a good answer costs a quarter, two
# wrong claims leave little, three or more nothing worth a pass.
ERROR_FACTORS = (1.0, 0.75, 0.35, 0.15)
ERROR_ACCURACY = 0.5  # ... and takes this share of the accuracy criterion
ACCURACY_GAIN = 3.0  # with no wrong claim found, accuracy is credited in proportion to what is stated
KEYWORD_LIST_CAP = 2.0
OFF_SUBJECT_CAP = 3.0  # most statements about the terms use none of the rubric's words ...
OFF_SUBJECT_SHARE = 0.7  # ... this share of them, at least
RICH_VOCABULARY = 150  # distinct words a rubric's text needs before it can tell
OFF_TOPIC_CAP = 1.0
SHORT_CAP_BASE = 2.0  # a short answer is capped by what it can state: 2 + 10 · own words / words needed
SHORT_NEEDED = 24  # own-word weight of a full statement (an English word counts 2, a Chinese pair 1) ...
SHORT_NEEDED_SHARE = 0.5  # ... or half the reference answer's, when that is shorter
SWITCH_HINT = "Offline grade (key-point coverage, an approximation). For a model's judgement: --grader llm --model M, or set INTERVIEWER_MODEL."


@dataclass
class _Point:
    point: KeyPoint
    criterion: Criterion
    context: set[str] = field(default_factory=set)  # content words of the point's own description


_PREPARED: dict[int, tuple[Rubric, frozenset[str], list[_Point], set[str]]] = {}
_PREPARED_MAX = 256


def _prepared(rubric: Rubric, echo: set[str]) -> tuple[list[_Point], set[str]]:
    """The rubric's points and vocabulary, worked out once per rubric and question (a batch grades many answers
    to one question). Read-only once made."""
    key, frozen = id(rubric), frozenset(echo)
    hit = _PREPARED.get(key)
    if hit is not None and hit[0] is rubric and hit[1] == frozen:
        return hit[2], hit[3]
    if len(_PREPARED) >= _PREPARED_MAX:
        _PREPARED.pop(next(iter(_PREPARED)))
    points, vocab = _points(rubric, echo), _vocabulary(rubric, echo)
    _PREPARED[key] = (rubric, frozen, points, vocab)
    return points, vocab


def _points(rubric: Rubric, echo: set[str]) -> list[_Point]:
    flat = []
    for crit in rubric.criteria:
        for kp in crit.key_points:
            alias_tokens = {t for a in kp.aliases for t in content_tokens(a)}
            words = " ".join([kp.text, kp.text_en, *kp.explain])
            context = set(content_tokens(words)) - alias_tokens - echo
            flat.append(_Point(kp, crit, context))
    return flat


def _explains(p: _Point, s: Sentence) -> bool:
    """The sentence gives the point's reason or mechanism, not just a word about it."""
    if any((rx := alias_regex(w)) is not None and rx.search(s.folded) for w in p.point.explain):
        return True
    return len(p.context & s.own) >= 2


def _point_credit(
    i: int, p: _Point, sents: list[Sentence], clauses: list[Clause], own_all: set[str]
) -> tuple[float, str, str]:
    """(credit, evidence, state) with state one of explained | stated | named | denied | other_words | missing."""
    if p.point.tokens:  # a reference-answer point: the share of its content words the answer uses
        wanted = set(p.point.tokens)
        share = len(wanted & own_all) / len(wanted)
        credit = min(1.0, max(0.0, (share - 0.05) / 0.45)) ** 0.8
        state = "stated" if credit >= 0.5 else "other_words" if credit else "missing"
        return credit, (p.point.text if credit else ""), state
    best, evidence, state = 0.0, "", "missing"
    affirmed, denied = False, ""
    for c in clauses:
        mine = [m for m in c.mentions if m.point == i]
        if not mine:
            continue
        if all(m.negated for m in mine):
            denied = denied or ("strong" if any(m.negated == "strong" for m in mine) else "")
            continue
        affirmed = True
        s = sents[c.sentence]
        sentence_share = own_weight(list(s.own)) / max(
            1, sum(x.points for x in clauses if x.sentence == c.sentence)
        )
        if c.in_list:
            credit, how = 0.0, "named"
        elif c.share >= STATED_SHARE and (
            _explains(p, s) or (s.reason and sentence_share >= EXPLAINED_SHARE)
        ):
            credit, how = EXPLAINED, "explained"
        else:
            credit, how = STATED, "stated"
        if credit > best or state == "missing":
            best, evidence, state = credit, s.text, how
        if best == EXPLAINED:
            break
    if not affirmed:
        if denied:
            return 0.0, "", "denied"
        if len(p.context) >= 3:  # the point in other words: its description's content words
            share = len(p.context & own_all) / len(p.context)
            credit = FUZZY_MAX * min(1.0, max(0.0, (share - FUZZY_FLOOR) / (FUZZY_FULL - FUZZY_FLOOR)))
            if credit > 0:
                return credit, "", "other_words"
        return 0.0, "", state if state != "missing" else "missing"
    return best, evidence, state


def _reaches_partial(crit: Criterion, said: set[str], echo: set[str]) -> bool:
    """The answer says what the rubric's "partial" level describes: one of its quoted phrases ("只说“大模型教小模型”")
    in the answer's own statements, or most of the level's words beyond the question's."""
    texts = QUOTE_RE.findall(crit.partial) or ([crit.partial] if crit.partial else [])
    for t in texts:
        wanted = {w for w in content_tokens(t) if w not in GLUE}
        new = wanted - echo
        if len(wanted) >= 2 and new & said and len(wanted & said) >= PARTIAL_SHARE * len(wanted):
            return True
    return False


def _partial_label(rubric: Rubric) -> str:
    return (
        "the rubric's partial level" if rubric.lang == "en" else "达到“部分”要求 / the rubric's partial level"
    )


def _vocabulary(rubric: Rubric, echo: set[str]) -> set[str]:
    """The words of the rubric's own text: what an answer on this subject draws on."""
    texts = [rubric.reference_answer, rubric.reference_answer_en]
    for c in rubric.criteria:
        texts += [c.name, c.description, c.met, c.partial, c.description_en]
        texts += [
            f"{kp.text} {kp.text_en} {' '.join(kp.explain)} {' '.join(kp.aliases)}" for kp in c.key_points
        ]
    return {t for t in content_tokens(" ".join(texts)) if t not in GLUE} - echo


def _mostly_off_subject(clauses: list[Clause], vocab: set[str]) -> bool:
    """Most statements about the terms use none of the subject's words: talk around terms ("线性投影的作用是把词向量
    压缩成整数编号方便查表"), or padding. Only said of answers with three such statements or more, on a rubric
    rich enough in words to tell."""
    stating = [c for c in clauses if c.mentions and c.own and not c.in_list]
    if len(stating) < 3 or len(vocab) < RICH_VOCABULARY:
        return False
    off = sum(1 for c in stating if not set(c.own) & vocab)
    return off >= OFF_SUBJECT_SHARE * len(stating)


def _topical_weight(clauses: list[Clause], vocab: set[str]) -> int:
    """How much the answer says on the subject: own words of clauses that name a point or use the rubric's
    words. Generic padding ("具体情况具体分析") says nothing on it."""
    return sum(own_weight(c.own) for c in clauses if c.mentions or set(c.own) & vocab)


def _denied_strongly(i: int, clauses: list[Clause]) -> bool:
    return any(m.point == i and m.negated == "strong" for c in clauses for m in c.mentions)


def _mistakes(rubric: Rubric, texts: list[str]) -> list[str]:
    compacted = [compact(s) for t in texts for s in sentences(t) or [t]]
    found = []
    for mistake in rubric.mistakes:
        for pattern in mistake.patterns:
            p = compact(pattern)
            if p and any((i := c.find(p)) >= 0 and not is_negated(c, i) for c in compacted):
                found.append(mistake.text)
                break
    return found


STATE_LABEL = {
    "explained": "Explained",
    "stated": "Stated",
    "other_words": "In other words",
    "partial_level": "Reaches",
    "named": "Named only",
    "denied": "Denied",
    "missing": "Missing",
}


def _comment(states: list[tuple[KeyPoint, str]]) -> str:
    groups: dict[str, list[str]] = {}
    for kp, state in states:
        groups.setdefault(state, []).append(kp.text)
    return "; ".join(f"{STATE_LABEL[s]}: {', '.join(groups[s])}" for s in STATE_LABEL if s in groups)


def _scale(results: list[CriterionResult], limit: float) -> None:
    """Scale every criterion so the weighted total is `limit`: a capped grade never shows full marks beside it."""
    total = weighted_score(results)
    if total <= limit or total <= 0:
        return
    factor = limit / total
    for r in results:
        r.score = round(r.score * factor, 1)
        r.verdict = verdict_for(r.score / r.max_score)


def grade_offline(
    question_id: str,
    question_text: str,
    rubric: Rubric,
    answer: str,
    follow_ups: tuple[FollowUp, ...] | list[FollowUp] = (),
    hint: str = "",
) -> Grade:
    started = time.perf_counter()
    parts = answer_parts(answer, follow_ups)
    if not parts:
        return non_answer_grade(question_id, rubric, answer)
    flags: list[str] = []
    cleaned = []
    for part in parts:  # instructions to the grader are not content
        spans = injection_spans(part)
        for start, end in reversed(spans):
            part = part[:start] + " " + part[end:]
        cleaned.append(part)
        if spans and "injection_suspected" not in flags:
            flags.append("injection_suspected")
    text = "\n".join(cleaned)
    echo = set(content_tokens(f"{question_text} {hint}"))
    points, vocab = _prepared(rubric, echo)
    sents, clauses = read_answer(
        text, [p.point.aliases for p in points], [p.point.explain for p in points], echo
    )
    own_all = {t for s in sents for t in s.own}
    said = {t for c in clauses if not c.in_list for t in content_tokens(c.folded) if t not in GLUE}

    results: list[CriterionResult] = []
    absent: dict[str, list[str]] = {}
    denied: list[str] = []
    coverage_num = coverage_den = 0.0
    weakest: tuple[float, float, Criterion] | None = None
    index = 0
    for crit in rubric.criteria:
        credits, states, evidence = [], [], []
        for _kp in crit.key_points:
            credit, ev, state = _point_credit(index, points[index], sents, clauses, own_all)
            index += 1
            credits.append(credit)
            states.append((_kp, state))
            if state == "denied" and _denied_strongly(index, clauses):
                denied.append(_kp.text)
            if ev and credit > 0 and ev not in evidence:
                evidence.append(ev)
        fraction = sum(credits) / len(credits) if credits else 0.0
        if fraction < PARTIAL_FLOOR and _reaches_partial(crit, said, echo):
            fraction = PARTIAL_FLOOR
            states.append((KeyPoint(text=_partial_label(rubric), aliases=[]), "partial_level"))
        coverage_num += crit.weight * fraction
        coverage_den += crit.weight
        if weakest is None or (fraction, -crit.weight) < (weakest[0], weakest[1]):
            weakest = (fraction, -crit.weight, crit)
        score = MAX_SCORE * fraction**CURVE
        results.append(
            CriterionResult(
                id=crit.id,
                name=crit.name,
                weight=crit.weight,
                score=round(score, 1),
                verdict=verdict_for(score / MAX_SCORE),
                evidence=" … ".join(e[:160] for e in evidence[:2]),
                comment=_comment(states),
            )
        )
        absent[crit.id] = [kp.text for kp, s in states if s in ("missing", "named", "denied")]

    coverage = coverage_num / coverage_den if coverage_den else 0.0
    mistakes = _mistakes(rubric, cleaned)
    errors = len(mistakes) + len(denied)
    accuracy = min(1.0, ACCURACY_GAIN * coverage)
    checked = f"checked {len(rubric.mistakes)} known wrong claims and whether any key point is denied"
    if errors:
        wrong = [*mistakes, *(f"denies “{d}”" for d in denied)]
        acc_comment = "Wrong claims: " + "; ".join(wrong) + f" ({checked})."
    elif accuracy < 1.0:
        acc_comment = f"No wrong claim found ({checked}); credited in proportion to what the answer states."
    else:
        acc_comment = f"No wrong claim found ({checked})."
    results.append(
        CriterionResult(
            id=ACCURACY_ID,
            name=rubric.accuracy.name,
            weight=rubric.accuracy_weight,
            score=round(MAX_SCORE * accuracy, 1),
            verdict=verdict_for(accuracy),
            comment=acc_comment,
        )
    )

    # Caps: what the answer can be worth at most, whatever its terms. Each names its reason.
    limits: list[tuple[float, str]] = []
    if is_list(text, clauses, echo) and not is_list(rubric.reference_answer, [], set()):
        flags.append("keyword_list")
        limits.append((KEYWORD_LIST_CAP, "the answer lists terms without saying anything about them"))
    topical = _topical_weight(clauses, vocab)
    if visible_length(text) < 15 or topical < 6:
        flags.append("too_short")
    needed = SHORT_NEEDED
    if rubric.reference_answer:
        needed = min(needed, SHORT_NEEDED_SHARE * own_weight(own_tokens(fold(rubric.reference_answer), echo)))
    limits.append(
        (SHORT_CAP_BASE + MAX_SCORE * topical / max(1.0, needed), "the answer is too short to state more")
    )
    if coverage < 0.05 and _topicality(question_text, text) < 0.15:
        flags.append("off_topic")
        limits.append((OFF_TOPIC_CAP, "the answer does not address this question"))
    if _mostly_off_subject(clauses, vocab):
        flags.append("off_subject")
        limits.append((OFF_SUBJECT_CAP, "what it says about the terms is not about this subject"))
    if "injection_suspected" in flags:
        limits.append((INJECTION_CAP, "text addressed to the grader was ignored"))
    cap_reason = ""
    limit, reason = min(limits)
    if weighted_score(results) > limit:
        _scale(results, limit)
        cap_reason = f"Capped at {limit:.1f}: {reason}."
    if errors:  # after any cap, so a wrong claim always costs
        factor = ERROR_FACTORS[min(errors, len(ERROR_FACTORS) - 1)]
        for r in results:
            keep = max(0.0, 1.0 - ERROR_ACCURACY * errors) if r.id == ACCURACY_ID else factor
            r.score = round(r.score * keep, 1)
            r.verdict = verdict_for(r.score / r.max_score)
        flags.append("wrong_claims")
    score = round(max(0.0, min(MAX_SCORE, weighted_score(results))), 1)
    content = [
        r for r in results if r.id != ACCURACY_ID
    ]  # named from the final verdicts, after caps and costs
    strengths = [r.name for r in content if r.verdict == "met"]
    missing = [
        f"{r.name}: {'; '.join(absent[r.id][:3])}" if absent[r.id] else r.name
        for r in content
        if r.verdict != "met"
    ]

    weak = weakest[2] if weakest is not None else None
    grade = Grade(
        question_id=question_id,
        status="graded",
        score=score,
        criteria=results,
        strengths=strengths,
        missing=missing + [f"Wrong claim: {m}" for m in mistakes] + [f"Denied: {d}" for d in denied],
        feedback=_feedback(strengths, missing, mistakes, denied, flags, cap_reason),
        better_answer=outline(rubric),
        follow_up=follow_up_on(weak.name, question_text) if weak is not None and score < 9.5 else "",
        flags=flags,
        grader=GraderInfo(
            kind="offline",
            prompt_version=PROMPT_VERSION,
            rubric_version=rubric.version_tag,
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
        ),
    )
    if cap_reason:
        grade.extra["cap"] = cap_reason
    return grade


def _topicality(question_text: str, text: str) -> float:
    """Share of the question's own content tokens that the answer uses: near 0 for an answer to another question."""
    wanted = set(content_tokens(question_text))
    if not wanted:
        return 1.0
    return len(wanted & set(content_tokens(text))) / len(wanted)


def _feedback(
    strengths: list[str],
    missing: list[str],
    mistakes: list[str],
    denied: list[str],
    flags: list[str],
    cap: str,
) -> str:
    parts = []
    if strengths:
        parts.append("Covered: " + ", ".join(strengths) + ".")
    if missing:
        parts.append("Missing or thin: " + "; ".join(missing) + ".")
    if mistakes:
        parts.append("Wrong claims: " + "; ".join(mistakes) + ".")
    if denied:
        parts.append("Denied key points: " + "; ".join(denied) + ".")
    if "keyword_list" in flags:
        parts.append("The answer names terms without saying anything about them; say what each does and why.")
    if "off_topic" in flags:
        parts.append("The answer does not address this question.")
    if "injection_suspected" in flags:
        parts.append("Text addressed to the grader was ignored.")
    if cap:
        parts.append(cap)
    parts.append(SWITCH_HINT)
    return " ".join(parts)
