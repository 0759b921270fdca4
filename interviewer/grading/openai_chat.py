"""OpenAI-compatible endpoints through the `openai` SDK behind the chat-model seam: OpenAI itself, and a vLLM,
LM Studio or llamafile server at an explicit `--api-base` (Ollama and llama.cpp serve the same protocol: reach
them as `openai/<model>` with their `/v1` base). It behaves as `litellm_chat.LiteLLMModel` does on those
routes — the same request, the same output modes and fallback, the same error kinds, the same cost — without
importing litellm: the SDK is imported lazily, with no retries of its own, and the price of a call comes from the
cost map that ships inside the litellm package, read as a file.

`takes(model, api_base)` says which model strings this client serves when the choice is automatic: only those
litellm sends to the server unchanged. litellm rewrites the request for some OpenAI models (no temperature for
the reasoning models, system turned user for some, no response_format for gpt-4, a different endpoint for
responses-only models); those stay on litellm, and so does every other provider.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from interviewer.errors import InputError
from interviewer.grading.chat import CallError, Completion, ModelSettings, load_once, response_format
from interviewer.grading.litellm_chat import BODY_NOT_JSON, _retry_after, concise, reply_text

# litellm providers whose route is plain OpenAI chat completions at the given base URL. `openai/` also works
# without one (api.openai.com, or OPENAI_BASE_URL); the others need an explicit `api_base`.
PROVIDERS = ("openai", "hosted_vllm", "lm_studio", "llamafile")
DEFAULT_BASE = "https://api.openai.com/v1"
NOT_A_COMPLETION = "the endpoint's reply is not a chat completion with a message"


@load_once
def load_openai():
    """Import the SDK once."""
    import openai

    return openai


prefetch = load_openai.prefetch  # the SDK's import, in the background


def split(model: str) -> tuple[str, str]:
    """`provider/name` → (provider, name); a bare name has no provider."""
    provider, sep, name = model.partition("/")
    return (provider.lower(), name) if sep else ("", model)


def route(model: str, api_base: str | None) -> str | None:
    """Why this client cannot serve the model string at all (None: it can)."""
    provider, name = split(model)
    if provider not in PROVIDERS or not name:
        kinds = ", ".join(f"{p}/<model>" for p in PROVIDERS)
        return f"the openai client takes OpenAI-compatible models only ({kinds}), not {model!r}"
    if provider != "openai" and not api_base:
        return f"{provider}/ models need --api-base (INTERVIEWER_API_BASE) with the openai client"
    return None


# litellm's rules for OpenAI model names: reasoning families (no temperature), o-series, no response_format
REASONING_NAMES = re.compile(r"(^|[/:])o\d|gpt-([5-9]|\d\d)")
NO_RESPONSE_FORMAT = {"gpt-4", "gpt-3.5-turbo-16k"}


def takes(model: str, api_base: str | None) -> bool:
    """The automatic choice: this client serves the model when litellm would send it the very same request."""
    if route(model, api_base):
        return False
    provider, name = split(model)
    lower = name.lower()
    if REASONING_NAMES.search(lower) or lower in NO_RESPONSE_FORMAT:
        return False
    found = model_info(name, provider)
    if found is None:
        return True  # a name litellm does not know (a local model): it sends the request as is
    info = found[1]
    return (
        info.get("mode", "chat") == "chat"
        and not info.get("supports_reasoning")
        and info.get("supports_system_messages") is not False
    )


# ---------------------------------------------------------------- litellm's cost map, read as a file

_prices_lock = threading.Lock()
_prices: dict[str, dict] | None = None
_lowercase: dict[str, str] = {}


def price_map() -> dict[str, dict]:
    """litellm's bundled cost map (the one litellm reads here: LITELLM_LOCAL_MODEL_COST_MAP), parsed once."""
    global _prices
    with _prices_lock:
        if _prices is None:
            prices: dict[str, dict] = {}
            spec = importlib.util.find_spec("litellm")  # finds the package; imports nothing
            for folder in (spec.submodule_search_locations or []) if spec else []:
                path = Path(folder) / "model_prices_and_context_window_backup.json"
                if path.is_file():
                    data = json.loads(path.read_bytes())
                    prices = {k: v for k, v in data.items() if isinstance(v, dict) and k != "sample_spec"}
                    break
            _lowercase.update({k.lower(): k for k in prices})
            _prices = prices
    return _prices


def _key(name: str) -> str | None:
    prices = price_map()
    if name in prices:
        return name
    return _lowercase.get(name.lower())


def _stripped(name: str) -> str:
    """litellm's base name: a fine-tune's org/suffix/id, else a dated snapshot suffix, cut off."""
    if "ft:" in name:
        return re.sub(r"(:[^:]*){3}$", "", name)
    return re.sub(r"-\d{4}-\d{2}-\d{2}$", "", name)


