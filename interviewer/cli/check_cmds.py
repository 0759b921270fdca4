"""`interviewer check`: is the model set up to grade? One small request, then what it found in plain words."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from interviewer.cli.common import BaseOpt, Commands, JsonOpt, ModelOpt, _print_json, _settings
from interviewer.errors import ExitCode, InputError

commands = Commands()


@commands.command()
def check(
    model: ModelOpt = None,
    api_base: BaseOpt = None,
    providers: Annotated[
        bool, typer.Option("--providers", help="List the providers a model string may start with, and stop.")
    ] = False,
    as_json: JsonOpt = False,
):
    """Check a model before an interview: one small request, then whether the endpoint answers, the key and the
    model are accepted, a JSON schema is supported (or which fallback grades will use), the latency and about
    what a grade costs. A model is provider/name: openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest,
    ollama/llama3, or openai/NAME with --api-base for a local server. Exit 0 when grades can be had, 1 when not.
    Examples: interviewer check --model openai/gpt-4o-mini;
    interviewer check --model openai/qwen2.5-7b-instruct --api-base http://127.0.0.1:8000/v1"""
    from interviewer.grading.providers import examples, known_providers, model_problem

    if providers:
        known = known_providers()
        if known is None:
            raise InputError("litellm's provider list cannot be read here (is litellm installed?)")
        for name in sorted(known):
            typer.echo(name)
        return
    settings = _settings(model=model, api_base=api_base)
    if not settings.model:
        raise InputError(f"no model to check: give --model M or set INTERVIEWER_MODEL; e.g. {examples()}")
    problem = model_problem(settings.model)  # a model string litellm would not route: nothing is sent
    if problem:
        raise InputError(problem)
    from interviewer.grading.check import check_all
    from interviewer.ui import Spinner

    with Spinner(sys.stderr, "checking…"):
        found = check_all(settings)
    if as_json:
        if settings.deployments:
            rows = [f.to_dict() for f in found]
            _print_json({"profile": settings.profile, "ok": all(f.ok for f in found), "deployments": rows})
        else:
            _print_json(found[0].to_dict() | {"profile": settings.profile})
    else:
        for n, result in enumerate(found):
            if n:
                typer.echo("")
            for line in result.lines():
                typer.echo(line)
    if not all(f.ok for f in found):
        raise typer.Exit(ExitCode.FAILURE)
