"""What the command modules share: the common options, settings from the flags, and output helpers."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from interviewer.errors import InputError, InterviewerError
from interviewer.grading.registry import GRADER_NAMES

BankOpt = Annotated[
    list[Path] | None,
    typer.Option("--bank", help="Bank file or folder (repeatable); replaces the shipped bank."),
]
LangOpt = Annotated[str | None, typer.Option("--lang", help="Bank edition: zh (default) or en.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="litellm model, e.g. openai/gpt-4o-mini.")]
BaseOpt = Annotated[
    str | None, typer.Option("--api-base", help="OpenAI-compatible endpoint (vLLM, llama.cpp, Ollama).")
]
GraderOpt = Annotated[str | None, typer.Option("--grader", help="offline (default without a model) or llm.")]
SamplesOpt = Annotated[
    int, typer.Option("--samples", min=1, max=15, help="LLM: grade K times, take the median.")
]
ConcurrencyOpt = Annotated[int, typer.Option("--concurrency", min=1, max=256, help="Parallel grades.")]
OutputOpt = Annotated[Path | None, typer.Option("-o", "--output", help="Write to a file instead of stdout.")]


def _settings(**flags):
    from interviewer.config import load_settings

    return load_settings(flags)


def _grading_settings(model, api_base, grader, **flags):
    """Settings for a command that grades: flags checked, and the LLM grader's needs checked before any work."""
    from interviewer.core import check_llm_settings

    settings = _settings(
        model=model, api_base=api_base, grader=_choice(grader, GRADER_NAMES, "--grader"), **flags
    )
    check_llm_settings(settings)
    return settings


def _choice(value: str | None, allowed: tuple[str, ...], flag: str) -> str | None:
    if value is not None and value not in allowed:
        raise InputError(f"{flag} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _write_output(text: str, output: Path | None) -> None:
    """Write `text` to stdout, or to the file `output` (noted on stderr)."""
    if output is None:
        sys.stdout.write(text)
        return
    try:  # a transcript or report is personal: readable by its owner only, whatever the umask
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise InterviewerError(f"{output}: cannot write ({exc.strerror}); choose another -o path") from None
    typer.echo(f"Wrote {output}", err=True)
