"""Which provider key a model string needs, checked without importing litellm."""

from __future__ import annotations

import os

PROVIDER_KEYS = {
    "openai": ["OPENAI_API_KEY"],
    "anthropic": ["ANTHROPIC_API_KEY"],
    "gemini": ["GEMINI_API_KEY", "GOOGLE_API_KEY"],
    "groq": ["GROQ_API_KEY"],
    "mistral": ["MISTRAL_API_KEY"],
    "deepseek": ["DEEPSEEK_API_KEY"],
    "openrouter": ["OPENROUTER_API_KEY"],
    "together_ai": ["TOGETHERAI_API_KEY", "TOGETHER_API_KEY"],
    "fireworks_ai": ["FIREWORKS_API_KEY", "FIREWORKS_AI_API_KEY"],
    "cohere": ["COHERE_API_KEY"],
    "xai": ["XAI_API_KEY"],
    "dashscope": ["DASHSCOPE_API_KEY"],
    "moonshot": ["MOONSHOT_API_KEY"],
}
LOCAL_PROVIDERS = {"ollama", "ollama_chat", "hosted_vllm", "vllm", "llamafile", "lm_studio", "openai_like"}


def provider_of(model: str) -> str:
    if "/" in model:
        return model.split("/", 1)[0].lower()
    lower = model.lower()
    if lower.startswith(("gpt-", "o1", "o3", "o4", "chatgpt")):
        return "openai"
    if lower.startswith("claude"):
        return "anthropic"
    if lower.startswith("gemini"):
        return "gemini"
    return ""


def missing_key(model: str, api_key: str | None, api_base: str | None, env=os.environ) -> str | None:
    """The env var to set when a hosted model has no key; None when nothing is known to be missing."""
    if api_key or api_base:
        return None
    provider = provider_of(model)
    if provider in LOCAL_PROVIDERS or provider not in PROVIDER_KEYS:
        return None
    names = PROVIDER_KEYS[provider]
    if any(env.get(n) for n in names):
        return None
    return " or ".join(names)


def known_secrets(api_key: str | None, env=os.environ, more: tuple[str, ...] = ()) -> list[str]:
    """Every key value in play: the configured one (and `more`, a profile's deployments' keys) and the providers'
    variables."""
    values = [api_key, *more, env.get("INTERVIEWER_API_KEY")]
    values += [env.get(name) for names in PROVIDER_KEYS.values() for name in names]
    return sorted({v for v in values if v and len(v) >= 6}, key=len, reverse=True)


def redact(text: str, secrets: list[str]) -> str:
    """Replace any secret (some gateways echo the key in their error messages) with a mask."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
