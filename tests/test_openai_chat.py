"""The openai SDK behind the chat-model seam, against the real OpenAI-protocol server on 127.0.0.1, measured up
against litellm on the same routes: which model strings it takes, the same request, output modes and fallback, the
same error kinds, the same cost from litellm's price map (read as a file: litellm is never imported on this path),
and grades whose provenance has the same shape."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest
from conftest import ANSWER_21, CLIENTS, ROOT, chat_model, grade_reply, llm_grader
from openai_server import Drop, Hang, Raw, Reply, Status

from interviewer.content.rubric import rubric_for
from interviewer.errors import InputError
from interviewer.grading.chat import CallError
from interviewer.grading.models import Answer
from interviewer.grading.models_for import client_for
from interviewer.grading.openai_chat import PROVIDERS, model_info, price_map, takes

MESSAGES = [{"role": "system", "content": "You grade."}, {"role": "user", "content": "Grade this."}]
SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
BASE = "http://127.0.0.1:9/v1"


def sdk(server, **kw):
    return chat_model(server, client="openai", **kw)


# ---------------------------------------------------------------- which client serves which model


@pytest.mark.parametrize(
    "model, api_base, client",
    [
        ("openai/gpt-4o-mini", None, "openai"),  # OpenAI itself
        ("openai/gpt-4.1-mini", BASE, "openai"),
        ("openai/llama3.1:8b", "http://127.0.0.1:11434/v1", "openai"),  # Ollama's OpenAI endpoint
        ("openai/fake-model", BASE, "openai"),  # a name litellm does not know: sent as is
        ("hosted_vllm/Qwen/Qwen2.5-7B-Instruct", BASE, "openai"),
        ("lm_studio/qwen2.5-7b-instruct", BASE, "openai"),
        ("llamafile/mistral-7b", BASE, "openai"),
        (
            "hosted_vllm/Qwen/Qwen2.5-7B-Instruct",
            None,
            "litellm",
        ),  # no endpoint of its own: litellm's default
        ("openai/gpt-5-mini", None, "litellm"),  # litellm drops temperature for reasoning models
        ("openai/o3-mini", BASE, "litellm"),  # ... and sends the system message as a user one
        ("openai/gpt-4", None, "litellm"),  # ... and drops response_format
        ("openai/gpt-5.1-codex", None, "litellm"),  # ... or calls the Responses API
        ("ollama_chat/llama3", BASE, "litellm"),  # Ollama's own protocol
        ("deepseek/deepseek-chat", BASE, "litellm"),  # litellm prices DeepSeek's off-peak windows
        ("anthropic/claude-3-5-haiku-latest", None, "litellm"),
        ("gpt-4o-mini", None, "litellm"),  # a bare name: litellm infers the provider
    ],
)
def test_the_automatic_choice(model, api_base, client):
    assert client_for(model, api_base) == client


def test_the_choice_can_be_forced_either_way():
    assert client_for("openai/gpt-4o-mini", None, "litellm") == "litellm"
    assert client_for("openai/gpt-5-mini", None, "openai") == "openai"  # sent as is: the user asked for it
    with pytest.raises(InputError, match="OpenAI-compatible models only"):
        client_for("anthropic/claude-3-5-haiku-latest", None, "openai")
    with pytest.raises(InputError, match="need --api-base"):
        client_for("hosted_vllm/Qwen/Qwen2.5-7B-Instruct", None, "openai")


def test_an_unknown_client_is_named_with_exit_2(cli, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_CLIENT", "sdk")
    r = cli("grade", "-q", "2.1", "-a", "x")
    assert r.exit_code == 2 and "client must be one of auto, litellm, openai, got 'sdk'" in r.stderr, r


def test_an_unknown_client_in_the_config_file_is_named(cli, home):
    cfg = home / "config.toml"
    cfg.write_text('client = "fast"\n')
    cfg.chmod(0o600)
    r = cli("config", "show")
    assert r.exit_code == 2 and "client must be one of" in r.stderr and str(cfg) in r.stderr, r


def test_forcing_the_sdk_on_a_model_it_cannot_reach_is_an_input_error(cli, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_CLIENT", "openai")
    monkeypatch.setenv("INTERVIEWER_API_KEY", "sk-test-123456")
    r = cli("grade", "-q", "2.1", "-a", "x", "--model", "anthropic/claude-3-5-haiku-latest")
    assert r.exit_code == 2 and "INTERVIEWER_CLIENT=litellm" in r.stderr, r


def test_config_show_names_the_client(cli, monkeypatch):
    assert cli("config", "show", "--json").json_lines()[0]["client"] == {"value": "auto", "source": "default"}
    monkeypatch.setenv("INTERVIEWER_CLIENT", "litellm")
    row = cli("config", "show", "--json").json_lines()[0]["client"]
    assert row == {"value": "litellm", "source": "env INTERVIEWER_CLIENT"}


# ---------------------------------------------------------------- litellm is never imported

PROBE = """
import sys
from interviewer.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("LOADED=" + ",".join(m for m in ("litellm", "openai") if m in sys.modules), file=sys.stderr)
"""


def run_probe(home, server, *args, client="auto"):
    env = {
        **os.environ,
        "INTERVIEWER_HOME": str(home),
        "INTERVIEWER_MODEL": "openai/fake-model",
        "INTERVIEWER_API_BASE": server.base_url,
        "INTERVIEWER_CLIENT": client,
        "NO_COLOR": "1",
    }
    r = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    loaded = [ln for ln in r.stderr.splitlines() if ln.startswith("LOADED=")]
    return r, loaded[-1][len("LOADED=") :] if loaded else None


def test_a_grade_through_the_sdk_never_imports_litellm(home, llm_server):
    r, loaded = run_probe(home, llm_server, "grade", "-q", "2.1", "-a", ANSWER_21, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "graded"
    assert loaded == "openai" and len(llm_server.requests) == 1


def test_a_session_through_the_sdk_never_imports_litellm(home, llm_server, tmp_path):
    answers = tmp_path / "a.txt"
    answers.write_text(ANSWER_21 + "\n---\n多头并行\n", encoding="utf-8")
    r, loaded = run_probe(home, llm_server, "start", "-n", "2", "--section", "2", "--answers", str(answers))
    assert r.returncode == 0, r.stderr
    assert "2 graded, 0 ungraded" in r.stdout
    assert loaded == "openai"  # the prefetch while the first question shows imported the SDK, not litellm


def test_the_price_map_is_read_without_importing_litellm():
    code = (
        "import sys; from interviewer.grading.openai_chat import price_map, takes\n"
        "assert len(price_map()) > 1000 and takes('openai/gpt-4o-mini', None)\n"
        "print('litellm' in sys.modules, 'openai' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.strip() == "False False", out.stderr


@pytest.mark.slow
def test_forced_litellm_imports_litellm(home, llm_server):
    r, loaded = run_probe(home, llm_server, "grade", "-q", "2.1", "-a", ANSWER_21, client="litellm")
    assert r.returncode == 0, r.stderr
    assert "litellm" in loaded.split(",")


def test_prefetch_imports_the_sdk_for_the_sdk_path(llm_env):
    from interviewer.config import load_settings
    from interviewer.grading.models_for import prefetch

    thread = prefetch(load_settings())
    thread.join(30)
    assert thread.name == "openai-import" and "openai" in sys.modules


# ---------------------------------------------------------------- output modes


def test_schema_mode_sends_the_grade_schema_strictly(llm_server):
    llm_server.script(Reply("OK"))
    c = sdk(llm_server).complete(MESSAGES, SCHEMA)
    body = llm_server.requests[-1]["json"]
    assert c.mode == "schema" and c.text == "OK"
    assert body["model"] == "fake-model" and body["temperature"] == 0 and body["messages"] == MESSAGES
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "grade", "schema": SCHEMA, "strict": True},
    }
    assert llm_server.requests[-1]["headers"]["authorization"] == "Bearer not-needed"  # as litellm sends it


def test_a_rejected_response_format_falls_back_to_json_then_text_for_good(llm_server):
    rejected = Status(400, body={"error": {"message": "response_format is not supported by this server"}})
    llm_server.script(rejected, rejected)
    model = sdk(llm_server)
    c = model.complete(MESSAGES, SCHEMA)
    formats = [(r["json"].get("response_format") or {}).get("type") for r in llm_server.requests]
    assert formats == ["json_schema", "json_object", None] and c.mode == "text"
    model.complete(MESSAGES, SCHEMA)  # found once, then kept
    assert "response_format" not in llm_server.requests[-1]["json"] and model.structured == "text"


def test_json_mode_when_the_model_takes_no_schema(llm_server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)  # OpenAI "itself", without an explicit base
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key-123456")
    from interviewer.grading.openai_chat import OpenAIModel

    c = OpenAIModel("openai/gpt-3.5-turbo", timeout=5).complete(MESSAGES, SCHEMA)
    request = llm_server.requests[-1]
    assert c.mode == "json" and request["json"]["response_format"] == {"type": "json_object"}
    assert request["headers"]["authorization"] == "Bearer sk-env-key-123456"
    c = OpenAIModel("openai/gpt-4o-mini", timeout=5).complete(MESSAGES, SCHEMA)
    assert c.mode == "schema"


# ---------------------------------------------------------------- errors

HTML = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"
TRUNCATED = '{"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"content": "{\\"a'
FAULTS = {
    "400": (Status(400), "bad_request"),
    "401": (Status(401), "auth"),
    "403": (Status(403), "auth"),
    "404": (Status(404), "not_found"),
    "409": (Status(409), "unknown"),
    "429": (Status(429, headers={"Retry-After": "2"}), "rate_limit"),
    "500": (Status(500), "server"),
    "502-html": (Status(502, body=HTML), "server"),
    "503": (Status(503, headers={"Retry-After": "1.5"}), "server"),
    "504": (Status(504), "timeout"),
    "drop": (Drop(), "connection"),
    "hang": (Hang(2), "timeout"),
    "200-html": (Raw(HTML, content_type="text/html"), "server"),
    "200-not-json": (Raw("upstream said no"), "bad_reply"),
    "200-truncated": (Raw(TRUNCATED), "bad_reply"),
    "200-not-a-completion": (Raw('{"object": "list"}'), "bad_reply"),
    "no-choices": (Reply("", choices=[]), "bad_reply"),
    "null-message": (
        Reply("", choices=[{"index": 0, "message": None, "finish_reason": "stop"}]),
        "bad_reply",
    ),
    "null-content": (Reply(None), "bad_reply"),
}


def call_error(model, server, step) -> CallError:
    server.reset()
    server.script(step)
    with pytest.raises(CallError) as info:
        model.complete(MESSAGES, SCHEMA)
    return info.value


@pytest.mark.parametrize("name", FAULTS)
def test_each_failure_has_its_kind(llm_server, name):
    step, kind = FAULTS[name]
    err = call_error(sdk(llm_server, timeout=0.5), llm_server, step)
    assert err.kind == kind, err
    assert len(llm_server.requests) == 1  # no retry of its own
    assert "\n" not in err.detail and len(err.detail) <= 240 and "Traceback" not in err.detail
    assert err.retry_after == {"429": 2.0, "503": 1.5}.get(name)


def test_a_refused_connection_is_a_connection_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from interviewer.grading.openai_chat import OpenAIModel

    with pytest.raises(CallError) as info:
        OpenAIModel("openai/fake-model", f"http://127.0.0.1:{port}/v1", timeout=2).complete(MESSAGES)
    assert info.value.kind == "connection"


@pytest.mark.parametrize("name", [n for n in FAULTS if n != "hang"])
def test_litellm_gives_the_same_failure_the_same_kind_and_wait(llm_server, name):
    step = FAULTS[name][0]
    mine = call_error(sdk(llm_server), llm_server, step)
    theirs = call_error(chat_model(llm_server, client="litellm"), llm_server, step)
    assert (mine.kind, mine.retry_after) == (theirs.kind, theirs.retry_after)
    if not theirs.detail.startswith("litellm."):  # litellm words its own Timeout its own way
        assert mine.detail == theirs.detail


def test_the_key_is_masked_wherever_a_gateway_echoes_it(llm_server, q21):
    secret = "sk-echoed-Qz8Ln5Wr2Tx7"
    llm_server.default = Status(500, body={"error": {"message": f"upstream rejected key {secret}"}})
    g = llm_grader(llm_server, retries=0, api_key=secret, client="openai").grade(
        q21, rubric_for(q21), Answer(ANSWER_21)
    )
    assert g.status == "ungraded" and "***" in g.error and secret not in json.dumps(g.to_dict())


def test_retry_after_is_honoured_by_the_graders_retries(llm_server, q21):
    llm_server.script(
        Status(429, headers={"Retry-After": "0.4"}), Status(503, headers={"Retry-After": "0.2"})
    )
    times = []
    llm_server.default = lambda req: times.append(time.monotonic()) or Reply(grade_reply())
    started = time.monotonic()
    g = llm_grader(llm_server, retries=2, client="openai").grade(q21, rubric_for(q21), Answer(ANSWER_21))
    assert g.status == "graded" and len(llm_server.requests) == 3
    assert (
        times[0] - started >= 0.6
    )  # 0.4 s, then 0.2 s, as the server asked (the grader's backoff is 0.01 s)


# ---------------------------------------------------------------- cost


def completion_body(served: str, usage: dict, tier: str | None = None) -> str:
    body = {
        "id": "chatcmpl-cost",
        "object": "chat.completion",
        "created": 1700000000,
        "model": served,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": usage,
    }
    if tier:
        body["service_tier"] = tier
    return json.dumps(body)


PLAIN = {"prompt_tokens": 1834, "completion_tokens": 412, "total_tokens": 2246}
CACHED = {
    **PLAIN,
    "prompt_tokens_details": {"cached_tokens": 1536, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 64, "audio_tokens": 0},
}
LONG = {"prompt_tokens": 300_000, "completion_tokens": 412, "total_tokens": 300_412}
COSTS = [
    ("openai/gpt-4o-mini", "gpt-4o-mini-2024-07-18", PLAIN, None),
    ("openai/gpt-4o-mini", "gpt-4o-mini", CACHED, "default"),
    ("openai/gpt-4o", "gpt-4o-2024-08-06", CACHED, "priority"),
    ("openai/gpt-4.1-mini", "gpt-4.1-mini", CACHED, "flex"),
    ("openai/gpt-4.1", "some-local-name", PLAIN, None),  # a server serving another name: priced as asked
    ("openai/gpt-3.5-turbo", "gpt-3.5-turbo-0125", PLAIN, None),
    ("openai/ft:gpt-4o-mini-2024-07-18:acme::abc123", "ft:gpt-4o-mini-2024-07-18:acme::abc123", PLAIN, None),
    ("openai/fake-model", "fake-model", PLAIN, None),  # not in the map: no cost
    ("hosted_vllm/gpt-4o-mini", "gpt-4o-mini", PLAIN, None),  # litellm has no hosted_vllm prices
    ("openai/gpt-5.4", "gpt-5.4", LONG, "priority"),  # a long-prompt rate (a forced client)
]


@pytest.mark.parametrize("model, served, usage, tier", COSTS, ids=[f"{c[0]}-{c[1]}" for c in COSTS])
def test_the_cost_is_litellms_to_the_last_digit(llm_server, model, served, usage, tier):
    costs = []
    for client in CLIENTS:
        llm_server.script(Raw(completion_body(served, usage, tier)))
        c = chat_model(llm_server, client=client, model=model).complete(MESSAGES, SCHEMA)
        costs.append((c.cost_usd, c.prompt_tokens, c.completion_tokens))
    assert costs[0] == costs[1]


def test_the_cost_of_a_plain_call_is_tokens_times_the_maps_rates(llm_server):
    llm_server.script(Raw(completion_body("gpt-4o-mini", PLAIN)), Raw(completion_body("gpt-4o-mini", CACHED)))
    model = sdk(llm_server, model="openai/gpt-4o-mini")
    info = price_map()["gpt-4o-mini"]
    inp, out, hit = (
        info["input_cost_per_token"],
        info["output_cost_per_token"],
        info["cache_read_input_token_cost"],
    )
    assert model.complete(MESSAGES).cost_usd == pytest.approx(1834 * inp + 412 * out, rel=1e-12)
    assert model.complete(MESSAGES).cost_usd == pytest.approx(298 * inp + 1536 * hit + 412 * out, rel=1e-12)


def test_no_price_these_providers_resolve_to_depends_on_the_time_of_day():
    """The SDK path does not implement litellm's off-peak windows: no entry it can price by may have them."""
    offenders = [
        k for k, v in price_map().items() if v.get("litellm_provider") in PROVIDERS and "off_peak" in str(v)
    ]
    assert offenders == []


