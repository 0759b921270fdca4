"""Rubrics: weighted criteria with key points. Curated TOML files, or derived from a hint or a reference answer."""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

from interviewer.config import refuse_if_others_can_write
from interviewer.content.assets import asset_dir
from interviewer.content.bank import Question, read_text
from interviewer.content.textnorm import HAN_RUN, content_tokens, fold, sentences
from interviewer.errors import RubricError

ACCURACY_ID = "accuracy"
SLUG_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass
class KeyPoint:
    text: str
    aliases: list[str]
    explain: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)  # fuzzy match (reference-derived points)
    text_en: str = ""


@dataclass
class Criterion:
    id: str
    name: str
    weight: float = 1.0
    description: str = ""
    met: str = ""
    partial: str = ""
    key_points: list[KeyPoint] = field(default_factory=list)
    name_en: str = ""
    description_en: str = ""


@dataclass
class Mistake:
    text: str
    patterns: list[str]
    text_en: str = ""


@dataclass
class Rubric:
    question_id: str
    source: str  # curated | derived | reference
    criteria: list[Criterion]
    version: int = 1
    reference_answer: str = ""
    mistakes: list[Mistake] = field(default_factory=list)
    accuracy_weight: float = 1.0
    path: str = ""
    reference_answer_en: str = ""
    lang: str = "zh"
    question: str = ""  # the question it was written for, so it follows its question when the bank is edited
    question_en: str = ""  # and that question in the English edition

    def localised(self, lang: str) -> Rubric:
        """The rubric as a candidate of that edition reads it: English names, points, mistakes and reference
        answer where the file gives them (matching still uses every alias)."""
        if lang != "en":
            return self
        r = copy.deepcopy(self)
        r.lang = "en"
        r.reference_answer = self.reference_answer_en or self.reference_answer
        for c in r.criteria:
            c.name = c.name_en or c.name
            c.description = c.description_en or c.description
            for kp in c.key_points:
                kp.text = kp.text_en or kp.text
        for m in r.mistakes:
            m.text = m.text_en or m.text
        return r

    @property
    def accuracy(self) -> Criterion:
        return Criterion(
            id=ACCURACY_ID,
            name="technical accuracy" if self.lang == "en" else "技术准确性 / technical accuracy",
            weight=self.accuracy_weight,
            description="No wrong claims; what is said is technically correct.",
            met="Everything stated is correct.",
            partial="Mostly correct, with a minor inaccuracy.",
        )

    @property
    def all_criteria(self) -> list[Criterion]:
        return [*self.criteria, self.accuracy]

    @property
    def version_tag(self) -> str:
        if self.source == "curated":
            return f"curated-v{self.version}"
        digest = hashlib.sha1(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:8]
        return f"{self.source}-{digest}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("path", None)
        return d


def follow_up_on(name: str, question_text: str) -> str:
    """A follow-up on one criterion that asks without giving the answer away, in the question's language."""
    if HAN_RUN.search(question_text):
        return f"能再具体讲讲「{name}」吗？为什么，怎么做？"
    return f"Could you go deeper into “{name}”: why does it matter, and how does it work?"


# ---------------------------------------------------------------- derivation from a hint

LEAD_PHRASES = [
    "从", "关注", "结合", "提及", "提到", "讨论", "强调", "考虑", "举例", "说明", "谈", "涉及", "参考", "引用",
    "围绕", "评估", "比较", "联想到", "给出", "指出", "分析", "注意", "包括", "重点",
    "focus on", "discuss", "consider", "mention", "compare", "explain", "cover", "include", "e.g.", "such as",
]  # fmt: skip
TRAIL_PHRASES = [
    "的角度分析", "的角度阐述", "的角度", "角度分析", "角度阐述", "角度", "层面拆解", "层面", "方面", "等场景", "等配置",
    "等策略", "等方法", "等", "讲起", "阐述", "分析", "拆解", "权衡", "场景", "策略",
]  # fmt: skip
SPLIT_RE = re.compile(r"[、，,；;。]|以及|与|和|及|或|/(?=[^a-zA-Z])|\band\b|\bor\b")


def _strip_phrases(term: str, leads: bool = True) -> str:
    term = term.strip(" 。.!！：:")
    changed = True
    while changed and term:
        changed = False
        low = term.lower()
        for lead in LEAD_PHRASES if leads else ():
            if low.startswith(lead) and len(term) > len(lead):
                term, changed, leads = term[len(lead) :].strip(), True, False  # one lead phrase at most
                break
        for trail in TRAIL_PHRASES:
            if term.endswith(trail) and len(term) > len(trail):
                term, changed = term[: -len(trail)].strip(), True
                break
    return term.strip(" 。.!！：:的")


