"""`interviewer grade`: one answer (flag, file, stdin) and batches (order, ids, concurrency, ad-hoc questions)."""

import json

from conftest import InFlightGate
from openai_server import Reply


def test_grade_one_answer_json(cli):
    r = cli("grade", "-q", "2.1", "-a", "先算 QK^T，再除以 √d_k 防止 softmax 饱和，再乘 V", "--json")
    assert r.exit_code == 0, r
    g = json.loads(r.stdout)
    assert g["question_id"] == "2.1" and g["status"] == "graded" and 0 < g["score"] <= 10
    assert g["grader"]["kind"] == "offline"


def test_grade_reads_answer_file_and_stdin(cli, tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("不知道", encoding="utf-8")
    assert json.loads(cli("grade", "-q", "2.1", "--answer-file", str(f), "--json").stdout)["score"] == 0
    r = cli("grade", "-q", "1.1", "--json", input="Transformer 可以并行计算，因为不依赖前一步。\n")
    assert json.loads(r.stdout)["score"] > 0


def test_grade_human_output_names_criteria(cli):
    r = cli("grade", "-q", "2.1", "-a", "QK^T 除以根号 d_k")
    assert r.exit_code == 0 and "Score:" in r.stdout and "缩放因子的作用" in r.stdout


def test_grade_needs_a_question_or_batch(cli):
    r = cli("grade", "-a", "x")
    assert r.exit_code == 2 and "--question" in r.stderr


def batch_file(tmp_path, rows):
    f = tmp_path / "batch.jsonl"
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return f


def test_batch_keeps_input_order_and_echoes_ids(cli, tmp_path):
    rows = [
        {"id": "a", "question_id": "2.1", "answer": "QK^T 除以 √d_k，softmax 后乘 V，缩放防止饱和、梯度消失"},
        {"id": 7, "question_id": "1.1", "answer": "不知道"},
        {
            "question": "What is a KV cache?",
            "reference": "It stores past keys and values so decoding does not recompute them.",
            "answer": "It stores past keys and values.",
        },
        {
            "id": "h",
            "question": "为什么用 GELU？",
            "hint": "讨论平滑性、对称性与训练稳定性。",
            "answer": "GELU 平滑，训练稳定。",
        },
    ]
    r = cli("grade", "--batch", str(batch_file(tmp_path, rows)))
    assert r.exit_code == 0, r
    out = r.json_lines()
    assert [o.get("id") for o in out] == ["a", 7, None, "h"]
    assert out[0]["question_id"] == "2.1" and out[1]["score"] == 0
    assert out[2]["status"] == "graded" and out[2]["score"] > 3
    assert {c["name"] for c in out[3]["criteria"]} >= {"平滑性", "对称性", "训练稳定性"}


def test_batch_runs_concurrently_against_the_llm(cli, tmp_path, llm_env):
    gate = InFlightGate(4, timeout=5)  # each request is held until four are in flight at once
    llm_env.default = Reply(gate)
    rows = [{"id": i, "question_id": "2.1", "answer": f"answer {i}: QK^T softmax"} for i in range(8)]
    r = cli("grade", "--batch", str(batch_file(tmp_path, rows)), "--concurrency", "4", "--grader", "llm")
    assert r.exit_code == 0, r
    assert [o["id"] for o in r.json_lines()] == list(range(8))
    assert gate.max == 4


def test_bad_batch_line_is_an_input_error_before_any_grade(cli, tmp_path, llm_env):
    rows = [{"question_id": "2.1", "answer": "ok"}, {"question_id": "9.9", "answer": "x"}]
    r = cli("grade", "--batch", str(batch_file(tmp_path, rows)), "--grader", "llm")
    assert r.exit_code == 2 and ":2:" in r.stderr and "9.9" in r.stderr
    assert llm_env.requests == []