def model_info(model: str, provider: str) -> tuple[str, dict] | None:
    """The cost-map entry litellm finds for `model` under `provider` (its lookup order), or None."""
    name = model.split("/", 1)[1] if model.startswith(provider + "/") else model
    combined = f"{provider}/{name}"
    candidates = (
        combined,
        model,
        name,
        f"{provider}/{_stripped(name)}",
        _stripped(name),
        f"{provider}/{combined}",
    )
    prices = price_map()
    for candidate in candidates:
        key = _key(candidate)
        if key is None:
            continue
        info = prices[key]
        if info.get("litellm_provider") in (None, provider):
            return key, info
    return None


def _prices_anything(info: dict) -> bool:
    return any(v is not None and "cost_per" in k and "token" in k for k, v in info.items())


def _resolves_to_rates(model: str, provider: str) -> bool:
    found = model_info(model, provider)
    return found is not None and _prices_anything(found[1])


def priced_model(requested: str, provider: str, served: str | None) -> str:
    """The name litellm prices a call by: the served model when the map has rates for it, else the requested."""
    requested = requested if requested.startswith(provider + "/") else f"{provider}/{requested}"
    if not served:
        return requested
    served_name = served if served.split("/")[0] in (provider, *PROVIDERS) else f"{provider}/{served}"
    if served_name in (requested, requested.partition("/")[2]) or _resolves_to_rates(served_name, provider):
        return served_name
    return requested if _resolves_to_rates(requested, provider) else served_name


TIERS = {
    "flex": "flex",
    "balanced": "balanced",
    "priority": "priority",
    "fast": "priority",
    "ultrafast": "ultrafast",
}


def _rate(info: dict, key: str, tier: str | None, default: float | None = 0.0) -> float | None:
    """A rate from the entry: the service tier's when it has one, else the standard one."""
    for k in (f"{key}_{tier}", key) if tier else (key,):
        value = info.get(k)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return default
    return default


def _tokens(details: Any, name: str) -> int:
    value = details.get(name) if isinstance(details, dict) else getattr(details, name, None)
    return value if isinstance(value, int) and value > 0 else 0


def cost(
    requested: str, provider: str, served: str | None, usage: Any, tier: str | None = None
) -> float | None:
    """What litellm would charge for a plain chat call: uncached, cached and reasoning tokens at the entry's
    rates (the served tier's, a long prompt's when the entry has them); None when the map does not know the model
    or the call costs nothing. (No entry these providers resolve to has off-peak pricing; a test checks it.)"""
    if usage is None:
        return None
    found = model_info(priced_model(requested, provider, served), provider)
    if found is None:
        return None
    info = found[1]
    prompt = _tokens(usage, "prompt_tokens")
    completion = _tokens(usage, "completion_tokens")
    tier = TIERS.get(tier.lower()) if isinstance(tier, str) else None
    rates = {
        "input": _rate(info, "input_cost_per_token", tier),
        "output": _rate(info, "output_cost_per_token", tier),
        "cache_read": _rate(info, "cache_read_input_token_cost", tier, None),
    }
    above = []
    for k in info:
        m = re.fullmatch(r"input_cost_per_token_above_(\d+)(k?)_tokens", k)
        if m and info[k] is not None:
            above.append((int(m.group(1)) * (1000 if m.group(2) else 1), m.group(1) + m.group(2)))
    for threshold, label in sorted(above):
        if prompt > threshold:
            for name, key in (
                ("input", "input_cost_per_token"),
                ("output", "output_cost_per_token"),
                ("cache_read", "cache_read_input_token_cost"),
            ):
                rates[name] = _rate(info, f"{key}_above_{label}_tokens", tier, rates[name])
    if rates["cache_read"] is None:  # no cache price: cached tokens are billed as input
        rates["cache_read"] = rates["input"]
    details = getattr(usage, "prompt_tokens_details", None)
    cached = _tokens(details, "cached_tokens") if details else 0
    reasoning_details = getattr(usage, "completion_tokens_details", None)
    reasoning = _tokens(reasoning_details, "reasoning_tokens") if reasoning_details else 0
    prompt_cost = max(prompt - cached, 0) * rates["input"] + cached * rates["cache_read"]
    completion_cost = max(completion - reasoning, 0) * rates["output"]
    if reasoning:
        completion_cost += reasoning * _rate(info, "output_cost_per_reasoning_token", tier, rates["output"])
    return (prompt_cost + completion_cost) or None


# ---------------------------------------------------------------- errors


