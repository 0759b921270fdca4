"""What a model string looks like, checked before anything is sent and without importing litellm.

A model string is `provider/name`, with the provider one litellm knows: its `LlmProviders` enum and the
OpenAI-compatible providers it configures from `providers.json`. Both are read here as files of the installed
package, found with `importlib.util.find_spec` (which imports nothing); a bare name is taken when litellm's price
list knows it (`gpt-4o-mini`). Without litellm installed, or with a layout these readers do not recognise, nothing
is refused here: the provider's own answer says what is wrong.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
from pathlib import Path

from interviewer.grading.openai_chat import price_map

EXAMPLES = (
    "openai/gpt-4o-mini",
    "anthropic/claude-3-5-haiku-latest",
    "gemini/gemini-1.5-flash",
    "deepseek/deepseek-chat",
    "ollama/llama3",
    "openai/<name> with --api-base for a vLLM, llama.cpp or LM Studio server",
)
MIN_PROVIDERS = 20  # fewer found means the files were not what these readers expect: check nothing

_ENUM = re.compile(r"^class LlmProviders\(.*?\):\n(.*?)(?=^\S)", re.M | re.S)
_MEMBER = re.compile(r"""^\s+[A-Z0-9_]+\s*=\s*["']([^"']+)["']""", re.M)

_lock = threading.Lock()
_known: frozenset[str] | None = None
_loaded = False


def _package_dir() -> Path | None:
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        return Path(folder)
    return None


def read_providers(package: Path) -> frozenset[str] | None:
    """The provider prefixes litellm routes, read from its package folder; None when they cannot be read."""
    names: set[str] = set()
    try:
        source = (package / "types" / "utils.py").read_text(encoding="utf-8")
    except OSError:
        return None
    found = _ENUM.search(source)
    if found:
        names.update(_MEMBER.findall(found.group(1)))
    try:
        configured = json.loads((package / "llms" / "openai_like" / "providers.json").read_bytes())
        if isinstance(configured, dict):
            names.update(k for k in configured if isinstance(k, str))
    except (OSError, ValueError):
        pass
    return frozenset(names) if len(names) >= MIN_PROVIDERS else None


def known_providers() -> frozenset[str] | None:
    """litellm's providers, read once; None when they cannot be known."""
    global _known, _loaded
    with _lock:
        if not _loaded:
            package = _package_dir()
            _known = read_providers(package) if package is not None else None
            _loaded = True
    return _known


def examples() -> str:
    return ", ".join(EXAMPLES)


def model_problem(model: str) -> str | None:
    """What is wrong with a model string, in one line; None when litellm would route it."""
    model = model.strip()
    provider, slash, name = model.partition("/")
    if slash:
        if not provider:
            return f"model {model!r} has no provider before the '/'; write provider/model, e.g. {EXAMPLES[0]}"
        if not name.strip():
            return f"model {model!r} has no model name after {provider + '/'!r}; e.g. {EXAMPLES[0]}"
        known = known_providers()
        if known is not None and provider not in known:
            return f"unknown provider {provider!r} in model {model!r}; a model is provider/name, e.g. {examples()}"
        return None
    if _known_bare(model):
        return None
    if known_providers() is None:
        return None
    return f"model {model!r} names no provider; write provider/name, e.g. {examples()}"


def _known_bare(model: str) -> bool:
    """litellm routes a bare name it has a price entry for (`gpt-4o-mini`, `claude-3-5-haiku-latest`)."""
    entry = price_map().get(model)
    return isinstance(entry, dict) and bool(entry.get("litellm_provider"))
