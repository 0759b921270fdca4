"""The curated rubrics themselves: wrong-claim patterns that never fire on right answers, English fields throughout."""

import json
import re
import tomllib

import pytest
from conftest import ROOT

from interviewer.content.textnorm import HAN_RUN, compact

RUBRICS = sorted((ROOT / "rubrics").glob("*/*.toml"))
RUBRICS = [p for p in RUBRICS if p.name != "glossary.toml"]
CALIBRATION = [
    json.loads(line)
    for line in (ROOT / "tests" / "data" / "calibration.jsonl").read_text("utf-8").splitlines()
]


def _load(path):
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _good_answers(qid: str, data: dict) -> list[str]:
    texts = [data.get("reference_answer", ""), data.get("reference_answer_en", "")]
    texts += [r["answer"] for r in CALIBRATION if r["question_id"] == qid and r["score"] >= 6]
    return [t for t in texts if t]


@pytest.mark.parametrize("path", RUBRICS, ids=lambda p: p.stem)
def test_wrong_claim_patterns_never_fire_on_the_reference_or_on_good_answers(path):
    data = _load(path)
    answers = [compact(t) for t in _good_answers(data["question_id"], data)]
    for mistake in data.get("common_mistakes", []):
        for pattern in mistake["patterns"]:
            p = compact(pattern)
            fired = [a[:60] for a in answers if p and p in a]
            assert not fired, (
                f"{path.name}: pattern {pattern!r} ({mistake['text']}) is in a good answer: {fired}"
            )


@pytest.mark.parametrize("path", RUBRICS, ids=lambda p: p.stem)
def test_every_curated_rubric_names_the_wrong_claims_interviewers_hear_most(path):
    assert len(_load(path).get("common_mistakes", [])) >= 4, path.name


@pytest.mark.parametrize("path", RUBRICS, ids=lambda p: p.stem)
def test_every_curated_rubric_has_english_fields_without_chinese(path):
    data = _load(path)
    english = [data.get("reference_answer_en", "")]
    for c in data["criteria"]:
        english.append(c.get("name_en", ""))
        english += [kp.get("text_en", "") for kp in c["key_points"]]
    english += [m.get("text_en", "") for m in data.get("common_mistakes", [])]
    assert all(t.strip() for t in english), f"{path.name}: an English field is missing or empty"
    chinese = [t for t in english if HAN_RUN.search(t)]
    assert not chinese, f"{path.name}: Chinese text in English fields: {chinese[:2]}"
    assert not re.search(r"[\u3000-\u303f\uff00-\uffef]", "".join(english)), (
        f"{path.name}: full-width punctuation"
    )
