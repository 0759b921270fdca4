"""Scripted sessions through the real CLI: both modes, offline and against the local LLM server."""

import json
import sqlite3

import pytest
from conftest import InFlightGate, grade_reply
from openai_server import Reply, Status

ANSWERS = [
    "Transformer 可以并行，因为不依赖上一步的隐藏状态；任意两个位置直接交互，有全局感受野。",
    "Encoder-Decoder 用交叉注意力对齐输入输出，适合翻译；Decoder-only 适合对话生成。",
    "不知道",
    "残差连接 y = x + F(x) 让梯度可以直接传回浅层，LayerNorm 控制激活尺度，使训练稳定。",
    "GELU 和 SiLU 更平滑，负半轴有非零梯度，训练更稳定。",
]


def answers_file(tmp_path, answers=ANSWERS):
    p = tmp_path / "answers.txt"
    p.write_text("\n---\n".join(answers) + "\n", encoding="utf-8")
    return p


def db_rows(home, sql):
    with sqlite3.connect(home / "interviewer.db") as db:
        return db.execute(sql).fetchall()


@pytest.mark.parametrize("mode", ["practice", "interview"])
def test_scripted_offline_interview_in_both_modes(cli, tmp_path, home, mode):
    r = cli("start", "-n", "5", "--order", "bank", "--mode", mode, "--answers", str(answers_file(tmp_path)))
    assert r.exit_code == 0, r
    assert r.stdout.count("Question ") == 5
    assert "Total:" in r.stdout and "基础原理与架构" in r.stdout
    assert db_rows(home, "SELECT COUNT(*) FROM turns") == [(5,)]
    assert db_rows(home, "SELECT COUNT(*) FROM grades WHERE status='graded'") == [(5,)]
    assert db_rows(home, "SELECT status FROM sessions") == [("finished",)]
    scores = [s for (s,) in db_rows(home, "SELECT score FROM grades ORDER BY turn_id")]
    assert scores[2] == 0.0  # 不知道


def test_practice_shows_feedback_after_each_answer_interview_at_the_end(cli, tmp_path):
    practice = cli(
        "start", "-n", "2", "--order", "bank", "--answers", str(answers_file(tmp_path, ANSWERS[:2]))
    )
    lines = practice.stdout.splitlines()
    q2 = next(i for i, ln in enumerate(lines) if ln.startswith("Question 2/2"))
    assert any(ln.startswith("Score:") for ln in lines[:q2])
    interview = cli(
        "start",
        "-n",
        "2",
        "--order",
        "bank",
        "--mode",
        "interview",
        "--answers",
        str(answers_file(tmp_path, ANSWERS[:2])),
    )
    lines = interview.stdout.splitlines()
    q2 = next(i for i, ln in enumerate(lines) if ln.startswith("Question 2/2"))
    assert not any(ln.startswith("Score:") for ln in lines[:q2])
    assert sum(ln.startswith("Score:") for ln in lines) == 2


def test_json_output_is_the_session_contract(cli, tmp_path):
    r = cli(
        "start", "-n", "3", "--order", "bank", "--answers", str(answers_file(tmp_path, ANSWERS[:3])), "--json"
    )
    assert r.exit_code == 0, r
    s = json.loads(r.stdout)
    assert set(s) >= {"id", "started_at", "finished_at", "status", "mode", "settings", "turns", "summary"}
    t = s["turns"][0]
    assert set(t) >= {
        "index",
        "question",
        "answer",
        "answered_at",
        "duration_s",
        "hint_used",
        "grade",
        "follow_ups",
    }
    assert set(t["question"]) == {"id", "section", "text", "difficulty", "frequency"}
    g = t["grade"]
    assert set(g) >= {
        "question_id", "status", "score", "max_score", "criteria", "strengths", "missing", "feedback",
        "better_answer", "follow_up", "flags", "error", "grader",
    }  # fmt: skip
    assert set(g["criteria"][0]) >= {
        "id",
        "name",
        "weight",
        "score",
        "max_score",
        "verdict",
        "evidence",
        "comment",
    }
    assert set(g["grader"]) >= {
        "kind",
        "model",
        "prompt_version",
        "rubric_version",
        "latency_ms",
        "prompt_tokens",
    }
    assert set(s["summary"]) >= {"score", "by_section"}


