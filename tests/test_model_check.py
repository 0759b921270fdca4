"""Finding a broken model before an interview, not one answer at a time: model strings checked against litellm's
providers before anything is sent, `interviewer check`'s diagnosis, the same check before a session's first
question, and a session that stops waiting on a model it cannot reach. The model is the local OpenAI-protocol
server."""

import json
import sqlite3

import pytest
from conftest import grade_reply
from openai_server import Drop, Reply, Status
from test_startup import run_probe

DEAD = "http://127.0.0.1:9/v1"  # nothing listens on the discard port
ANSWERS = [
    "Transformer 可以并行，因为不依赖上一步的隐藏状态；任意两个位置直接交互，有全局感受野。",
    "Encoder-Decoder 用交叉注意力对齐输入输出，适合翻译；Decoder-only 适合对话生成。",
    "残差连接 y = x + F(x) 让梯度可以直接传回浅层，LayerNorm 控制激活尺度。",
    "GELU 和 SiLU 更平滑，负半轴有非零梯度，训练更稳定。",
]
NO_SCHEMA = Status(
    400,
    body={
        "error": {"message": "response_format json_schema is not supported", "type": "invalid_request_error"}
    },
)


def answers_file(tmp_path, answers=ANSWERS):
    p = tmp_path / "answers.txt"
    p.write_text("\n---\n".join(answers) + "\n", encoding="utf-8")
    return str(p)


def db_rows(home, sql):
    with sqlite3.connect(home / "interviewer.db") as db:
        return db.execute(sql).fetchall()


