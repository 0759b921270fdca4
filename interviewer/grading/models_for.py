"""Which chat model serves the LLM grader, chosen in this one place: the `openai` SDK (`openai_chat.OpenAIModel`)
for the OpenAI-compatible model strings litellm would send unchanged, litellm (`litellm_chat.LiteLLMModel`) for
every other. The `client` setting (INTERVIEWER_CLIENT: auto | litellm | openai) forces either; forcing the SDK on a
model it cannot reach is an input error. Nothing heavy is imported here."""

from __future__ import annotations

import threading

from interviewer.errors import InputError
from interviewer.grading.chat import ChatModel


def client_for(model: str | None, api_base: str | None, client: str = "auto") -> str:
    """'openai' or 'litellm' for this model string."""
    if client == "litellm" or not model:
        return "litellm"
    from interviewer.grading import openai_chat

    if client == "openai":
        why = openai_chat.route(model, api_base)
        if why:
            raise InputError(f"INTERVIEWER_CLIENT=openai: {why}; use INTERVIEWER_CLIENT=litellm")
        return "openai"
    return "openai" if openai_chat.takes(model, api_base) else "litellm"


def _client(settings) -> str:
    client = getattr(settings, "client", None) or "auto"
    if getattr(settings, "deployments", None):
        if client == "openai":
            raise InputError(
                f"profile {settings.profile} has several deployments, which litellm's Router routes; "
                "use INTERVIEWER_CLIENT=auto"
            )
        return "litellm"
    return client_for(settings.model, settings.api_base, client)


def chat_model(settings) -> ChatModel:
    """The settings' model behind the chat-model seam (its library loads on the first call); a profile's
    deployments are routed by litellm's Router (`router_chat`)."""
    args = (settings.model, settings.api_base, settings.api_key, settings.timeout)
    if getattr(settings, "deployments", None):
        _client(settings)
        from interviewer.grading.router_chat import RouterModel

        return RouterModel(
            settings.model,
            settings.profile,
            settings.deployments,
            settings.timeout,
            settings.routing_strategy,
        )
    if _client(settings) == "openai":
        from interviewer.grading.openai_chat import OpenAIModel

        return OpenAIModel(*args)
    from interviewer.grading.litellm_chat import LiteLLMModel

    return LiteLLMModel(*args)


def prefetch(settings) -> threading.Thread:
    """Start importing the chosen client's library in the background (while the first question is on screen)."""
    if _client(settings) == "openai":
        from interviewer.grading.openai_chat import prefetch as start
    else:
        from interviewer.grading.litellm_chat import prefetch as start
    return start()