def test_piped_stdin_supplies_answers_and_jsonl_picks_questions(cli):
    lines = [
        json.dumps({"question_id": "2.1", "answer": "QK^T 除以根号 d_k 再 softmax 乘 V"}),
        json.dumps({"question_id": "4.1", "answer": "缓存 K 和 V"}),
    ]
    r = cli("start", "--json", input="\n".join(lines) + "\n")
    assert r.exit_code == 0, r
    s = json.loads(r.stdout)
    assert [t["question"]["id"] for t in s["turns"]] == ["2.1", "4.1"]
    assert s["status"] == "finished"


def test_answers_running_out_leave_a_resumable_session(cli, tmp_path, home):
    r = cli("start", "-n", "3", "--order", "bank", "--answers", str(answers_file(tmp_path, ANSWERS[:1])))
    assert r.exit_code == 0
    assert "interviewer resume" in r.stderr
    assert db_rows(home, "SELECT status FROM sessions") == [("active",)]
    r = cli("resume", "--answers", str(answers_file(tmp_path, ANSWERS[1:3])))
    assert r.exit_code == 0, r
    assert db_rows(home, "SELECT status FROM sessions") == [("finished",)]
    assert db_rows(home, "SELECT idx FROM turns ORDER BY idx") == [(0,), (1,), (2,)]


def test_seeded_random_order_is_repeatable(cli, tmp_path):
    def ids():
        r = cli(
            "start",
            "-n",
            "4",
            "--order",
            "random",
            "--seed",
            "7",
            "--json",
            "--answers",
            str(answers_file(tmp_path, ANSWERS[:4])),
        )
        return [t["question"]["id"] for t in json.loads(r.stdout)["turns"]]

    assert ids() == ids()


def test_filters_apply_to_the_plan(cli, tmp_path):
    r = cli(
        "start", "-n", "3", "--section", "4", "--json", "--answers", str(answers_file(tmp_path, ANSWERS[:3]))
    )
    assert {t["question"]["id"][0] for t in json.loads(r.stdout)["turns"]} == {"4"}


def test_scripted_interview_against_the_local_llm_server(cli, tmp_path, llm_env, home):
    r = cli("start", "-n", "5", "--mode", "interview", "--answers", str(answers_file(tmp_path)), "--json")
    assert r.exit_code == 0, r
    s = json.loads(r.stdout)
    graded = [t["grade"] for t in s["turns"]]
    assert all(g["status"] == "graded" for g in graded)
    assert [g["grader"]["kind"] for g in graded] == ["llm", "llm", "llm", "llm", "llm"]
    assert graded[2]["score"] == 0.0  # "不知道": no call
    assert len(llm_env.requests) == 4
    assert "api_key" not in json.dumps(s["settings"])


@pytest.mark.slow
def test_failed_grades_are_kept_ungraded_and_regrade_fixes_them(cli, tmp_path, llm_env, home):
    llm_env.default = Status(500)
    r = cli("start", "-n", "2", "--order", "bank", "--answers", str(answers_file(tmp_path, ANSWERS[:2])))
    assert r.exit_code == 0, r
    assert "ungraded" in r.stdout.lower()
    assert db_rows(home, "SELECT COUNT(*) FROM turns") == [(2,)]
    assert db_rows(home, "SELECT status, score FROM grades") == [("ungraded", None), ("ungraded", None)]
    llm_env.default = Reply(grade_reply(verdict="partial", score=5))
    sid = db_rows(home, "SELECT id FROM sessions")[0][0]
    r = cli("regrade", sid, "--only-ungraded")
    assert r.exit_code == 0, r
    assert db_rows(home, "SELECT COUNT(*) FROM grades WHERE status='graded'") == [(2,)]
    shown = json.loads(cli("show", sid, "--json").stdout)
    assert [t["grade"]["status"] for t in shown["turns"]] == ["graded", "graded"]
    assert [t["grades_count"] for t in shown["turns"]] == [2, 2]