@pytest.fixture
def client(llm_client, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_CLIENT", llm_client)
    return llm_client


# ---------------------------------------------------------------- model strings


def test_an_unknown_provider_is_refused_in_one_line_before_anything_is_sent(cli, tmp_path, llm_server):
    for args in (
        ["check", "--model", "nonsense/foo", "--api-base", llm_server.base_url],
        [
            "start",
            "--model",
            "nonsense/foo",
            "--api-base",
            llm_server.base_url,
            "--answers",
            answers_file(tmp_path),
        ],
        ["grade", "-q", "2.1", "-a", "softmax", "--model", "nonsense/foo", "--api-base", llm_server.base_url],
    ):
        r = cli(*args)
        assert r.exit_code == 2, (args, r)
        (line,) = r.stderr.strip().splitlines()
        assert "unknown provider 'nonsense'" in line
        assert all(e in line for e in ("openai/gpt-4o-mini", "anthropic/claude-", "ollama/llama3"))
    assert llm_server.requests == []
    r = cli("check", "--model", "gpt-4o-mini-but-not-a-model")
    assert r.exit_code == 2 and "names no provider" in r.stderr


def test_validating_a_model_string_never_imports_litellm(home):
    r, heavy = run_probe("check", "--model", "nonsense/foo", home=home)
    assert "unknown provider" in r.stderr and heavy == ""


@pytest.mark.slow
def test_the_providers_read_from_litellms_files_are_the_ones_it_routes():
    from interviewer.grading.litellm_chat import load_litellm
    from interviewer.grading.providers import known_providers

    litellm = load_litellm()
    from litellm.llms.openai_like.json_loader import JSONProviderRegistry

    JSONProviderRegistry.load()
    routed = {p.value for p in litellm.provider_list} | set(JSONProviderRegistry._providers)
    assert known_providers() == routed


def test_check_providers_lists_what_a_model_string_may_start_with(cli):
    r = cli("check", "--providers")
    assert r.exit_code == 0, r
    names = r.stdout.split()
    assert {"openai", "anthropic", "ollama", "ollama_chat", "hosted_vllm", "gemini"} <= set(names)
    assert names == sorted(names) and "nonsense" not in names


# ---------------------------------------------------------------- interviewer check


def test_check_says_a_working_model_answers_takes_a_schema_and_what_a_grade_costs(cli, llm_server, client):
    r = cli("check", "--model", "openai/gpt-4o-mini", "--api-base", llm_server.base_url)
    assert r.exit_code == 0, r
    lines = r.stdout.splitlines()
    assert lines[0] == f"Model openai/gpt-4o-mini through {client} at {llm_server.base_url}."
    assert lines[1].startswith("Reachable: it answered in ") and lines[1].endswith(" ms.")
    assert "JSON schema" in lines[2]
    assert lines[3].startswith("Price: about $0.0") and "a grade" in lines[3]
    (request,) = llm_server.requests  # one small request
    assert request["json"]["response_format"]["type"] == "json_schema"
    found = json.loads(
        cli("check", "--model", "openai/gpt-4o-mini", "--api-base", llm_server.base_url, "--json").stdout
    )
    assert found["ok"] and found["mode"] == "schema" and found["price_per_grade_usd"] > 0
    assert found["latency_ms"] > 0 and found["diagnosis"][0] == lines[0]
    local = cli("check", "--model", "openai/fake-model", "--api-base", llm_server.base_url)
    assert "not in litellm's price list" in local.stdout


def test_check_names_the_fallback_when_the_model_takes_no_json_schema(cli, llm_server, client):
    llm_server.script(NO_SCHEMA)
    r = cli("check", "--model", "openai/fake-model", "--api-base", llm_server.base_url)
    assert r.exit_code == 0, r
    assert "No JSON-schema support: grades use JSON mode instead (the fallback)" in r.stdout
    assert [q["json"]["response_format"]["type"] for q in llm_server.requests] == [
        "json_schema",
        "json_object",
    ]


@pytest.mark.parametrize(
    ("step", "said"),
    [
        (None, "Unreachable: nothing answers at " + DEAD),
        (Status(401), "Key refused"),
        (Status(404), "Unknown model: "),
        (Reply("I would rather not."), "not with the JSON asked for"),
    ],
    ids=["unreachable", "auth", "unknown-model", "no-json"],
)
def test_check_says_in_plain_words_why_no_grade_can_be_had(cli, llm_server, client, step, said):
    base = DEAD if step is None else llm_server.base_url
    if step is not None:
        llm_server.script(step)
    r = cli("check", "--model", "openai/fake-model", "--api-base", base)
    assert r.exit_code == 1, r
    (first, problem) = r.stdout.splitlines()
    assert first.startswith("Model openai/fake-model through") and said in problem
    assert len(llm_server.requests) == (0 if step is None else 1)  # one request, never retried


def test_check_finds_a_missing_key_without_a_request(cli):
    r = cli("check", "--model", "anthropic/claude-3-5-haiku-latest")
    assert r.exit_code == 1 and "No key: set ANTHROPIC_API_KEY" in r.stdout, r


# ---------------------------------------------------------------- before a session, and during one


@pytest.fixture
def checking(monkeypatch):
    monkeypatch.setenv("INTERVIEWER_CHECK", "on")


def test_a_session_checks_the_model_before_the_first_question_and_says_what_it_found(
    cli, tmp_path, llm_env, checking
):
    r = cli("start", "-n", "2", "--order", "bank", "--answers", answers_file(tmp_path, ANSWERS[:2]))
    assert r.exit_code == 0, r
    assert "Model check: openai/fake-model answers (" in r.stderr and "JSON schema" in r.stderr
    probe, *grades = llm_env.requests
    assert probe["json"]["messages"][-1]["content"] == 'Reply with {"ok": true}.'
    assert len(grades) == 2


def test_a_session_whose_key_is_refused_stops_before_the_first_question(
    cli, tmp_path, llm_env, home, checking
):
    llm_env.default = Status(401)
    r = cli("start", "-n", "2", "--order", "bank", "--answers", answers_file(tmp_path))
    assert r.exit_code == 1, r
    assert "Model check: Key refused" in r.stderr and "did not start" in r.stderr
    assert "Question" not in r.stdout and len(llm_env.requests) == 1
    assert db_rows(home, "SELECT COUNT(*) FROM sessions") == [(0,)]


def test_a_session_with_an_unreachable_model_keeps_its_answers_ungraded_without_waiting(
    cli, tmp_path, home, checking
):
    r = cli("start", "-n", "3", "--order", "bank", "--model", "openai/x", "--api-base", DEAD,
            "--answers", answers_file(tmp_path, ANSWERS[:3]))  # fmt: skip
    assert r.exit_code == 0, r
    assert "Model check: Unreachable" in r.stderr
    sid = db_rows(home, "SELECT id FROM sessions")[0][0]
    assert r.stderr.count(f"Grade them later with: interviewer regrade {sid} --only-ungraded") == 1
    errors = [
        json.loads(g)["error"] for (g,) in db_rows(home, "SELECT grade_json FROM grades ORDER BY turn_id")
    ]
    assert len(errors) == 3 and all(e.startswith("not sent: the model check found") for e in errors)


def test_after_two_answers_that_cannot_reach_the_model_the_rest_are_not_sent(
    cli, tmp_path, llm_env, home, monkeypatch
):
    monkeypatch.setenv("INTERVIEWER_RETRIES", "0")
    llm_env.default = Drop()  # the connection is closed on every request
    r = cli("start", "-n", "4", "--order", "bank", "--answers", answers_file(tmp_path))
    assert r.exit_code == 0, r
    assert len(llm_env.requests) == 2  # the third and fourth answers did not wait on it
    sid = db_rows(home, "SELECT id FROM sessions")[0][0]
    assert r.stderr.count("could not be reached for 2 answers in a row") == 1
    assert r.stderr.count(f"interviewer regrade {sid} --only-ungraded") == 1
    grades = [json.loads(g) for (g,) in db_rows(home, "SELECT grade_json FROM grades ORDER BY turn_id")]
    assert [g["error"].split(":")[0] for g in grades] == ["connection", "connection", "not sent", "not sent"]
    assert db_rows(home, "SELECT COUNT(*) FROM turns") == [(4,)]
    llm_env.default = Reply(grade_reply())
    r = cli("regrade", sid, "--only-ungraded")
    assert r.exit_code == 0, r
    assert db_rows(home, "SELECT COUNT(*) FROM turns WHERE score IS NOT NULL") == [(4,)]