# ---------------------------------------------------------------- grades


def scrub(grade: dict) -> dict:
    """A grade without what differs from call to call: the fence tag, the latency."""
    text = json.dumps(grade, ensure_ascii=False)
    text = re.sub(r"answer-[0-9a-f]{16}", "answer-TAG", text)
    grade = json.loads(text)
    grade["grader"].pop("latency_ms", None)
    grade.pop("graded_at", None)
    return grade


def test_a_grade_and_its_provenance_are_the_same_through_either_client(llm_server, q21):
    llm_server.default = Reply(
        grade_reply(verdict="partial", score=6.0), prompt_tokens=1500, completion_tokens=300
    )
    grades = [
        llm_grader(llm_server, client=client).grade(q21, rubric_for(q21), Answer(ANSWER_21)).to_dict()
        for client in CLIENTS
    ]
    assert grades[1]["grader"]["model"] == "openai/fake-model" and grades[1]["provenance"]["mode"] == "schema"
    assert grades[1]["provenance"]["reply"] and grades[1]["provenance"]["messages"][0]["role"] == "system"
    assert scrub(grades[0]) == scrub(grades[1])
    first, second = (re.sub(r"answer-[0-9a-f]{16}", "", json.dumps(r["json"])) for r in llm_server.requests)
    assert json.loads(first) == json.loads(second)  # the very same request


