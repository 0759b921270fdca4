"""What the command modules share: the common options, settings from the flags, and output helpers."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand

from interviewer.cli import complete
from interviewer.errors import InputError, InterviewerError
from interviewer.grading.registry import GRADER_NAMES


class Command(TyperCommand):
    """A command whose arguments read the usual way: `SESSION_ID` (required) or `[SESSION_ID]` (optional) in
    the usage line, and `SESSION_ID` under Arguments. A `session_id` argument given no completion of its own
    completes session ids."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for param in self.params:  # `_custom_shell_complete`: click's slot for a parameter's completion
            if param.name == "session_id" and param._custom_shell_complete is None:
                param._custom_shell_complete = _complete_session_ids

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = _argument_name(param)
                pieces.append(name if param.required else f"[{name}]")
            else:
                pieces += param.get_usage_pieces(ctx)
        return pieces

    def format_options(self, ctx, formatter) -> None:
        arguments, options = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                arguments.append((_argument_name(param), record[1]))
            else:
                options.append(record)
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def _complete_session_ids(ctx, param, incomplete: str) -> list[str]:
    return [value for value, _ in complete.session_ids(incomplete)]


def _argument_name(param) -> str:
    return (param.metavar or param.name).upper() + ("..." if param.nargs != 1 else "")


class Commands(typer.Typer):
    """A group of commands, each a `Command`."""

    def command(self, *args, cls=None, **kwargs):
        return super().command(*args, cls=cls or Command, **kwargs)


BankOpt = Annotated[
    list[Path] | None,
    typer.Option("--bank", help="Bank file or folder (repeatable); replaces the shipped bank."),
]
LangOpt = Annotated[
    str | None,
    typer.Option(
        "--lang", help="Bank edition: zh (default) or en.", autocompletion=complete.choices("zh", "en")
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]
QuestionArg = Annotated[
    str, typer.Argument(help="Question id: 2.1, or bank:2.1.", autocompletion=complete.question_ids)
]
DifficultyOpt = Annotated[
    str | None,
    typer.Option(
        "--difficulty",
        help="easy|medium|hard (易/中/难).",
        autocompletion=complete.choices(*complete.DIFFICULTIES),
    ),
]
FrequencyOpt = Annotated[
    str | None,
    typer.Option(
        "--frequency",
        help="high|medium|low (高/中/低).",
        autocompletion=complete.choices(*complete.FREQUENCIES),
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", help="Model as provider/name, e.g. openai/gpt-4o-mini (litellm's names)."),
]
BaseOpt = Annotated[
    str | None, typer.Option("--api-base", help="OpenAI-compatible endpoint (vLLM, llama.cpp, Ollama).")
]
SttModelOpt = Annotated[
    str | None,
    typer.Option("--stt-model", help="Speech-to-text model for spoken answers (default openai/whisper-1)."),
]
SttBaseOpt = Annotated[
    str | None,
    typer.Option(
        "--stt-api-base", help="OpenAI-compatible transcription endpoint (e.g. a faster-whisper server)."
    ),
]
GraderOpt = Annotated[
    str | None,
    typer.Option(
        "--grader",
        help="offline (default without a model) or llm.",
        autocompletion=complete.choices(*GRADER_NAMES),
    ),
]
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
