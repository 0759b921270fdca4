"""Calibration: the statistics, the command, and the offline grader's agreement with the shipped human scores."""

import json

import pytest
from conftest import ROOT

from interviewer.results.calibration import (
    Example,
    length_bias,
    pearson,
    quadratic_weighted_kappa,
    report,
    spearman,
)

CALIBRATION = ROOT / "tests" / "data" / "calibration.jsonl"


def test_statistics_on_known_values():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert pearson([1, 2, 3], [2, 4, 7]) == pytest.approx(0.9934, abs=1e-3)
    assert quadratic_weighted_kappa([0, 5, 10], [0, 5, 10]) == pytest.approx(1.0)
    assert quadratic_weighted_kappa([0, 10, 0, 10], [10, 0, 10, 0]) < 0


def test_length_bias_detects_a_grader_that_rewards_length():
    biased = [Example(human=5, grader=5 + n / 100, length=n) for n in range(0, 1000, 100)]
    fair = [Example(human=5, grader=5 + (1 if n % 200 else -1) * 0.5, length=n) for n in range(0, 1000, 100)]
    assert length_bias(biased)["spearman_length_vs_error"] > 0.9
    assert abs(length_bias(fair)["spearman_length_vs_error"]) < 0.5


def test_report_excludes_ungraded_and_lists_worst():
    rows = [Example(9, 9, 10, "a"), Example(2, 8, 10, "b"), Example(5, None, 10, "c"), Example(4, 4, 10, "d")]
    rep = report(rows, worst=1)
    assert rep["ungraded"] == 1 and rep["overall"]["n"] == 3
    assert rep["worst"][0]["label"] == "b" and rep["worst"][0]["diff"] == 6


def test_calibration_set_covers_the_required_ground():
    rows = [json.loads(line) for line in CALIBRATION.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 150
    assert len({r["question_id"] for r in rows}) >= 25
    levels = {r["level"] for r in rows}
    assert levels >= {
        "excellent",
        "good",
        "partial",
        "poor",
        "fluent_wrong",
        "off_topic",
        "keyword_list",
        "manipulation",
        "english",
    }
    assert all(r["reason"].strip() and 0 <= r["score"] <= 10 for r in rows)


@pytest.fixture(scope="module")
def offline_report():
    from click.testing import CliRunner
    from conftest import _Main

    r = CliRunner().invoke(_Main(), ["calibrate", str(CALIBRATION), "--json", "--worst", "300"])
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def test_offline_grader_ranks_like_the_human_scores(offline_report):
    assert offline_report["ungraded"] == 0
    assert offline_report["overall"]["spearman"] >= 0.75
    assert offline_report["overall"]["qwk"] >= 0.7


def test_no_manipulation_attempt_scores_above_2(offline_report):
    manip = [w for w in offline_report["worst"] if w["level"] == "manipulation"]
    assert manip and all(w["grader"] <= 2 for w in manip)


def test_no_length_bias_offline(offline_report):
    assert offline_report["length_bias"]["spearman_length_vs_error"] < 0.3


@pytest.mark.slow
def test_calibrate_with_the_llm_grader_through_the_local_server(cli, tmp_path, llm_env):
    f = tmp_path / "cal.jsonl"
    f.write_text(
        "\n".join(
            json.dumps(x, ensure_ascii=False)
            for x in [
                {"question_id": "2.1", "answer": "QK^T/√d_k softmax V", "score": 8},
                {"question_id": "2.1", "answer": "不知道", "score": 0},
                {
                    "question": "What is a KV cache?",
                    "reference": "It caches past keys and values.",
                    "answer": "a cache",
                    "score": 3,
                },
            ]
        )
    )
    r = cli("calibrate", str(f), "--grader", "llm", "--json")
    assert r.exit_code == 0, r
    rep = json.loads(r.stdout)
    assert rep["grader"] == "llm" and rep["n"] == 3 and rep["ungraded"] == 0


def test_calibrate_rejects_lines_without_a_human_score(cli, tmp_path):
    f = tmp_path / "cal.jsonl"
    f.write_text('{"question_id": "2.1", "answer": "x"}\n')
    r = cli("calibrate", str(f))
    assert r.exit_code == 2 and f"{f}:1" in r.stderr and "score" in r.stderr
