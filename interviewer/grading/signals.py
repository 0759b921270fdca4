"""Signals read off an answer: injection attempts, reasoning phrases, keyword lists, negation. Pure functions."""

from __future__ import annotations

import re

from interviewer.content.textnorm import EN_STOP, HAN_RUN, WORD_RE, fold

INJECTION_PATTERNS = [
    # orders to drop the rules
    r"(ignore|disregard|forget|override)\s+(all\s+|any\s+)?(the\s+|your\s+|my\s+)?(previous|prior|above|earlier|preceding|grading|scoring|system)\b",
    r"(忽略|无视|忘记|忘掉|不要理会|覆盖)(掉)?(以上|上面|之前|前面|上述|先前|所有|全部|你的|原有|原来)?的?(所有|全部)?的?(指令|指示|规则|评分|要求|提示|标准|设定|rubric)",
    r"(指示|指令).{0,6}(無視|无视|무시)|(無視|무시)して|지시를\s*무시",
    # demands for a score
    r"(给|打|评|判|记|得|判为|评为|给出|打出)(我|这个|本|该|此|本题)?(回答|答案|答复)?(打|评|判)?(为)?(个)?\s*(满分|最高分|10\s*分|十分|100\s*分)",
    r"(满分|最高分)\s*(给我|吧|!|！)|(即为|即可得|统一记|直接给)\s*(满分|10\s*分)",
    r"(按|以|当作?|视为|作为)\s*(满分|最高分|10\s*分|优秀)\s*(处理|计|算|评|对待|打分|给分)|请.{0,8}(满分|最高分)",
    r"10\s*(点|점)を?\s*(付け|주세요|줘)|10점을",
    r"\b(give|grade|score|rate|award|mark|assign)\s+(this|me|it|the\s+answer|my\s+answer|the\s+candidate)?\s*(a\s+|an\s+)?(10|ten|full|perfect|maximum|max|top)\b",
    r"\b(full|perfect|maximum|top)\s+(marks|score|points)\b",
    r"\b(grade|score|rate|mark|treat)\s+(this|it|me|my\s+answer|the\s+answer)\s+(as\s+)?(excellent|perfect|outstanding|full\s+marks|a\s+10|10)\b",
    r"\b10\s*/\s*10\b|\bscore\s+of\s+10\b",
    r"(\"|')?score(\"|')?\s*[:=]\s*10\b",
    # notes addressed to the grader, fake roles and delimiters
    r"\bnote\s+to\s+the\s+(grader|evaluator|scorer|reviewer|model|judge|llm)\b|\b(you are now|pretend to be|new instructions?:)",
    r"(评分|打分|阅卷)(系统|模型|器|员|者|人)(请|注意|备注|须知)|给(评分|打分)(系统|模型|器)|面试官备注|已由面试官预审|仅评分模型可见|评分标准已(调整|修改|更新)",
    r"(你现在是|新的指令|作为评分(者|员|人)|致评分)",
    r"</?\s*(answer|system|user|assistant|candidate|instructions?|data|rubric)[\w-]*\s*>",
    r"^\s*(system|assistant)\s*[:：]",
    r"\b(end of (the )?answer|answer ends here)\b|(回答结束|答案结束)",
    r"<<<|>>>|\[/?(inst|system)\]|<\|im_(start|end)\|>",
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
    "不是", "并非", "不会", "不能", "没有", "并不", "不", "无法", "而非", "误以为", "错误地", "未", "别", "避免", "而不是",
    # the text is compacted (no spaces): English cues stand without their spaces
    "not", "n't", "dont", "doesnt", "didnt", "isnt", "arent", "wont", "never", "without", "instead", "rather",
    "wrong", "myth", "misconception",
]  # fmt: skip


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
    window = re.split(r"[，,。;；:：!?！？]", folded[max(0, index - 12) : index])[-1]
    return any(neg in window for neg in NEGATIONS)


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


FUNCTION_CHARS = frozenset("的了是在会要把被让使就都也而这那它其所因如果但则即很没着过能可更对从")


def function_word_ratio(text: str) -> float:
    """Share of function words (的/了/是…, the/of/is…): near 0 in a bare list of terms, ~0.1–0.3 in prose."""
    f = fold(text)
    han = "".join(HAN_RUN.findall(f))
    words = WORD_RE.findall(f)
    n = len(han) + len(words)
    if not n:
        return 0.0
    return (sum(1 for c in han if c in FUNCTION_CHARS) + sum(1 for w in words if w in EN_STOP)) / n


def looks_like_keyword_list(text: str) -> bool:
    """Bare terms without explanation: several short segments and almost no function words."""
    lengths = segment_lengths(text)
    if len(lengths) < 3:
        return False
    short = sum(1 for n in lengths if n <= 8) / len(lengths)
    return short >= 0.85 and function_word_ratio(text) < 0.1
