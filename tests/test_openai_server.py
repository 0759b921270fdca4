"""Tests of the fake OpenAI chat-completions server in tests/openai_server.py."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

try:
    from openai_server import (
        Drop,
        FakeOpenAI,
        Hang,
        Raw,
        Reply,
        Status,
        chat_json_reply,
    )
except ImportError:  # tests/ imported as a package
    from tests.openai_server import (
        Drop,
        FakeOpenAI,
        Hang,
        Raw,
        Reply,
        Status,
        chat_json_reply,
    )

MESSAGES = [{"role": "user", "content": "Hello there"}]


@pytest.fixture
def server():
    with FakeOpenAI() as srv:
        yield srv


@pytest.fixture
def client(server):
    with openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=10) as c:
        yield c


def chat(server, payload=None, timeout=10.0, path="/v1/chat/completions"):
    """POST a chat request with plain httpx and return the response."""
    body = payload if payload is not None else {"model": "m", "messages": MESSAGES}
    url = f"http://127.0.0.1:{server.port}{path}"
    return httpx.post(url, json=body, timeout=timeout)


def test_start_stop_and_addresses():
    srv = FakeOpenAI().start()
    try:
        assert srv.port > 0
        assert srv.base_url == f"http://127.0.0.1:{srv.port}/v1"
        assert chat(srv).status_code == 200
    finally:
        srv.stop()
    srv.stop()  # idempotent
    with pytest.raises(httpx.TransportError):
        chat(srv, timeout=2)


def test_normal_reply_through_openai_client(server, client):
    server.script(Reply("Hi! How can I help?", prompt_tokens=11, completion_tokens=7))

    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert completion.object == "chat.completion"
    assert completion.id
    assert isinstance(completion.created, int)
    assert completion.model == "gpt-4o-mini"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "Hi! How can I help?"
    assert choice.finish_reason == "stop"
    assert completion.usage.prompt_tokens == 11
    assert completion.usage.completion_tokens == 7
    assert completion.usage.total_tokens == 18


def test_reply_defaults_and_options(server, client):
    server.script(
        Reply("cut off", finish_reason="length"),
        Reply(lambda req: f"echo: {req['messages'][-1]['content']} ({req['model']})"),
    )

    first = client.chat.completions.create(model="a-model", messages=MESSAGES)
    assert first.choices[0].finish_reason == "length"
    usage = first.usage
    assert usage.prompt_tokens >= 1 and usage.completion_tokens >= 1
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens

    second = client.chat.completions.create(model="b-model", messages=MESSAGES)
    assert second.choices[0].message.content == "echo: Hello there (b-model)"
    assert second.model == "b-model"

    # queue empty: the default step is used
    third = client.chat.completions.create(model="c", messages=MESSAGES)
    assert third.choices[0].message.content == "OK"


def test_chat_json_reply(server, client):
    obj = {"score": 3, "verdict": "très bien", "notes": ["a", "b"]}
    server.script(chat_json_reply(obj))

    completion = client.chat.completions.create(model="m", messages=MESSAGES)

    content = completion.choices[0].message.content
    assert "très bien" in content  # ensure_ascii=False
    assert json.loads(content) == obj


def test_records_requests(server, client):
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "Be brief."}, *MESSAGES],
        temperature=0.2,
        extra_headers={"X-Test-Header": "yes"},
    )
    chat(server, {"model": "plain", "messages": []}, path="/chat/completions")

    requests = server.requests
    assert len(requests) == 2
    first, second = requests
    assert first["path"] == "/v1/chat/completions"
    assert first["method"] == "POST"
    assert first["json"]["model"] == "gpt-4o-mini"
    assert first["json"]["temperature"] == 0.2
    assert first["json"]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert first["headers"]["authorization"] == "Bearer x"
    assert first["headers"]["x-test-header"] == "yes"
    assert second["path"] == "/chat/completions"
    assert second["json"] == {"model": "plain", "messages": []}
    assert server.last_request is second

    # the property is a snapshot
    requests.clear()
    assert len(server.requests) == 2
    server.reset()
    assert server.requests == []


def test_records_non_json_body(server):
    resp = httpx.post(f"{server.base_url}/chat/completions", content=b"{not json", timeout=5)
    assert resp.status_code == 200
    assert server.last_request["json"] is None
    assert server.last_request["body"] == b"{not json"


def test_429_with_retry_after_reaches_client(server, client):
    server.script(Status(429, headers={"Retry-After": "1"}))

    with pytest.raises(openai.RateLimitError) as excinfo:
        client.chat.completions.create(model="m", messages=MESSAGES)

    err = excinfo.value
    assert err.status_code == 429
    assert err.response.headers["retry-after"] == "1"
    assert err.code == "rate_limit_exceeded"
    assert len(server.requests) == 1  # max_retries=0: no retry happened


def test_status_bodies(server, client):
    html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    server.script(
        Status(500),
        Status(503, body={"error": {"message": "overloaded", "type": "server_error"}}),
        Status(502, body=html),
    )

    with pytest.raises(openai.InternalServerError) as excinfo:
        client.chat.completions.create(model="m", messages=MESSAGES)
    assert excinfo.value.status_code == 500
    assert excinfo.value.type == "server_error"

    with pytest.raises(openai.InternalServerError) as excinfo:
        client.chat.completions.create(model="m", messages=MESSAGES)
    assert excinfo.value.status_code == 503
    assert excinfo.value.message.endswith("overloaded")

    resp = chat(server)
    assert resp.status_code == 502
    assert resp.headers["content-type"].startswith("text/html")
    assert resp.text == html


def test_raw_bodies(server, client):
    server.script(
        Raw(b"this is not json", content_type="text/plain"),
        Raw(b'{"id": "chatcmpl-1", "choices": [{"mess', status=200),
        Raw(b'{"weird": true}', status=418, headers={"X-Extra": "1"}),
    )

    first = chat(server)
    assert first.status_code == 200
    assert first.content == b"this is not json"
    assert first.headers["content-type"] == "text/plain"

    second = chat(server)
    assert second.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        second.json()

    third = chat(server)
    assert third.status_code == 418
    assert third.headers["x-extra"] == "1"
    assert third.json() == {"weird": True}

    # the openai client fails on a truncated JSON body too (this openai version
    # lets the json.JSONDecodeError, a ValueError, escape unwrapped)
    server.script(Raw(b'{"id": "chatcmpl-1", "choi'))
    with pytest.raises((openai.APIError, ValueError)):
        client.chat.completions.create(model="m", messages=MESSAGES)


def test_drop_closes_connection_without_response(server, client):
    server.script(Drop())
    with pytest.raises(openai.APIConnectionError) as excinfo:
        client.chat.completions.create(model="m", messages=MESSAGES)
    assert not isinstance(excinfo.value, openai.APITimeoutError)
    assert len(server.requests) == 1

    # the server keeps working afterwards
    completion = client.chat.completions.create(model="m", messages=MESSAGES)
    assert completion.choices[0].message.content == "OK"


def test_hang_triggers_client_timeout(server, client):
    server.script(Hang(30))
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="m", messages=MESSAGES, timeout=0.3)
    assert time.monotonic() - started < 5
    assert server.wait_for_requests(1)


def test_hang_then_answers(server, client):
    server.script(Hang(0.2, then=Reply("late")), Hang(0.05))
    started = time.monotonic()
    completion = client.chat.completions.create(model="m", messages=MESSAGES)
    assert time.monotonic() - started >= 0.2
    assert completion.choices[0].message.content == "late"
    # without `then`, the default step answers
    completion = client.chat.completions.create(model="m", messages=MESSAGES)
    assert completion.choices[0].message.content == "OK"


def test_stop_releases_hanging_request():
    srv = FakeOpenAI().start()
    srv.script(Hang(60))
    errors = []

    def call():
        try:
            chat(srv, timeout=30)
        except httpx.HTTPError as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    assert srv.wait_for_requests(1)
    started = time.monotonic()
    srv.stop()
    caller.join(10)
    assert not caller.is_alive()
    assert time.monotonic() - started < 5
    assert len(errors) == 1  # connection closed without a response


def test_concurrent_requests_are_served_concurrently(server, client):
    server.latency = 0.5

    def call(i):
        completion = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": f"request {i}"}]
        )
        return completion.choices[0].message.content

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(call, range(8)))
    elapsed = time.monotonic() - started

    assert results == ["OK"] * 8
    assert len(server.requests) == 8
    assert elapsed >= 0.5
    assert elapsed < 2.0, f"8 parallel requests at 0.5 s latency took {elapsed:.2f} s"


def test_reply_latency_overrides_server_latency(server, client):
    server.latency = 5
    server.script(Reply("fast", latency=0))
    started = time.monotonic()
    completion = client.chat.completions.create(model="m", messages=MESSAGES)
    assert completion.choices[0].message.content == "fast"
    assert time.monotonic() - started < 2


def test_scripted_steps_are_fifo(server, client):
    server.script(Reply("one"), Status(500))
    server.script(Reply("two"), "three")
    assert server.pending == 4

    assert client.chat.completions.create(model="m", messages=MESSAGES).choices[0].message.content == "one"
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m", messages=MESSAGES)
    assert client.chat.completions.create(model="m", messages=MESSAGES).choices[0].message.content == "two"
    assert client.chat.completions.create(model="m", messages=MESSAGES).choices[0].message.content == "three"
    assert server.pending == 0
    assert client.chat.completions.create(model="m", messages=MESSAGES).choices[0].message.content == "OK"


def test_default_step_and_callable_default(server, client):
    server.default = Reply("fallback")
    assert (
        client.chat.completions.create(model="m", messages=MESSAGES).choices[0].message.content == "fallback"
    )

    server.default = lambda req: Reply(f"model was {req['model']}") if req["model"] != "bad" else Status(400)
    completion = client.chat.completions.create(model="good", messages=MESSAGES)
    assert completion.choices[0].message.content == "model was good"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="bad", messages=MESSAGES)


def test_broken_step_gives_visible_500(server):
    server.script(Reply(lambda req: 1 / 0))
    resp = chat(server)
    assert resp.status_code == 500
    assert "ZeroDivisionError" in resp.json()["error"]["message"]


def test_streaming_request_gets_sse(server, client):
    server.script(Reply("streamed text"))
    stream = client.chat.completions.create(
        model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "streamed text"
    assert chunks[0].choices[0].finish_reason == "stop"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens >= 2


def test_models_endpoint_and_unknown_path(server, client):
    models = client.models.list()
    assert [m.id for m in models.data]
    resp = httpx.get(f"http://127.0.0.1:{server.port}/models", timeout=5)
    assert resp.status_code == 200
    assert resp.json()["object"] == "list"

    resp = httpx.post(f"{server.base_url}/embeddings", json={}, timeout=5)
    assert resp.status_code == 404
    assert resp.json()["error"]["message"]


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic noise from litellm's lazy imports
def test_litellm_completion(server, monkeypatch):
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network fetch on import
    litellm = pytest.importorskip("litellm")
    server.script(Reply("from litellm", prompt_tokens=3, completion_tokens=2))

    response = litellm.completion(
        model="openai/gpt-4o-mini",
        api_base=server.base_url,
        api_key="x",
        messages=MESSAGES,
        num_retries=0,
        timeout=10,
    )

    assert response.choices[0].message.content == "from litellm"
    assert response.usage.total_tokens == 5
    assert server.last_request["json"]["model"] == "gpt-4o-mini"
    assert server.last_request["path"] == "/v1/chat/completions"