def hint_terms(hint: str) -> list[str]:
    """`从并行化、全局感受野、梯度传播角度分析` → [并行化, 全局感受野, 梯度传播]."""
    body = _strip_phrases(hint)
    terms = []
    for part in SPLIT_RE.split(body):
        term = _strip_phrases(part, leads=False)
        if len(term) >= 2 and term.lower() not in (t.lower() for t in terms):
            terms.append(term)
    return terms


def question_parts(text: str) -> list[str]:
    """The sub-asks of a question: `解释 X，并说明 Y？` → [解释 X, 说明 Y]."""
    parts = re.split(r"[，,；;？?。]|并且|并(?=[说解给分比])", text)
    return [p.strip() for p in parts if len(p.strip()) >= 4]


@cache
def glossary() -> dict[str, list[str]]:
    path = asset_dir("rubrics") / "glossary.toml"
    if not path.exists():
        return {}
    return {fold(k): v for k, v in tomllib.loads(path.read_text(encoding="utf-8")).get("terms", {}).items()}


def term_aliases(term: str) -> list[str]:
    """A term, its glossary translations, and those of the glossary terms it contains."""
    aliases = [term]
    f = fold(term)
    gl = glossary()
    aliases += gl.get(f, [])
    for key, values in gl.items():
        if key != f and len(key) >= 2 and key in f:
            aliases += [key, *values]
    aliases += [w for w in re.findall(r"[A-Za-z][A-Za-z0-9\-+]{1,}", term) if w.lower() not in ("and", "or")]
    return list(dict.fromkeys(a for a in aliases if a.strip()))


def _slug(term: str, index: int) -> str:
    ascii_words = re.findall(r"[a-z0-9]+", fold(term))
    base = "_".join(ascii_words)[:24].strip("_")
    if not base or not SLUG_RE.match(base):
        base = f"c{index}" if not base else f"c{index}_{base}"
    return base


def _criterion(term: str, index: int, used: set[str]) -> Criterion:
    cid = _slug(term, index)
    while cid in used or cid == ACCURACY_ID:
        cid = f"{cid}_{index}"
    used.add(cid)
    return Criterion(
        id=cid,
        name=term,
        weight=1.0,
        description=f"The answer covers {term} correctly and explains it.",
        met=f"States {term} and explains why or how.",
        partial=f"Mentions {term} without explaining it.",
        key_points=[KeyPoint(text=term, aliases=term_aliases(term))],
    )


def derive_rubric(question: Question) -> Rubric:
    """A deterministic rubric from the hint's aspects (plus the question's own sub-asks if the hint gives < 2)."""
    terms = hint_terms(question.hint) if question.hint else []
    if len(terms) < 2:
        for part in question_parts(question.text):
            if part not in terms:
                terms.append(part)
            if len(terms) >= 2:
                break
    used: set[str] = set()
    criteria = []
    for i, term in enumerate(terms, 1):
        c = _criterion(term, i, used)
        if len(term) > 12:  # a sub-ask of the question: key points from the terms inside it
            c.key_points = _clause_points(term)
        criteria.append(c)
    return Rubric(question_id=question.id, source="derived", criteria=criteria)


def _clause_points(clause: str) -> list[KeyPoint]:
    """Key points for a long clause: glossary terms and English words inside it, else its content tokens."""
    gl = glossary()
    f = fold(clause)
    points = [KeyPoint(text=k, aliases=[k, *v]) for k, v in gl.items() if len(k) >= 2 and k in f]
    for word in re.findall(r"[A-Za-z][A-Za-z0-9\-+]{1,}", clause):
        if fold(word) not in gl:
            points.append(KeyPoint(text=word, aliases=[word]))
    if not points:
        points = [KeyPoint(text=clause, aliases=[], tokens=content_tokens(clause))]
    return points


def reference_rubric(question_id: str, question_text: str, reference: str, hint: str = "") -> Rubric:
    """A rubric for an ad-hoc question: each sentence of the reference answer is a fuzzy-matched key point."""
    points = []
    for sent in sentences(reference):
        tokens = list(
            dict.fromkeys(t for t in content_tokens(sent) if t not in content_tokens(question_text))
        )
        if len(tokens) >= 2 or (tokens and len(sentences(reference)) == 1):
            points.append(KeyPoint(text=sent, aliases=[], tokens=tokens))
    if not points:
        points = [KeyPoint(text=reference, aliases=[], tokens=content_tokens(reference))]
    criteria = [
        Criterion(
            id="reference",
            name="reference points",
            weight=2.0,
            description="The points of the reference answer",
            met="Covers every point of the reference answer",
            partial="Covers some of them",
            key_points=points,
        )
    ]
    if hint:
        used = {"reference"}
        criteria += [_criterion(t, i, used) for i, t in enumerate(hint_terms(hint), 1)]
    return Rubric(question_id=question_id, source="reference", criteria=criteria, reference_answer=reference)