def _detail(exc: Any) -> str:
    """The server's own message when its error body has one, as litellm shows it."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        message = body.get("message")
        nested = body.get("error")
        if not message and isinstance(nested, dict):
            message = nested.get("message")
        if isinstance(message, str) and message:
            return concise(message)
        return concise(getattr(exc, "message", "") or "")
    return f"Error code: {getattr(exc, 'status_code', '?')}"


def classify(exc: Exception) -> CallError:
    """Map an SDK exception to the ERROR_POLICY kind litellm gives the same failure."""
    sdk = load_openai()
    if isinstance(exc, json.JSONDecodeError) or BODY_NOT_JSON.search(str(exc)):
        # a 200 whose body is not OpenAI-style JSON (a proxy's page, a truncated reply): a bad reply
        return CallError("bad_reply", f"the endpoint's reply is not valid JSON ({concise(str(exc))})")
    if isinstance(exc, sdk.APITimeoutError):
        return CallError("timeout", concise(str(exc)))
    if isinstance(exc, sdk.APIConnectionError):
        return CallError("connection", concise(str(exc)))
    if isinstance(exc, sdk.APIStatusError):
        status, detail = exc.status_code, _detail(exc)
        if status == 429:
            return CallError("rate_limit", detail, _retry_after(exc))
        if status in (408, 504):  # litellm reports both as its Timeout
            return CallError("timeout", detail)
        if status in (401, 403):
            return CallError("auth", detail)
        if status == 404:
            return CallError("not_found", detail)
        if status in (400, 422):
            return CallError("bad_request", detail)
        if status >= 500:
            return CallError("server", detail, _retry_after(exc))
        return CallError("unknown", f"APIError: {detail}")
    if isinstance(exc, sdk.OpenAIError) and "api_key" in str(exc):
        return CallError("auth", concise(str(exc)))
    return CallError("unknown", f"{type(exc).__name__}: {concise(str(exc))}")


def completion_text(resp: Any) -> str:
    """The reply's text, with litellm's verdicts on a body that is not a chat completion."""
    if not hasattr(resp, "model_dump"):  # a 200 that is not JSON at all (an HTML page) or not an object
        received = f"Empty or invalid response from LLM endpoint. Received: {resp!r}."
        raise CallError(
            "server", concise(f"{received} Check the reverse proxy or model server configuration.")
        )
    choices = getattr(resp, "choices", None)
    message = getattr(choices[0], "message", None) if isinstance(choices, list) and choices else None
    content = getattr(message, "content", None)
    if not isinstance(choices, list) or (
        choices and (message is None or not isinstance(content, str | None))
    ):
        raise CallError("bad_reply", NOT_A_COMPLETION)
    return reply_text(resp)


class OpenAIModel(ModelSettings):
    """One OpenAI-compatible model through the SDK, in the output mode it takes: JSON schema, else JSON mode, else
    text (found once, then kept)."""

    def __init__(self, *args: Any, **kwargs: Any):
        """As `ModelSettings`; a model the SDK cannot reach as litellm would is an input error."""
        super().__init__(*args, **kwargs)
        model = self.model
        why = route(model, self.api_base)
        if why:
            raise InputError(why)
        self.provider, self.wire_model = split(model)
        self._client = None

    def warm_up(self) -> None:
        self._get_client()
        price_map()

    def _get_client(self):
        with self._mode_lock:
            if self._client is None:
                sdk = load_openai()
                env = os.environ
                base = (
                    self.api_base or env.get("OPENAI_BASE_URL") or env.get("OPENAI_API_BASE") or DEFAULT_BASE
                )
                # litellm's key: the configured one, a placeholder with an explicit base, else the provider's
                key = self.api_key or ("not-needed" if self.api_base else env.get("OPENAI_API_KEY"))
                try:
                    self._client = sdk.OpenAI(
                        api_key=key,
                        base_url=base,
                        organization=env.get("OPENAI_ORGANIZATION") or None,
                        timeout=self.timeout,
                        max_retries=0,
                    )
                except Exception as exc:  # no key at all
                    raise classify(exc) from exc
        return self._client

    def _mode(self) -> str:
        if self.structured != "auto":
            return self.structured
        if self.api_base or self.provider == "lm_studio":
            return "schema"
        found = model_info(self.wire_model, self.provider)
        return "schema" if found and found[1].get("supports_response_schema") is True else "json"

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any] | None = None) -> Completion:
        """One call to the model, with no retries of its own."""
        client = self._get_client()
        mode = self._mode()
        kwargs: dict[str, Any] = {"model": self.wire_model, "messages": messages, "temperature": 0}
        if fmt := response_format(mode, schema):
            kwargs["response_format"] = fmt
        try:
            # the SDK's documented way to post a body as it is: `chat.completions.create` would first walk the
            # whole request (messages, schema) through its type transforms, ~0.6 ms a call for nothing here
            resp = client.post(
                "/chat/completions", body=kwargs, cast_to=load_openai().types.chat.ChatCompletion
            )
        except Exception as exc:
            err = classify(exc)
            if self.falls_back(err, mode):
                return self.complete(messages, schema)
            raise err from exc
        text = completion_text(resp)
        usage = getattr(resp, "usage", None)
        served = getattr(resp, "model", None)
        return Completion(
            text=text,
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            cost_usd=cost(
                self.wire_model,
                self.provider,
                served if isinstance(served, str) else None,
                usage,
                getattr(resp, "service_tier", None),
            ),
            mode=mode,
        )
