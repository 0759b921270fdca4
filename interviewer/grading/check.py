"""Checking a model before an interview: one small request through the grader's own chat model, and what it
says about the setup in plain words — whether the endpoint can be reached, the key is accepted and the model is
known, whether it takes a JSON schema (or which fallback grades will use), how long it took, and about what one
grade costs at litellm's list price. `interviewer check` prints it; a session that grades with an LLM runs it
before the first question (`grading/llm.py`'s retry layer is not used: one request, one answer)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from interviewer.grading.chat import CallError, ChatModel
from interviewer.grading.keys import missing_key, provider_of
from interviewer.grading.models_for import chat_model, client_for
from interviewer.grading.openai_chat import model_info, split

# The request: as small as a request that exercises structured output can be.
PROBE_MESSAGES = [
    {"role": "system", "content": "You are checked for availability. Reply with JSON only."},
    {"role": "user", "content": 'Reply with {"ok": true}.'},
]
PROBE_SCHEMA = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": False,
}
# A grade's usual size (the prompt is kept under about 1,500 tokens; a reply with evidence per criterion)
TYPICAL_PROMPT_TOKENS = 1500
TYPICAL_REPLY_TOKENS = 400

FATAL = ("auth", "not_found", "bad_request", "no_key")  # no grade can be had: a session does not start
UNREACHABLE = (
    "connection",
    "timeout",
)  # nothing answers: a session keeps its answers ungraded without waiting


@dataclass
class CheckResult:
    model: str
    client: str  # litellm | openai
    api_base: str | None
    timeout: float
    problem: str | None = None  # an ERROR_POLICY kind, `no_json` (JSON asked for, something else came back)
    detail: str = ""
    mode: str | None = None  # the output mode grades will use: schema | json | text
    latency_ms: float | None = None  # the request, once the client was loaded
    load_ms: float | None = None  # loading the client library
    price_per_grade_usd: float | None = None
    deployment: str | None = None  # which of a profile's deployments was checked

    @property
    def ok(self) -> bool:
        """Grades can be had (a rate limit is waited out by the grader)."""
        return self.problem in (None, "rate_limit")

    @property
    def fatal(self) -> bool:
        return self.problem in FATAL

    @property
    def unreachable(self) -> bool:
        return self.problem in UNREACHABLE

    def where(self) -> str:
        return self.api_base or f"{provider_of(self.model) or 'the provider'}'s endpoint"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ok": self.ok, "diagnosis": self.lines()}

    def lines(self) -> list[str]:
        """The diagnosis, one finding a line."""
        which = f"Deployment {self.deployment}: model" if self.deployment else "Model"
        out = [f"{which} {self.model} through {self.client} at {self.where()}."]
        if self.problem not in (None, "rate_limit"):
            return out + [self._problem_line()]
        if self.problem == "rate_limit":
            out.append(f"Reachable, but rate-limited right now ({self.detail}); grades wait and retry.")
        else:
            out.append(f"Reachable: it answered in {self.latency_ms:,.0f} ms.")
        out.append(MODE_LINES.get(self.mode or "", f"Output mode: {self.mode}."))
        out.append(self._price_line())
        return out

    def summary(self) -> str:
        """One line for the start of a session."""
        head = f"Model check ({self.deployment})" if self.deployment else "Model check"
        if not self.ok:
            return f"{head}: {self._problem_line()}"
        mode = {"schema": "JSON schema", "json": "JSON mode (no JSON-schema support)", "text": "plain text"}
        price = f", ~${self.price_per_grade_usd:.4f} a grade" if self.price_per_grade_usd else ""
        took = f"{self.latency_ms:,.0f} ms" if self.latency_ms is not None else "rate-limited"
        return f"{head}: {self.model} answers ({took}, {mode.get(self.mode or '', self.mode)}{price})."

    def _problem_line(self) -> str:
        kind, detail, where = self.problem, self.detail, self.where()
        if kind == "connection":
            return (
                f"Unreachable: nothing answers at {where} ({detail}); start the server, or fix --api-base / "
                "INTERVIEWER_API_BASE."
            )
        if kind == "timeout":
            return (
                f"No answer from {where} within {self.timeout:g} s ({detail}); the server is slow or stuck: "
                "check it, or raise INTERVIEWER_TIMEOUT."
            )
        if kind == "auth":
            return f"Key refused ({detail}); set the provider's key (e.g. OPENAI_API_KEY) or INTERVIEWER_API_KEY."
        if kind == "no_key":
            return f"No key: {detail}."
        if kind == "not_found":
            name = split(self.model)[1] or self.model
            return f"Unknown model: {where} does not serve {name!r} ({detail}); check the name after the provider."
        if kind == "bad_request":
            return f"Request refused ({detail}); check the model name and settings."
        if kind == "no_json":
            return f"It answered, but not with the JSON asked for ({detail}); grades would fail: try a stronger model."
        if kind == "bad_reply":
            return f"It answered, but not with usable text ({detail}); try a stronger model."
        if kind == "server":
            return f"The server failed the request ({detail}); try again later."
        return f"Unexpected failure ({detail}); run with --debug for details."

    def _price_line(self) -> str:
        if self.price_per_grade_usd is None:
            return "Price: not in litellm's price list (a local model costs nothing per call)."
        tokens = f"{TYPICAL_PROMPT_TOKENS:,} prompt + {TYPICAL_REPLY_TOKENS:,} reply tokens"
        return f"Price: about ${self.price_per_grade_usd:.4f} a grade ({tokens} at litellm's list price)."


MODE_LINES = {
    "schema": "Structured output: a JSON schema, so each grade names exactly the rubric's criteria.",
    "json": "No JSON-schema support: grades use JSON mode instead (the fallback), checked after parsing.",
    "text": "No structured output: grades are read from the reply's text (the fallback), checked after parsing.",
}


def price_per_grade(model: str) -> float | None:
    """About what one grade costs at litellm's list price, from its bundled cost map; None when unlisted."""
    provider, name = split(model)
    provider = provider or provider_of(model)
    found = model_info(name, provider) if provider else None
    if found is None:
        return None
    info = found[1]
    rates = [info.get("input_cost_per_token"), info.get("output_cost_per_token")]
    if not all(isinstance(r, int | float) and not isinstance(r, bool) for r in rates):
        return None
    price = rates[0] * TYPICAL_PROMPT_TOKENS + rates[1] * TYPICAL_REPLY_TOKENS
    return round(price, 6) or None


