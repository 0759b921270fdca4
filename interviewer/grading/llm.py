"""The LLM grader: any litellm model. litellm is imported only here, lazily, and never for offline work.

One retry layer (tenacity); litellm's and the OpenAI SDK's own retries are off so waits do not multiply.
A grade that cannot be obtained is returned as `ungraded` with the error kept: never a 0, never a pass.
Every grade, graded or not, keeps its provenance: the messages sent, the raw reply (size-capped) and the output
mode, with any key redacted, so it can be re-derived and re-parsed.
"""

from __future__ import annotations

import os
import random
import re
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interviewer.content.bank import Question
from interviewer.content.rubric import Rubric
from interviewer.errors import InputError
from interviewer.grading.keys import known_secrets, redact
from interviewer.grading.models import (
    INJECTION_CAP,
    Answer,
    Grade,
    GraderInfo,
    non_answer_grade,
    ungraded,
    verdict_for,
    weighted_score,
)
from interviewer.grading.prompt import build_prompt, response_schema
from interviewer.grading.reply import ReplyError, cap_reply, grade_from_reply, parse_reply
from interviewer.grading.signals import has_injection

_import_lock = threading.Lock()
_litellm = None


def load_litellm():
    """Import litellm once, offline: the local cost map, no telemetry, no retries of its own."""
    global _litellm
    with _import_lock:
        if _litellm is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            os.environ.setdefault("LITELLM_LOG", "ERROR")
            import litellm

            litellm.telemetry = False
            litellm.suppress_debug_info = True
            litellm.num_retries = 0
            litellm.drop_params = True
            _litellm = litellm
    return _litellm


def prefetch() -> threading.Thread:
    """Start importing litellm in the background (while the first question is on screen)."""
    t = threading.Thread(target=load_litellm, name="litellm-import", daemon=True)
    t.start()
    return t


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
MAX_WAIT = 60.0


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


@dataclass
class CallError(Exception):
    kind: str
    detail: str
    retry_after: float | None = None

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


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


@dataclass
class Completion:
    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    mode: str = "schema"  # the output mode the call used: schema | json | text


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


