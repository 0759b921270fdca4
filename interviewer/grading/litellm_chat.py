"""litellm behind the chat-model seam: every provider (OpenAI, Anthropic, a local vLLM/llama.cpp/Ollama
server…). litellm is imported here only, lazily, with its local cost map and no retries of its own; its errors
become `CallError`s of the kinds in `chat.ERROR_POLICY`.
"""

from __future__ import annotations

import os
import re
from typing import Any

from interviewer.grading.chat import CallError, Completion, ModelSettings, load_once, response_format


@load_once
def load_litellm():
    """Import litellm once, offline: the local cost map, no telemetry, no retries of its own."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    litellm.num_retries = 0
    litellm.drop_params = True
    return litellm


# litellm's import, in the background (while the first question is on screen)
prefetch = load_litellm.prefetch


LITELLM_PREFIX = re.compile(r"^(litellm\.)?\w+Error: (\w+Error: )?(\w+Exception - )?(error - )?")
BODY_NOT_JSON = re.compile(
    r"Expecting value|Unterminated string|Expecting ',' delimiter|Extra data|JSONDecodeError"
)
# litellm's words for a 200 whose JSON is not a usable chat completion (no choices, a null message)
NOT_A_COMPLETION = re.compile(
    r"Invalid response object|response with no 'choices'|'choices' that is not a list"
)


def concise(message: str) -> str:
    """litellm's message without its prefixes, Python reprs and the echoed response object: one short line."""
    text = " ".join(message.split())
    text = text.split(" Received response")[0]
    text = text.split(" Traceback (most recent call last)")[0]
    text = LITELLM_PREFIX.sub("", text)
    text = re.sub(r"<[^<>]*(class|object at|Response)[^<>]*>", "", text)
    return text.strip(" ,.-")[:240] or "no details"


def _retry_after(exc: Exception) -> float | None:
    for holder in (getattr(exc, "response", None), exc):
        headers = getattr(holder, "headers", None) or getattr(holder, "litellm_response_headers", None)
        if not headers:
            continue
        try:
            value = headers.get("retry-after") or headers.get("Retry-After")
        except AttributeError:
            continue
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


def classify(exc: Exception) -> CallError:
    """Map a litellm/openai exception to an ERROR_POLICY kind."""
    lit = load_litellm()
    detail = concise(str(exc))
    status = getattr(exc, "status_code", None)
    if BODY_NOT_JSON.search(str(exc)):
        # a 200 whose body is not OpenAI-style JSON (a proxy's page, a truncated reply): a bad reply, not an outage
        return CallError("bad_reply", f"the endpoint's reply is not valid JSON ({detail})")
    if NOT_A_COMPLETION.search(str(exc)):
        return CallError("bad_reply", "the endpoint's reply is not a chat completion with a message")
    if isinstance(exc, lit.RateLimitError) or status == 429:
        return CallError("rate_limit", detail, _retry_after(exc))
    if isinstance(exc, lit.Timeout):
        return CallError("timeout", detail)
    if isinstance(exc, lit.AuthenticationError | lit.PermissionDeniedError) or status in (401, 403):
        return CallError("auth", detail)
    if isinstance(exc, lit.NotFoundError) or status == 404:
        return CallError("not_found", detail)
    if isinstance(exc, lit.BadRequestError) or status in (400, 422):
        return CallError("bad_request", detail)
    if "connection error" in detail.lower() or "connect" in type(exc.__cause__ or exc).__name__.lower():
        # litellm reports a refused or dropped connection as a server error; the user's fix differs.
        return CallError("connection", detail)
    if isinstance(exc, lit.InternalServerError | lit.ServiceUnavailableError) or (status and status >= 500):
        return CallError("server", detail, _retry_after(exc))
    if isinstance(exc, lit.APIConnectionError):
        # litellm also reports a body it cannot parse (an HTML page, non-JSON) as a connection error.
        return CallError("connection", detail)
    return CallError("unknown", f"{type(exc).__name__}: {detail}")


def reply_text(resp: Any) -> str:
    """The first choice's text; a reply without one is a bad reply (retried), never an exception of its own."""
    choices = getattr(resp, "choices", None) or []
    if not choices:
        raise CallError("bad_reply", "the reply has no choices")
    message = getattr(choices[0], "message", None)
    content = getattr(message, "content", None)
    if content is None:
        refusal = getattr(message, "refusal", None)
        why = "the model refused" if refusal else "the reply's message has no content"
        raise CallError("bad_reply", why)
    if not isinstance(content, str):
        raise CallError("bad_reply", f"the reply's content is a {type(content).__name__}, not text")
    return content


class LiteLLMModel(ModelSettings):
    """One model through litellm, in the output mode it takes: JSON schema, else JSON mode, else text (found
    once, then kept)."""

    def warm_up(self) -> None:
        load_litellm()

    def _mode(self) -> str:
        if self.structured != "auto":
            return self.structured
        lit = load_litellm()
        try:
            if lit.supports_response_schema(model=self.model) or self.api_base:
                return "schema"
        except Exception:
            pass
        return "schema" if self.api_base else "json"

    def _request(
        self, messages: list[dict[str, str]], mode: str, schema: dict[str, Any] | None
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "timeout": self.timeout,
            "max_retries": 0,
            "num_retries": 0,
        }
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key or self.api_base:
            kwargs["api_key"] = self.api_key or "not-needed"
        if fmt := response_format(mode, schema):
            kwargs["response_format"] = fmt
        return kwargs

    def _send(self, kwargs: dict[str, Any]) -> Any:
        return load_litellm().completion(**kwargs)

    def _classify(self, exc: Exception) -> CallError:
        return classify(exc)

    def _deployment(self, hidden: dict[str, Any]) -> str | None:
        return None  # one model at one endpoint (the Router's model names the deployment that served)

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any] | None = None) -> Completion:
        """One call to the model, with no retries of its own."""
        mode = self._mode()
        kwargs = self._request(messages, mode, schema)
        try:
            resp = self._send(kwargs)
        except Exception as exc:
            err = self._classify(exc)
            if self.falls_back(err, mode):
                return self.complete(messages, schema)
            raise err from exc
        text = reply_text(resp)
        usage = getattr(resp, "usage", None)
        hidden = getattr(resp, "_hidden_params", None) or {}
        cost = hidden.get("response_cost") or None  # litellm prices the call itself; no second pass
        return Completion(
            text=text,
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            cost_usd=cost,
            mode=mode,
            deployment=self._deployment(hidden),
        )
