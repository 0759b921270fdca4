"""The inputs of the measured commands: real answers from the calibration file and the seed bank's questions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from common import ROOT, TMP

SEED_BANK = ROOT / "bank" / "llm-basics.md"
CALIBRATION = ROOT / "tests" / "data" / "calibration.jsonl"


def calibration_lines() -> list[dict]:
    return [json.loads(x) for x in CALIBRATION.read_text(encoding="utf-8").splitlines() if x.strip()]


def scripted_answers(n: int) -> list[dict]:
    """One real answer (the first of its question in the calibration file) for each of n distinct questions."""
    seen: dict[str, dict] = {}
    for obj in calibration_lines():
        if obj["question_id"] not in seen:
            seen[obj["question_id"]] = {"question_id": obj["question_id"], "answer": obj["answer"]}
    out = list(seen.values())[:n]
    assert len(out) == n, "not enough distinct questions in the calibration file"
    return out


def answer_300() -> str:
    """A 300-character Chinese answer: the first calibration answer that long, cut to 300 characters."""
    for obj in calibration_lines():
        if len(obj["answer"]) >= 300:
            return obj["answer"][:300]
    raise RuntimeError("no calibration answer of 300 characters")


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def answers_path(n: int) -> Path:
    """Where answers_file(n) writes."""
    return TMP / f"answers{n}.jsonl"


def answers_file(n: int) -> Path:
    """An --answers file of n scripted answers."""
    return write_jsonl(answers_path(n), scripted_answers(n))


def seed_questions() -> list[Any]:
    from interviewer.content.bank import load_bank

    return list(load_bank(SEED_BANK).questions)
