"""A model profile's deployments behind the chat-model seam, routed by litellm's Router (`deployments` reads and
checks them). The Router makes no retries and has no fallbacks: the grader's one retry layer asks it again, and it
picks again among the same model's deployments (one that keeps failing is cooled down for a while). Each
completion says which deployment served it."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from interviewer.grading.chat import CallError, response_format
from interviewer.grading.deployments import resolved
from interviewer.grading.litellm_chat import LiteLLMModel, classify, load_litellm

# the Router's words when every deployment is at its rpm/tpm limit or cooling down
NO_DEPLOYMENT = re.compile(
    r"No deployments available|all deployments are in cooldown|RouterRateLimitError", re.I
)


def until_next_minute(now: float | None = None) -> float:
    """The wait for a per-minute limit to reset (the Router counts usage per clock minute)."""
    now = time.time() if now is None else now
    return round(60.0 - now % 60.0 + 0.5, 1)


def classify_routed(exc: Exception) -> CallError:
    """A Router error: every deployment busy is a rate limit (retried when the minute turns), else as litellm's."""
    if NO_DEPLOYMENT.search(str(exc)):
        return CallError(
            "rate_limit", "every deployment is at its rate limit or cooling down", until_next_minute()
        )
    err = classify(exc)
    err.detail = err.detail.split(" LiteLLM: model group")[0].split(" LiteLLM Retried")[0]
    return err


class RouterModel(LiteLLMModel):
    """Grades from whichever deployment of the profile's model litellm's Router picks."""

    def __init__(
        self,
        model: str,
        group: str,
        deployments: list[dict[str, Any]],
        timeout: float = 60.0,
        strategy: str | None = None,
        structured: str = "auto",
    ):
        super().__init__(model, None, None, timeout, structured)
        self.group, self.strategy = group, strategy or "simple-shuffle"
        # a key named by a variable that is not set fails here, at once
        self.deployments = resolved(deployments)
        self.keys = tuple(str(d["litellm_params"].get("api_key") or "") for d in self.deployments)
        self._router = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        self._get_router()

    def _get_router(self):
        with self._lock:
            if self._router is None:
                lit = load_litellm()
                self._router = lit.Router(
                    model_list=self.deployments,
                    routing_strategy=self.strategy,
                    num_retries=0,
                    fallbacks=[],
                    context_window_fallbacks=[],
                    content_policy_fallbacks=[],
                    default_fallbacks=None,
                    timeout=self.timeout,
                )
            return self._router

    def _mode(self) -> str:
        if self.structured != "auto":
            return self.structured
        # as for one model: the schema where litellm knows the model takes it (or at a server of one's own),
        # else JSON mode; a refusal moves every deployment on, since they are one model
        if any(d["litellm_params"].get("api_base") for d in self.deployments):
            return "schema"
        try:
            return "schema" if load_litellm().supports_response_schema(model=self.model) else "json"
        except Exception:
            return "json"

    def _request(
        self, messages: list[dict[str, str]], mode: str, schema: dict[str, Any] | None
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.group,  # the Router picks one of the group's deployments, each with its own key
            "messages": messages,
            "temperature": 0,
            "timeout": self.timeout,
            "num_retries": 0,
        }
        if fmt := response_format(mode, schema):
            kwargs["response_format"] = fmt
        return kwargs

    def _send(self, kwargs: dict[str, Any]) -> Any:
        return self._get_router().completion(**kwargs)

    def _classify(self, exc: Exception) -> CallError:
        return classify_routed(exc)

    def _deployment(self, hidden: dict[str, Any]) -> str | None:
        return hidden.get("model_id")
