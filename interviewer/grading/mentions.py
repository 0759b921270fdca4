"""Where an answer mentions a key point, whether it affirms or denies it, and what it says around it. Pure functions.

A mention is an alias found in one sentence, with its span, so the grader can tell a statement ("点积的方差随 d_k
增大") from a bare term ("点积 softmax 方差"): the words left when every mention is cut out of a sentence — less
connectives, filler and the question's own words — are what the sentence says about its points.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache

from interviewer.content.textnorm import EN_STOP, HAN, HAN_STOP, compact, content_tokens, fold, stem

# Characters the compact comparison ignores; an alias matches with any of them in between its characters.
_GAP = r"[\s\-_·•*`'\"“”‘’/]*"
_GAP_CHARS = re.compile(_GAP[:-1] + "+")
_ASCII_EDGE = re.compile(r"[a-z0-9]")
CLAUSE_END = re.compile(r"[，,;；:：、()（）]")

# A cue right before a mention (same clause) that denies it: `没有线性投影`, `不需要 softmax`, `without scaling`.
# Strong cues deny that the thing exists or is needed; weak ones (`不会`, `not`) may be a correct "does not
# saturate", so they only withhold credit.
STRONG_BEFORE = re.compile(
    r"没有|没|不是|不需要|不需|不用|不必|无需|无须|并非|而非|不经过|不经|未经|并未|从未|毫无|并无|别"
    r"|\b(no|without|neither|nor|isn't|aren't|is not|are not|does not need|doesn't need|do not need|don't need)\b"
)
NEGATION_BEFORE = re.compile(
    STRONG_BEFORE.pattern + r"|不|未|\b(not|never|cannot|can't|don't|doesn't|won't|wouldn't)\b|n't\b"
)
# Words that start with a negation character but deny nothing (`不同的头`, `不仅`, `不得不`).
NOT_NEGATION = re.compile(
    r"不同|不仅|不断|不少|不错|不止|不管|不论|不但|不只|不光|不得不|要不|不一样|不定|\bnot only\b|\bno longer\b"
)
# Before the negation: a condition or a purpose, so the sentence still affirms the point
# (`如果不缩放，…`, `这样就不会梯度消失`, `to avoid …`, `otherwise …`).
CONDITIONAL = re.compile(r"如果|若|假如|要是|一旦|否则|不然|\b(otherwise|unless|if|when)\b")
COUNTERFACTUAL = re.compile(
    CONDITIONAL.pattern
    + r"|避免|防止|以免|就|才|从而|便|因而|使得|让|\b(so that|avoid|avoids|prevent|prevents|so)\b"
)
# A cue right after a mention that denies it: `梯度消失与缩放无关`, `softmax is not needed`.
NEGATION_AFTER = re.compile(
    r"^.{0,6}?(无关|没关系|没有关系|没有影响|无影响|不重要|没用|没必要|多余|是错的|不存在|不成立|可以省略|可以去掉|可有可无|不需要了)"
    r"|^.{0,24}?\b(is|are|was|were)?\s*(irrelevant|unnecessary|useless|not needed|not required|not necessary|redundant)\b"
    r"|^.{0,24}?\b(doesn't|does not|do not|don't) matter\b|^.{0,24}?\bnothing to do with\b"
)

# Connectives and filler: they join terms but say nothing about them.
GLUE = frozenset(
    [
        "因为", "所以", "由于", "因此", "从而", "导致", "使得", "然后", "而且", "并且", "还有", "以及", "其次", "首先",
        "最后", "另外", "此外", "同时", "就是", "也是", "就会", "这样", "那么", "于是", "进而", "接着", "而是", "或者",
        "非常", "重要", "关键", "核心", "觉得", "认为", "东西", "问题", "方面", "这个", "那个", "一个", "一些", "很多",
        "比较", "主要", "基本", "其实", "总之", "来说", "一点", "作用", "发挥", "效果", "提升", "起到", "可以", "能够",
        "进行", "实现", "相关", "方法", "技术", "机制", "概念", "原理", "内容", "部分", "环节", "步骤", "过程", "因素",
        "有关", "涉及", "包括", "没有", "不是", "不会", "不能", "无关", "需要", "不需", "不用", "包含", "体现", "意义", "价值", "优势", "好处", "特点", "很好", "更好", "一种", "里面",
        "当中", "其中", "之间", "以后", "之后", "之前", "然后", "再者", "总结", "概括", "综上", "要点", "角度", "层面",
        # talk about knowing a thing is not talk about the thing
        "面试", "经常", "常见", "讨论", "记得", "印象", "资料", "博客", "同事", "项目", "见过", "看过", "听说", "听过",
        "提到", "问到", "被问", "工程", "大家", "之前", "深刻", "了解", "熟悉", "知道", "学过", "用过", "接触", "事情",
        "一块", "这块", "关于", "讲过", "说过", "里很", "领域", "业界", "常用", "流行", "热门", "经典", "知识", "理解", "掌握", "研究", "文章", "论文里",
        "interview", "common", "discuss", "rememb", "heard", "read", "blog", "colleagu", "project", "familiar",
        "know", "seen", "saw", "often", "usual", "come", "lot", "popular", "topic", "learn", "studi", "articl",
        "because", "so", "therefore", "thus", "hence", "then", "also", "plus", "important", "key", "core", "really",
        "basic", "basically", "thing", "aspect", "role", "play", "effect", "improv", "use", "concept", "mechan",
        "techniqu", "method", "relat", "stuff", "etc", "overal", "crucial", "essenti", "signific", "fundament",
        "first", "second", "third", "final", "finally", "anoth", "addit", "point", "part", "step", "factor",
        "involv", "includ", "result", "lead", "caus", "make", "help", "good", "better", "great", "way", "matter",
    ]
)  # fmt: skip


PRONOUN = re.compile("[我你他她咱]")  # "给我讲过" is about the speaker, not the subject
WEAK_CHARS = HAN_STOP | frozenset("了会要让使就都也而很没着过能可更从吧呢啊嘛呀哦")


@dataclass(frozen=True)
class Mention:
    point: int  # the key point's index in the rubric's flat list of points
    start: int  # span in the folded sentence
    end: int
    negated: str  # "" | "weak" | "strong"


def _piece(chunk: str, relaxed: bool) -> str:
    """One run of an alias as a pattern: English words by stem (`saturate` finds `saturation`), the rest literally.
    Relaxed, a word is its root alone: enough to cut it out of glued text."""
    if re.fullmatch(r"[a-z]+", chunk):
        root = os.path.commonprefix([chunk, stem(chunk)])  # `vocabulary` → stem `vocabulari` → `vocabular`
        if len(chunk) <= 3 or len(root) < 4:
            return re.escape(chunk) + (r"(?:s|es|ed|ing)??" if relaxed else r"(?:s|es|ed|ing)?")
        return re.escape(root) + (
            r"[a-z]{0,7}?" if relaxed else r"[a-z]{0,7}"
        )  # an inflection, not the next word
    return _GAP.join(re.escape(c) for c in chunk)


@lru_cache(maxsize=16384)
def alias_regex(alias: str, relaxed: bool = False) -> re.Pattern | None:
    """An alias as a pattern over folded text: words stand as words (`train` is not in `constraint`), English words
    match their inflections, and spaces, hyphens and quotes may come and go (`dot-product` = `dot product`)."""
    a = fold(alias)
    if len(compact(a)) < 2:  # symbols carry the alias (`*V`, `)V`): match them literally, spaces aside
        literal = a.replace(" ", "")
        if len(literal) < 2:
            return None
        tail = r"(?![a-z0-9])" if _ASCII_EDGE.match(literal[-1]) else ""
        return re.compile(r"\s*".join(re.escape(c) for c in literal) + tail)
    chunks = re.findall(rf"[a-z]+|[0-9]+|[{HAN}]+|[^\sa-z0-9{HAN}\-_·•*`'\"“”‘’/]", a)
    if not chunks:
        return None
    body = _GAP.join(_piece(c, relaxed) for c in chunks)
    if relaxed:  # only to cut terms out of glued text (`wdelta w`, `bad casebad case`), never to credit
        return re.compile(body)
    lead = r"(?<![a-z0-9])" if _ASCII_EDGE.match(a[0]) else ""
    tail = r"(?![a-z0-9])" if _ASCII_EDGE.match(a[-1]) else ""
    return re.compile(lead + body + tail)


@lru_cache(maxsize=16384)
def _needle(alias: str) -> str:
    """A piece every match of the alias contains as is (its longest Chinese run, or an English word's root);
    "" when there is none to test."""
    a = fold(alias)
    pieces = re.findall(rf"[{HAN}]+", a)
    for w in re.findall(r"[a-z]+", a):
        root = os.path.commonprefix([w, stem(w)])
        pieces.append(w if len(w) <= 3 or len(root) < 4 else root)
    return max(pieces, key=len) if pieces else ""


def _negated(folded: str, start: int, end: int) -> str:
    """ "strong" or "weak" when a cue in the same clause denies the mention, else ""."""
    clause = CLAUSE_END.split(folded[max(0, start - 40) : start])[-1]
    near = clause[-12:]
    cues = list(NEGATION_BEFORE.finditer(near))
    if cues:
        cue = cues[-1]
        offset = len(clause) - len(near)
        head = clause[: offset + cue.start()]
        window = near[max(0, cue.start() - 2) : cue.end() + 2]
        strong = bool(STRONG_BEFORE.fullmatch(cue.group(0)))
        # a condition ("如果没有缩放…") undoes any cue; a purpose ("这样就不会饱和") only a weak one
        undone = CONDITIONAL.search(head) if strong else COUNTERFACTUAL.search(head)
        if not NOT_NEGATION.search(window) and not undone:
            return "strong" if strong else "weak"
    after = CLAUSE_END.split(folded[end : end + 30])[0]
    return "strong" if NEGATION_AFTER.search(after) else ""


def find_mentions(folded: str, point_aliases: list[list[str]], relaxed: bool = False) -> list[Mention]:
    """Every point's alias occurrences in one folded sentence, longest alias first, spans not overlapping."""
    found: list[tuple[int, int, int]] = []
    squeezed = _GAP_CHARS.sub("", folded)
    for pi, aliases in enumerate(point_aliases):
        for alias in aliases:
            needle = _needle(alias)
            if needle and needle not in squeezed:
                continue  # a plain substring test first: most aliases are not in most clauses
            rx = alias_regex(alias, relaxed)
            if rx is None:
                continue
            found += [(m.start(), m.end(), pi) for m in rx.finditer(folded) if m.end() > m.start()]
    mentions: list[Mention] = []
    for start, end, pi in sorted(found, key=lambda f: -(f[1] - f[0])):
        if any(start < m.end and m.start < end for m in mentions):
            continue
        mentions.append(Mention(pi, start, end, _negated(folded, start, end)))
    return sorted(mentions, key=lambda m: m.start)


_WORD_CHAR = re.compile(r"[a-z0-9]")


def whole_words(folded: str, mentions: list[Mention]) -> list[Mention]:
    """Mentions widened to the English words they sit in: a term glued into a word (`conversionconversion`,
    `mt5bidirectional`) takes the whole word with it, so no fragment of it passes for the candidate's own word."""
    out = []
    for m in mentions:
        start, end = m.start, m.end
        while start > 0 and _WORD_CHAR.match(folded[start - 1]) and _WORD_CHAR.match(folded[start]):
            start -= 1
        while end < len(folded) and _WORD_CHAR.match(folded[end]) and _WORD_CHAR.match(folded[end - 1]):
            end += 1
        out.append(Mention(m.point, start, end, m.negated))
    return out


def residual(folded: str, mentions: list[Mention]) -> str:
    """The sentence with every mention cut out: what it says besides naming points."""
    out, last = [], 0
    for m in sorted(mentions, key=lambda m: m.start):
        if m.start >= last:
            out.append(folded[last : m.start])
            out.append(" | ")
        last = max(last, m.end)
    out.append(folded[last:])
    return "".join(out)


FORMULA = re.compile(r"[=+*^√∑×<>≈∝∂/()]")


def own_weight(tokens: list[str]) -> int:
    """How much a clause says: an English word counts two, a Chinese character pair one (about the same content)."""
    return sum(1 if "@" in t or not t.isascii() else 2 for t in tokens)


_GLUE_HAN = re.compile("|".join(sorted((g for g in GLUE if not g.isascii()), key=len, reverse=True)))


def own_tokens(text: str, echo: set[str]) -> list[str]:
    """Content tokens that are the candidate's own: not connectives or filler, not the question's words.
    Filler is cut out before Chinese characters are paired, so `发挥了重要作用` leaves no pair behind."""
    text = _GLUE_HAN.sub(" | ", text)
    tokens = [
        t
        for t in content_tokens(text)
        if t not in GLUE
        and t not in echo
        and t not in EN_STOP
        and not (len(t) == 1 and t in WEAK_CHARS)
        and not PRONOUN.search(t)
    ]
    return tokens + [f"{m.group(0)}@{m.start()}" for m in FORMULA.finditer(text)]  # a formula says something