# ---------------------------------------------------------------- curated files


def _require_str_list(path: str, where: str, value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RubricError(path, None, f"{where} must be a list of strings")
    cleaned = [v.strip() for v in value if v.strip()]
    if not cleaned:
        raise RubricError(path, None, f"{where} is empty")
    return cleaned


def parse_rubric(text: str, path: str = "<rubric>") -> Rubric:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise RubricError(path, int(m.group(1)) if m else None, f"invalid TOML: {exc}") from None
    qid = data.get("question_id")
    if not isinstance(qid, str) or not qid.strip():
        raise RubricError(path, None, "question_id is missing")
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RubricError(path, None, "version must be a positive integer")
    raw_criteria = data.get("criteria")
    if raw_criteria is None and str(data.get("reference_answer", "")).strip():
        raw_criteria = []  # a reference answer alone: the criteria are derived from it (see rubric_for)
    elif not isinstance(raw_criteria, list) or not raw_criteria:
        raise RubricError(
            path, None, "no [[criteria]]: a rubric needs at least one criterion, or a reference_answer"
        )
    criteria, seen = [], set()
    for i, c in enumerate(raw_criteria, 1):
        if not isinstance(c, dict):
            raise RubricError(path, None, f"criterion {i} must be a table")
        cid = c.get("id")
        if not isinstance(cid, str) or not SLUG_RE.match(cid):
            raise RubricError(
                path, None, f"criterion {i}: id {cid!r} must be a lowercase slug like 'scaling'"
            )
        if cid == ACCURACY_ID:
            raise RubricError(path, None, f"criterion {i}: id 'accuracy' is reserved")
        if cid in seen:
            raise RubricError(path, None, f"duplicate criterion id {cid!r}")
        seen.add(cid)
        name = c.get("name")
        if not isinstance(name, str) or not name.strip():
            raise RubricError(path, None, f"criterion {cid!r} has no name")
        weight = c.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
            raise RubricError(path, None, f"criterion {cid!r}: weight must be a positive number")
        kps = c.get("key_points")
        if not isinstance(kps, list) or not kps:
            raise RubricError(path, None, f"criterion {cid!r} has no key_points")
        points = []
        for j, kp in enumerate(kps, 1):
            if not isinstance(kp, dict) or not isinstance(kp.get("text"), str) or not kp["text"].strip():
                raise RubricError(path, None, f"criterion {cid!r}: key point {j} needs a text string")
            aliases = _require_str_list(path, f"criterion {cid!r} key point {j} aliases", kp.get("aliases"))
            explain = kp.get("explain", [])
            explain = (
                _require_str_list(path, f"criterion {cid!r} key point {j} explain", explain)
                if explain
                else []
            )
            points.append(
                KeyPoint(
                    text=kp["text"].strip(),
                    aliases=aliases,
                    explain=explain,
                    text_en=str(kp.get("text_en", "")).strip(),
                )
            )
        criteria.append(
            Criterion(
                id=cid,
                name=name.strip(),
                weight=float(weight),
                description=str(c.get("description", "")).strip(),
                met=str(c.get("met", "")).strip(),
                partial=str(c.get("partial", "")).strip(),
                key_points=points,
                name_en=str(c.get("name_en", "")).strip(),
                description_en=str(c.get("description_en", "")).strip(),
            )
        )
    mistakes = []
    raw_mistakes = data.get("common_mistakes", [])
    if not isinstance(raw_mistakes, list):
        raise RubricError(path, None, "common_mistakes must be an array of tables: [[common_mistakes]]")
    for i, m in enumerate(raw_mistakes, 1):
        if not isinstance(m, dict) or not isinstance(m.get("text"), str) or not m["text"].strip():
            raise RubricError(path, None, f"common mistake {i} needs a text string")
        mistakes.append(
            Mistake(
                text=m["text"].strip(),
                patterns=_require_str_list(path, f"common mistake {i} patterns", m.get("patterns")),
                text_en=str(m.get("text_en", "")).strip(),
            )
        )
    acc = data.get("accuracy_weight", 1.0)
    if isinstance(acc, bool) or not isinstance(acc, int | float) or acc <= 0:
        raise RubricError(path, None, "accuracy_weight must be a positive number")
    return Rubric(
        question_id=qid.strip(),
        source="drafted" if str(data.get("drafted", "")).strip() else "curated",
        criteria=criteria,
        version=version,
        reference_answer=str(data.get("reference_answer", "")).strip(),
        mistakes=mistakes,
        accuracy_weight=float(acc),
        path=path,
        reference_answer_en=str(data.get("reference_answer_en", "")).strip(),
        question=str(data.get("question", "")).strip(),
        question_en=str(data.get("question_en", "")).strip(),
    )


def load_rubric_file(path: Path) -> Rubric:
    """A rubric file, parsed once per version of the file (a session reads each many times)."""
    try:
        st = path.stat()
    except OSError:
        st = None
    if st is None:
        return parse_rubric(read_text(path, RubricError), str(path))
    return copy.deepcopy(_parsed(str(path), st.st_mtime_ns, st.st_size))


@functools.lru_cache(maxsize=256)
def _parsed(path: str, mtime_ns: int, size: int) -> Rubric:
    return parse_rubric(read_text(Path(path), RubricError), path)


def rubric_dirs(home: Path | None) -> list[Path]:
    dirs = []
    if home is not None:
        dirs.append(home / "rubrics")
    dirs.append(asset_dir("rubrics"))
    return dirs


def curated_path(question: Question, home: Path | None) -> Path | None:
    """The curated rubric file of a question: the one named by its id, unless that file says it was written for
    another question (the bank was edited); then the one of the bank's files written for this question."""
    for base in rubric_dirs(home):
        folder = base / question.bank
        p = folder / f"{question.id}.toml"
        if p.is_file() and written_for(load_rubric_file(p), question):
            return _checked(p, base, home)
        if folder.is_dir():
            for other in sorted(folder.glob("*.toml")):
                if (
                    other != p
                    and (rubric := load_rubric_file(other)).question
                    and written_for(rubric, question)
                ):
                    return _checked(other, base, home)
        if p.is_file():  # written for another question, and none is written for this one
            return None
    return None


def _checked(path: Path, base: Path, home: Path | None) -> Path:
    if home is not None and base == home / "rubrics":
        refuse_if_others_can_write(path)  # a user's rubric steers the grade
    return path


def written_for(rubric: Rubric, question: Question) -> bool:
    """A rubric without a `question` belongs to the id it names; one with a `question` to a question that reads
    the same (in any edition), or nearly so."""
    from interviewer.content.identity import SIMILAR, similarity, texts_of

    written = [t for t in (rubric.question, rubric.question_en) if t]
    if not written:
        return rubric.question_id == question.id
    return max(similarity(w, t) for w in written for t in texts_of(question)) >= SIMILAR


def rubric_for(question: Question, home: Path | None = None) -> Rubric:
    """The curated rubric when one exists, else one derived from the hint."""
    path = curated_path(question, home)
    if path is None:
        return derive_rubric(question)
    rubric = load_rubric_file(path).localised(question.lang)
    if not rubric.criteria:  # a reference answer alone (an imported answer): criteria derived from it
        derived = reference_rubric(question.id, question.text, rubric.reference_answer, question.hint)
        derived.path, derived.version = rubric.path, rubric.version
        return derived
    if rubric.question_id != question.id and not rubric.question:
        raise RubricError(
            path,
            None,
            f"question_id {rubric.question_id!r} does not match the file's question {question.id!r}",
        )
    return rubric


def validate_rubric_files(targets: list[Path], questions) -> int:
    """Validate rubric files (or folders of them) against the loaded questions. Returns the number checked."""
    files: list[Path] = []
    for t in targets:
        t = Path(t)
        if t.is_dir():
            files += sorted(p for p in t.rglob("*.toml") if p.name != "glossary.toml")
        elif t.exists():
            files.append(t)
        else:
            raise RubricError(t, None, "file not found")
    by_bank: dict[str, set[str]] = {}
    for q in questions:
        by_bank.setdefault(q.bank, set()).add(q.id)
    for f in files:
        rubric = load_rubric_file(f)
        bank = f.parent.name
        ids = by_bank.get(bank)
        if ids is None:
            raise RubricError(
                f, None, f"no loaded bank named {bank!r} (the folder name must be the bank's name)"
            )
        if rubric.question_id not in ids:
            raise RubricError(f, None, f"question_id {rubric.question_id!r} is not in bank {bank!r}")
        here = next(q for q in questions if q.bank == bank and q.id == rubric.question_id)
        if rubric.question and not written_for(rubric, here):
            moved = [q.id for q in questions if q.bank == bank and written_for(rubric, q)]
            where = (
                f"its question is now {moved[0]}: rename the file {moved[0]}.toml and set question_id"
                if moved
                else "its question is no longer in the bank"
            )
            raise RubricError(
                f,
                None,
                f"written for “{rubric.question[:40]}”, but {rubric.question_id} is “{here.text[:40]}”; {where}",
            )
        if f.stem != rubric.question_id:
            raise RubricError(
                f, None, f"file name must be {rubric.question_id}.toml to match its question_id"
            )
    return len(files)
