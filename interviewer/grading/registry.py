"""Where graders are found by name. A new grader is one module with a `make(settings, samples)` factory and one
line here; the CLI's `--grader` choices and the config check read these names, so nothing else lists them.

Factories are named, not imported: looking a name up imports nothing, and only the grader in use is loaded (the
LLM grader's litellm never is on an offline path)."""

from __future__ import annotations

import importlib

GRADERS: dict[str, str] = {
    "offline": "interviewer.grading.graders:make_offline",
    "llm": "interviewer.grading.llm:make",
}
GRADER_NAMES = tuple(GRADERS)


def factory(name: str):
    """The factory of the grader called `name` (a KeyError for an unknown one: names are checked at load time)."""
    module, func = GRADERS[name].split(":")
    return getattr(importlib.import_module(module), func)