def test_an_ungraded_answer_keeps_the_same_error_through_either_client(llm_server, q21):
    llm_server.default = Status(503)
    errors = [
        llm_grader(llm_server, retries=1, client=client).grade(q21, rubric_for(q21), Answer(ANSWER_21)).error
        for client in CLIENTS
    ]
    assert errors[0] == errors[1] and errors[1].startswith("server: ")
    assert len(llm_server.requests) == 4  # 1 + 1 retry, each


# ---------------------------------------------------------------- every model the SDK takes


def model_names() -> list[str]:
    known = {
        k.removeprefix("openai/") for k, v in price_map().items() if v.get("litellm_provider") == "openai"
    }
    local = ["fake-model", "llama3.1:8b", "qwen2.5:7b", "Qwen/Qwen2.5-7B-Instruct", "gpt-oss-20b", "my-o1"]
    return sorted(known) + local


@pytest.mark.slow
def test_litellm_sends_the_very_same_request_for_every_model_the_sdk_takes(llm_server, monkeypatch):
    from interviewer.grading.litellm_chat import LiteLLMModel
    from interviewer.grading.openai_chat import OpenAIModel

    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key-123456")
    llm_server.default = Reply('{"ok": true}')
    taken = 0
    names = model_names()
    for provider, base in [(p, llm_server.base_url) for p in PROVIDERS] + [("openai", None)]:
        # litellm's OpenAI rules are about the name: every name for openai/, a sample for the local servers
        for name in names if provider == "openai" else names[::4] + names[-6:]:
            model = f"{provider}/{name}"
            if not takes(model, base):
                continue
            taken += 1
            seen = []
            for Model in (LiteLLMModel, OpenAIModel):
                llm_server.reset()
                done = Model(model, base, None, 5.0).complete(MESSAGES, SCHEMA)
                r = llm_server.requests[-1]
                seen.append((done.mode, r["path"], r["json"], r["headers"].get("authorization")))
            assert seen[0] == seen[1], model
    assert taken > 200


@pytest.mark.slow
def test_the_cost_is_litellms_for_every_priced_model_the_sdk_takes(llm_server):
    priced = [
        n for n in model_names() if takes(f"openai/{n}", BASE) and (model_info(n, "openai") or ("", {}))[1]
    ]
    assert len(priced) > 30
    for name in priced:
        for served, usage, tier in [(name, CACHED, "priority"), (name + "-2025-01-01", PLAIN, None)]:
            costs = []
            for client in CLIENTS:
                llm_server.script(Raw(completion_body(served, usage, tier)))
                costs.append(
                    chat_model(llm_server, client=client, model=f"openai/{name}").complete(MESSAGES).cost_usd
                )
            assert costs[0] == costs[1], (name, served)
