"""The chat-model seam: messages in, text out (with usage, cost and the output mode used). Everything
provider-specific sits behind it: `openai_chat.OpenAIModel` (the openai SDK) for OpenAI-compatible endpoints and
`litellm_chat.LiteLLMModel` for every other provider (chosen in `models_for`, both imported lazily), and
`FakeModel`, an in-process model with a queue of replies and a record of every call, for tests of anything
model-shaped. A model call never retries on its own: the grader has the one retry layer.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

# kind: (retry?, what to tell the user)
ERROR_POLICY: dict[str, tuple[bool, str]] = {
    "rate_limit": (True, "the provider is rate-limiting; wait a minute or lower --concurrency"),
    "server": (
        True,
        "the provider had a server error; try again later or regrade with 'interviewer regrade'",
    ),
    "timeout": (True, "the model did not answer in time; raise INTERVIEWER_TIMEOUT or check the server"),
    "connection": (
        True,
        "cannot reach the model endpoint; check --api-base / INTERVIEWER_API_BASE and the network",
    ),
    "bad_reply": (True, "the model's reply was not a valid grade; try a stronger model or regrade later"),
    "auth": (
        False,
        "the API key was refused; set the provider's key (e.g. OPENAI_API_KEY) or INTERVIEWER_API_KEY",
    ),
    "not_found": (False, "the model was not found; check the model name (e.g. openai/gpt-4o-mini)"),
    "bad_request": (False, "the provider rejected the request; check the model name and settings"),
    "unknown": (False, "unexpected error; run with --debug for details"),
}


@dataclass
class CallError(Exception):
    kind: str
    detail: str
    retry_after: float | None = None

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


@dataclass
class Completion:
    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    mode: str = "schema"  # the output mode the call used: schema | json | text
    deployment: str | None = None  # which of a profile's deployments served it (`router_chat`), else None


def load_once(load: Callable[[], Any]) -> Callable[[], Any]:
    """A library's loader that runs once (under a lock: the background import and the first call may race), and
    `loader.prefetch()`, which starts it on a daemon thread while the first question is on screen."""
    lock, box = threading.Lock(), []

    def loader():
        with lock:
            if not box:
                box.append(load())
        return box[0]

    def prefetch() -> threading.Thread:
        t = threading.Thread(target=loader, name=f"{load.__name__.removeprefix('load_')}-import", daemon=True)
        t.start()
        return t

    loader.prefetch = prefetch
    loader.__doc__ = load.__doc__
    return loader


def response_format(mode: str, schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """The request's `response_format` for an output mode: the JSON schema, JSON mode, or none (text)."""
    if mode == "schema" and schema is not None:
        return {"type": "json_schema", "json_schema": {"name": "grade", "schema": schema, "strict": True}}
    return {"type": "json_object"} if mode in ("schema", "json") else None


class ModelSettings:
    """What every real model keeps: its name, endpoint, key, timeout and output mode (auto | schema | json |
    text; `auto` finds the first that works, once, under `_mode_lock`)."""

    def __init__(
        self,
        model: str,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        structured: str = "auto",
    ):
        if not model:
            from interviewer.errors import InputError

            raise InputError("no model set for the LLM grader; use --model M or set INTERVIEWER_MODEL")
        self.name = self.model = model
        self.api_base, self.api_key, self.timeout, self.structured = api_base, api_key, timeout, structured
        self._mode_lock = threading.Lock()

    def falls_back(self, err: CallError, mode: str) -> bool:
        """A request refused for its structured output moves the model to the next mode for good (schema → JSON
        mode → text); True when the call should be made again in it."""
        if err.kind != "bad_request" or mode == "text" or "response_format" not in err.detail.lower():
            return False
        with self._mode_lock:
            self.structured = "json" if mode == "schema" else "text"
        return True


class ChatModel(Protocol):
    name: str

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any] | None = None) -> Completion:
        """One call: the reply's text, or a `CallError` whose kind is in `ERROR_POLICY`."""
        ...

    def warm_up(self) -> None:
        """Pay any one-off cost (an import) before the first call is timed."""
        ...


Reply = str | Exception | Callable[[list[dict[str, str]]], str]


class FakeModel:
    """A model in the process: replies come from a queue (text, an exception to raise, or a function of the
    messages); `calls` keeps every call's messages and schema. With an empty queue it says so with a CallError."""

    def __init__(self, *replies: Reply, name: str = "fake/model"):
        self.name = name
        self.queue: deque[Reply] = deque(replies)
        self.calls: list[dict[str, Any]] = []

    def enqueue(self, *replies: Reply) -> FakeModel:
        self.queue.extend(replies)
        return self

    def warm_up(self) -> None:
        pass

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any] | None = None) -> Completion:
        self.calls.append({"messages": messages, "schema": schema})
        if not self.queue:
            raise CallError("server", "the fake model has no reply queued")
        reply = self.queue.popleft()
        if isinstance(reply, Exception):
            raise reply
        text = reply(messages) if callable(reply) else reply
        return Completion(
            text=text, prompt_tokens=10, completion_tokens=5, mode="schema" if schema else "text"
        )