def test_llm_grader_without_model_or_key_fails_before_asking(cli, tmp_path, monkeypatch, home):
    r = cli("start", "--grader", "llm", "--answers", str(answers_file(tmp_path)))
    assert r.exit_code == 2 and "model" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = cli("start", "--model", "openai/gpt-4o-mini", "--answers", str(answers_file(tmp_path)))
    assert r.exit_code == 2 and "OPENAI_API_KEY" in r.stderr
    assert not (home / "interviewer.db").exists() or db_rows(home, "SELECT COUNT(*) FROM turns") == [(0,)]


def test_unreachable_endpoint_keeps_answers_and_says_so(cli, tmp_path, monkeypatch, home):
    monkeypatch.setenv("INTERVIEWER_RETRIES", "0")
    r = cli(
        "start", "-n", "1", "--model", "openai/x", "--api-base", "http://127.0.0.1:9/v1",
        "--answers", str(answers_file(tmp_path, ANSWERS[:1])),
    )  # fmt: skip
    assert r.exit_code == 0, r
    assert "connection" in r.stdout or "reach" in r.stdout
    assert db_rows(home, "SELECT answer FROM turns") == [(ANSWERS[0],)]


def test_sessions_show_and_exports(cli, tmp_path):
    answers = [*ANSWERS[:1], "<script>alert('x')</script> 并行"]
    cli("start", "-n", "2", "--order", "bank", "--answers", str(answers_file(tmp_path, answers)))
    rows = cli("sessions", "--json").json_lines()
    assert len(rows) == 1 and rows[0]["answered"] == 2 and rows[0]["status"] == "finished"
    sid = rows[0]["id"]
    md = cli("export", sid, "--format", "md").stdout
    assert md.startswith(f"# Interview {sid}") and "| Criterion |" in md and "Feedback" in md
    js = json.loads(cli("export", "--last", "--format", "json").stdout)
    assert js["id"] == sid and len(js["turns"]) == 2
    out = tmp_path / "report.html"
    r = cli("export", sid, "--format", "html", "-o", str(out))
    assert r.exit_code == 0 and "Wrote" in r.stderr
    html = out.read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "show" and sid in cli("show", sid).stdout


def test_export_without_session_is_a_usage_error(cli):
    r = cli("export")
    assert r.exit_code == 2 and "--last" in r.stderr
    r = cli("export", "--last")
    assert r.exit_code == 2 and "no session" in r.stderr


def test_config_show_precedence_and_masking(cli, home, monkeypatch):
    cfg = home / "config.toml"
    cfg.write_text('model = "openai/from-file"\ntimeout = 12\napi_key = "sk-file-secret-123456"\n')
    cfg.chmod(0o600)
    monkeypatch.setenv("INTERVIEWER_MODEL", "openai/from-env")
    rows = cli("config", "show", "--json").json_lines()[0]
    assert rows["model"] == {"value": "openai/from-env", "source": "env INTERVIEWER_MODEL"}
    assert rows["timeout"]["value"] == 12 and rows["timeout"]["source"].endswith("config.toml")
    assert "sk-file-secret-123456" not in json.dumps(rows)
    assert rows["grader_in_use"]["value"] == "llm"


def test_interview_mode_never_waits_for_grades_between_questions(cli, tmp_path, llm_env):
    """All five grades are in flight at once: the next question never waits for the previous grade."""
    gate = InFlightGate(5)  # no grade is answered until every answer has been given
    llm_env.default = Reply(gate)
    answers = [f"回答 {i}：Transformer 可以并行计算" for i in range(5)]
    r = cli(
        "start",
        "-n",
        "5",
        "--order",
        "bank",
        "--mode",
        "interview",
        "--answers",
        str(answers_file(tmp_path, answers)),
        "--json",
    )
    assert r.exit_code == 0, r
    assert gate.max == 5
    assert all(t["grade"]["status"] == "graded" for t in json.loads(r.stdout)["turns"])
