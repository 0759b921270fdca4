"""The LLM grader: a rubric-bound prompt to a chat model (`chat.ChatModel`: the openai SDK for OpenAI-compatible
endpoints, litellm for the rest, chosen in `models_for`; imported lazily and never for offline work), the reply
parsed and validated, the score computed in code.

One retry layer (tenacity); litellm's and the OpenAI SDK's own retries are off so waits do not multiply.
A grade that cannot be obtained is returned as `ungraded` with the error kept: never a 0, never a pass.
Every grade, graded or not, keeps its provenance: the messages sent, the raw reply (size-capped) and the output
mode, with any key redacted, so it can be re-derived and re-parsed.
"""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path
from typing import Any

from interviewer.content.bank import Question
from interviewer.content.rubric import Rubric
from interviewer.grading.chat import ERROR_POLICY, CallError, ChatModel
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

MAX_WAIT = 60.0


class LLMGrader:
    kind = "llm"

    def __init__(
        self,
        chat: ChatModel,
        retries: int = 3,
        samples: int = 1,
        home: Path | None = None,
        backoff: float = 0.5,
    ):
        """A grader on one chat model (`openai_chat.OpenAIModel`, `litellm_chat.LiteLLMModel`; `chat.FakeModel` in
        tests)."""
        self.chat = chat
        self.model = chat.name
        self.retries = max(0, retries)
        self.samples = max(1, samples)
        self.home = home
        self.backoff = backoff

    # ------------------------------------------------------------ grading

    def _wait(self, state) -> float:
        exc = state.outcome.exception()
        if isinstance(exc, CallError) and exc.retry_after is not None:
            return min(exc.retry_after, MAX_WAIT)
        return min(MAX_WAIT, self.backoff * 2 ** (state.attempt_number - 1)) * (0.75 + random.random() / 2)

    def _one(self, question: Question, rubric: Rubric, answer: Answer) -> Grade:
        """One sample: a grade, or an `ungraded` result; either way with its provenance."""
        from tenacity import Retrying, retry_if_exception, stop_after_attempt

        self.chat.warm_up()  # import time is not grading latency
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
        schema = response_schema(rubric)
        # masked in whatever is kept: a gateway may echo the key
        secrets = known_secrets(getattr(self.chat, "api_key", None), more=getattr(self.chat, "keys", ()))
        tokens = {"prompt": 0, "completion": 0, "cost": 0.0}
        # the latest attempt's reply is the one kept
        last: dict[str, Any] = {"reply": None, "mode": None, "deployment": None}

        def attempt():
            last["reply"] = last["mode"] = last["deployment"] = None
            c = self.chat.complete(messages, schema)
            tokens["prompt"] += c.prompt_tokens or 0
            tokens["completion"] += c.completion_tokens or 0
            tokens["cost"] += c.cost_usd or 0.0
            last["reply"], last["mode"], last["deployment"] = redact(c.text, secrets), c.mode, c.deployment
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
        grade.grader.deployment = last["deployment"]  # of the reply kept (routed among deployments only)
        grade.extra["provenance"] = {
            "messages": [{"role": m["role"], "content": redact(m["content"], secrets)} for m in messages],
            "reply": None if last["reply"] is None else cap_reply(last["reply"]),
            "mode": last["mode"] or getattr(self.chat, "structured", None),
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
    """The registry's factory for `--grader llm`: the settings' model through the client `models_for` picks (the
    openai SDK for OpenAI-compatible endpoints, litellm for the rest), its library loaded on the first call."""
    from interviewer.grading.models_for import chat_model

    return LLMGrader(chat_model(settings), retries=settings.retries, samples=samples, home=settings.home)


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
    nearest.extra.pop("cap", None)  # said again below for the median, when it is capped
    if any("injection_suspected" in g.flags for g in grades):
        if score > INJECTION_CAP:
            nearest.extra["cap"] = (
                f"Capped at {INJECTION_CAP:.1f} (from {score:.1f}): the answer addresses the grader (injection "
                "suspected in at least one sample); the criteria show the median verdicts before the cap."
            )
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