def _has_json_object(text: str) -> bool:
    text = text.strip()
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return False
    try:
        return isinstance(json.loads(text[start : end + 1]), dict)
    except ValueError:
        return False


def check_model(chat: ChatModel, client: str, api_base: str | None, timeout: float) -> CheckResult:
    """One small request through `chat` (its output mode, once found, stays for the grades that follow)."""
    result = CheckResult(model=chat.name, client=client, api_base=api_base, timeout=timeout)
    started = time.perf_counter()
    try:
        chat.warm_up()
    except CallError as err:
        result.problem, result.detail = err.kind, err.detail
        return result
    loaded = time.perf_counter()
    result.load_ms = round((loaded - started) * 1000, 1)
    try:
        completion = chat.complete(PROBE_MESSAGES, PROBE_SCHEMA)
    except CallError as err:
        result.problem, result.detail = err.kind, err.detail
        return result
    result.latency_ms = round((time.perf_counter() - loaded) * 1000, 1)
    result.mode = completion.mode
    if completion.mode in ("schema", "json") and not _has_json_object(completion.text):
        result.problem, result.detail = "no_json", f"the reply begins {completion.text.strip()[:60]!r}"
    result.price_per_grade_usd = price_per_grade(chat.name)
    return result


def check_settings(settings, chat: ChatModel | None = None) -> CheckResult:
    """The check for the settings' model (or `chat`, the grader's own); a missing key is found without a request."""
    client = client_for(settings.model, settings.api_base, getattr(settings, "client", None) or "auto")
    need = missing_key(settings.model, settings.api_key, settings.api_base)
    if need:
        result = CheckResult(settings.model, client, settings.api_base, settings.timeout, problem="no_key")
        result.detail = f"set {need} (or INTERVIEWER_API_KEY), or use --grader offline"
        return result
    return check_model(chat or chat_model(settings), client, settings.api_base, settings.timeout)


def check_all(settings, chat: ChatModel | None = None) -> list[CheckResult]:
    """The check of the settings' model, or of each deployment of its profile in turn (each through litellm, at
    its own endpoint with its own key, as the Router would reach it)."""
    deployments = getattr(settings, "deployments", None)
    if not deployments:
        return [check_settings(settings, chat)]
    from interviewer.grading.deployments import resolved
    from interviewer.grading.litellm_chat import LiteLLMModel

    results = []
    for d in resolved(deployments):
        p = d["litellm_params"]
        one = LiteLLMModel(
            p["model"], p.get("api_base"), p.get("api_key"), float(p.get("timeout", settings.timeout))
        )
        result = check_model(one, "litellm router", p.get("api_base"), one.timeout)
        result.deployment = d["model_info"]["id"]
        results.append(result)
    return results
