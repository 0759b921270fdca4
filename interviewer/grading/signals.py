"""Signals read off an answer: injection attempts, reasoning phrases, keyword lists, negation. Pure functions."""

from __future__ import annotations

import re

from interviewer.textnorm import HAN_RUN, WORD_RE, fold

INJECTION_PATTERNS = [
    r"(ignore|disregard|forget|override)\s+(all\s+|any\s+)?(the\s+|your\s+)?(previous|prior|above|earlier|preceding|grading|scoring)\b",
    r"(忽略|无视|忘记|忘掉|跳过|不要理会|覆盖)(掉)?(以上|上面|之前|前面|上述|先前|所有|全部|你的|原有|原来)?的?(所有|全部)?的?(指令|指示|规则|评分|要求|提示|标准|设定|rubric)",
    r"(给|打|评|判)(我|这个|本|该|此)?(回答|答案|答复)?(打)?(个)?(满分|最高分|10\s*分|十分|100\s*分)",
    r"(满分|最高分)(给我|吧|!|！)",
    r"\b(give|grade|score|rate|award|mark)\s+(this|me|it|the\s+answer|my\s+answer)?\s*(a\s+)?(10|ten|full|perfect|maximum|max)\b",
    r"\b10\s*/\s*10\b",
    r"(\"|')?score(\"|')?\s*[:=]\s*10\b",
    r"\b(you are now|act as|pretend to be|new instructions?|system prompt)\b",
    r"(你现在是|你是一个|新的指令|系统提示|作为评分(者|员|人)|评分员请|评分者请|致评分)",
    r"</?\s*(answer|system|user|assistant|candidate|instructions?|data|rubric)[\w-]*\s*>",
    r"^\s*(system|assistant|user)\s*[:：]",
    r"\b(end of (the )?answer|answer ends here)\b",
    r"(回答结束|答案结束)",
    r"<<<|>>>|\[/?(inst|system)\]",
]
_INJECTION_RE = [re.compile(p, re.IGNORECASE | re.MULTILINE) for p in INJECTION_PATTERNS]

REASON_MARKERS = [
    "因为", "由于", "所以", "因此", "从而", "导致", "使得", "使其", "避免", "防止", "以便", "否则", "意味着", "原因",
    "是为了", "目的是", "为了", "进而", "这样", "于是", "可以让", "能让", "会让", "才能", "取决于", "相当于", "本质上",
    "通过", "来自", "代价", "缺点", "优点", "好处", "问题是", "但是", "而不是", "相比", "比如", "例如",
    "because", "since", "so that", "therefore", "thus", "hence", "which", "leads to", "lead to", "causes", "cause",
    "results in", "in order to", "prevent", "avoid", "allows", "allow", "means", "due to", "so the", "otherwise",
    "instead of", "compared", "whereas", "by ", "this way", "for example", "e.g.", "such as", "the reason",
]  # fmt: skip
NEGATIONS = [
    "不是",
    "并非",
    "不会",
    "不能",
    "没有",
    "并不",
    "不",
    "无法",
    "而非",
    "误以为",
    "错误地",
    "not ",
    "n't ",
    "no ",
    "never ",
]


def injection_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for rx in _INJECTION_RE:
        spans += [(m.start(), m.end()) for m in rx.finditer(text)]
    return sorted(spans)


def has_injection(text: str) -> bool:
    return bool(injection_spans(text))


def has_reason(sentence: str) -> bool:
    f = fold(sentence)
    return any(marker in f for marker in REASON_MARKERS)


def is_negated(folded: str, index: int) -> bool:
    """A mention right after a negation (`不是为了减少计算量`) is not a claim."""
    window = folded[max(0, index - 8) : index]
    return any(neg.strip() and neg in window for neg in NEGATIONS)


def segment_lengths(text: str) -> list[int]:
    """Content length of each list item / clause: a keyword list has many very short segments."""
    segs = re.split(r"[\n,，、;；。.!！?？|/]+|\s[-*•]\s|^\s*[-*•]\s", text, flags=re.MULTILINE)
    lengths = []
    for seg in segs:
        f = fold(seg)
        n = sum(len(r) for r in HAN_RUN.findall(f)) + 2 * len(WORD_RE.findall(f))
        if n:
            lengths.append(n)
    return lengths


def looks_like_keyword_list(text: str) -> bool:
    """Bare terms without explanation: short segments, almost no reasoning words."""
    lengths = segment_lengths(text)
    if len(lengths) < 3:
        return False
    short = sum(1 for n in lengths if n <= 8) / len(lengths)
    f = fold(text)
    reasons = sum(f.count(m) for m in REASON_MARKERS)
    return short >= 0.7 and reasons <= max(1, len(lengths) // 6)