class LLMGrader:
    kind = "llm"

    def __init__(
        self,
        model: str,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        retries: int = 3,
        samples: int = 1,
        home: Path | None = None,
        backoff: float = 0.5,
        structured: str = "auto",
    ):
        if not model:
            raise InputError("no model set for the LLM grader; use --model M or set INTERVIEWER_MODEL")
        self.model = model
        self.api_base = api_base
        self.api_key = api_key
        self.timeout = timeout
        self.retries = max(0, retries)
        self.samples = max(1, samples)
        self.home = home
        self.backoff = backoff
        self.structured = structured  # auto | schema | json | text
        self._mode_lock = threading.Lock()

    # ------------------------------------------------------------ the model seam

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

    def complete(self, messages: list[dict[str, str]], rubric: Rubric) -> Completion:
        """One call to the model, with no retries of its own."""
        lit = load_litellm()
        mode = self._mode()
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
        if mode == "schema":
            schema = {"name": "grade", "schema": response_schema(rubric), "strict": True}
            kwargs["response_format"] = {"type": "json_schema", "json_schema": schema}
        elif mode == "json":
            kwargs["response_format"] = {"type": "json_object"}
        try:
            resp = lit.completion(**kwargs)
        except Exception as exc:
            err = classify(exc)
            if err.kind == "bad_request" and mode != "text" and "response_format" in err.detail.lower():
                with self._mode_lock:  # the model does not take structured output: fall back for good
                    self.structured = "json" if mode == "schema" else "text"
                return self.complete(messages, rubric)
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
        )

    # ------------------------------------------------------------ grading

    def _wait(self, state) -> float:
        exc = state.outcome.exception()
        if isinstance(exc, CallError) and exc.retry_after is not None:
            return min(exc.retry_after, MAX_WAIT)
        return min(MAX_WAIT, self.backoff * 2 ** (state.attempt_number - 1)) * (0.75 + random.random() / 2)

    def _one(self, question: Question, rubric: Rubric, answer: Answer) -> Grade:
        """One sample: a grade, or an `ungraded` result; either way with its provenance."""
        from tenacity import Retrying, retry_if_exception, stop_after_attempt

        load_litellm()  # import time is not grading latency
        prompt = build_prompt(
            question.id,
            question.text,
            question.hint,
            rubric,
            answer.text,
            home=self.home,
            follow_ups=answer.follow_ups,
        )
        messages = prompt.messages
        secrets = known_secrets(self.api_key)  # masked in whatever is kept: a gateway may echo the key
        tokens = {"prompt": 0, "completion": 0, "cost": 0.0}
        last: dict[str, Any] = {"reply": None, "mode": None}  # the latest attempt's reply is the one kept

        def attempt():
            last["reply"] = last["mode"] = None
            c = self.complete(messages, rubric)
            tokens["prompt"] += c.prompt_tokens or 0
            tokens["completion"] += c.completion_tokens or 0
            tokens["cost"] += c.cost_usd or 0.0
            last["reply"], last["mode"] = redact(c.text, secrets), c.mode
            try:
                reply = parse_reply(last["reply"], rubric)
            except ReplyError as exc:
                raise CallError("bad_reply", str(exc)) from None
            return reply

        retrying = Retrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=self._wait,
            retry=retry_if_exception(lambda e: isinstance(e, CallError) and ERROR_POLICY[e.kind][0]),
            reraise=True,
        )
        started = time.perf_counter()
        info = GraderInfo(
            kind="llm", model=self.model, prompt_version=prompt.version, rubric_version=rubric.version_tag
        )
        try:
            reply = retrying(attempt)
        except CallError as err:
            error = f"{err.kind}: {err.detail} — {ERROR_POLICY[err.kind][1]}"
            grade = ungraded(question.id, redact(error, secrets), info)
        else:
            info.latency_ms = round((time.perf_counter() - started) * 1000, 1)
            info.prompt_tokens = tokens["prompt"] or None
            info.completion_tokens = tokens["completion"] or None
            info.cost_usd = round(tokens["cost"], 6) or None
            candidate = [answer.text, *(f.answer for f in answer.follow_ups)]
            injection = any(has_injection(text) for text in candidate)
            grade = grade_from_reply(question.id, rubric, reply, info, injection_in_text=injection)
        grade.extra["provenance"] = {
            "messages": [{"role": m["role"], "content": redact(m["content"], secrets)} for m in messages],
            "reply": None if last["reply"] is None else cap_reply(last["reply"]),
            "mode": last["mode"] or self.structured,
        }
        return grade

    def grade(self, question: Question, rubric: Rubric, answer: Answer) -> Grade:
        """A grade, or an `ungraded` result that keeps the error. Never raises for a provider failure.

        The answer and each follow-up answer go to the model as fenced data; a follow-up's question is the
        interviewer's and is shown outside the fences, never as evidence.
        """
        if not answer.parts:
            return non_answer_grade(question.id, rubric, answer.text, kind="llm")
        grades = []
        for _ in range(self.samples):
            grade = self._one(question, rubric, answer)
            if grade.status != "graded":
                return grade
            grades.append(grade)
        return grades[0] if len(grades) == 1 else median_grade(grades)


def make(settings, samples: int = 1) -> LLMGrader:
    """The registry's factory for `--grader llm`."""
    return LLMGrader(
        model=settings.model,
        api_base=settings.api_base,
        api_key=settings.api_key,
        timeout=settings.timeout,
        retries=settings.retries,
        samples=samples,
        home=settings.home,
    )


def median_grade(grades: list[Grade]) -> Grade:
    """K samples → the median score per criterion, the spread reported. Every text (evidence, comments, feedback)
    and the provenance come from one sample: the one nearest the median."""

    medians, spread = [], {}
    for i, crit in enumerate(grades[0].criteria):
        values = [g.criteria[i].score for g in grades]
        medians.append(round(statistics.median(values), 1))
        spread[crit.id] = round(max(values) - min(values), 1)
    nearest = min(
        grades, key=lambda g: sum(abs(c.score - m) for c, m in zip(g.criteria, medians, strict=True))
    )
    for crit, median in zip(nearest.criteria, medians, strict=True):
        crit.score = median
        crit.verdict = verdict_for(median / crit.max_score)
    score = weighted_score(nearest.criteria)
    if any("injection_suspected" in g.flags for g in grades):
        score = min(score, INJECTION_CAP)
        if "injection_suspected" not in nearest.flags:
            nearest.flags.append("injection_suspected")
    nearest.score = score
    nearest.extra["samples"] = len(grades)
    nearest.extra["sample_scores"] = [g.score for g in grades]
    nearest.extra["spread"] = spread
    nearest.grader.prompt_tokens = sum(g.grader.prompt_tokens or 0 for g in grades) or None
    nearest.grader.completion_tokens = sum(g.grader.completion_tokens or 0 for g in grades) or None
    nearest.grader.cost_usd = round(sum(g.grader.cost_usd or 0.0 for g in grades), 6) or None
    return nearest
