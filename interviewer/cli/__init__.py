"""The `interviewer` command: the app, its entry point, and the modules that hold its commands.

Each command is one function (parse flags, call the library, render) in a module named for its job. Heavy modules
(litellm, prompt_toolkit, jinja2, the graders) are imported inside the commands that need them.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from typing import Annotated

# typer reads every option through pydantic, whose first use scans all installed packages' entry points for
# pydantic plugins (~12 ms of every command here); the program uses none. Set it yourself to have them.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer  # noqa: E402

from interviewer import __version__
from interviewer.cli import (
    bank_cmds,
    batch_cmds,
    check_cmds,
    config_cmds,
    grading_cmds,
    progress_cmds,
    rubric_cmds,
    session_cmds,
)
from interviewer.config import home_dir
from interviewer.errors import ExitCode, InterviewerError

APP_SETTINGS = {
    "help": "An LLM-graded mock interviewer for the terminal.\n\nExample: interviewer start -n 3 --section 2",
    "no_args_is_help": True,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": None,
    "context_settings": {"help_option_names": ["-h", "--help"]},
}
app = typer.Typer(**APP_SETTINGS)
# `--help` lists the commands in this order: the modules' commands, then the groups
MODULES = (grading_cmds, check_cmds, session_cmds, progress_cmds)
GROUPS = {
    "bank": bank_cmds.bank_app,
    "rubric": rubric_cmds.rubric_app,
    "config": config_cmds.config_app,
    "batch": batch_cmds.batch_app,
}
for _module in MODULES:
    app.add_typer(_module.commands)
for _name, _group in GROUPS.items():
    app.add_typer(_group, name=_name)

STATE = {"debug": False}
ROOT_FLAGS = (
    "--debug",
)  # the root's options that take no value; -V, --version and --help go to the whole app


def _version(value: bool):
    if value:
        typer.echo(f"interviewer {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    version: Annotated[
        bool | None,
        typer.Option("--version", "-V", callback=_version, is_eager=True, help="Show the version."),
    ] = None,
):
    STATE["debug"] = debug


def _command_name(info) -> str:
    return info.name or info.callback.__name__.replace("_", "-")


def app_for(args: list[str]) -> typer.Typer:
    """The app that runs `args`: the whole app for the root's help, version, completion or a name it does not know
    (its errors suggest the names); else an app of just the command (or group) named, with the same root options,
    since typer builds every command it holds before it parses (a fifth of `bank list`'s own start-up)."""
    words = [a for a in args if a not in ROOT_FLAGS]
    if not words or words[0].startswith("-") or os.environ.get("_INTERVIEWER_COMPLETE"):
        return app
    name = words[0]
    lean = typer.Typer(**APP_SETTINGS)
    lean.callback()(root)
    if name in GROUPS:
        lean.add_typer(GROUPS[name], name=name)
        return lean
    for module in MODULES:
        for info in module.commands.registered_commands:
            if _command_name(info) == name:
                lean.registered_commands.append(info)
                return lean
        for info in module.commands.registered_groups:  # e.g. `sessions rm|prune`
            if info.name == name:
                lean.registered_groups.append(info)
                return lean
    return app


def main(argv: list[str] | None = None) -> None:
    """The console entry point: run the app and exit with its code."""
    try:
        _main(argv)
    except SystemExit as exc:
        if argv is None and ("litellm" in sys.modules or "openai" in sys.modules):
            # Tearing down an interpreter that loaded litellm (or the openai SDK) takes up to a second; every
            # answer and grade is already committed, so flush the output and leave at once.
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if exc.code is not None and not isinstance(exc.code, int):
                print(exc.code, file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        raise


def _main(argv: list[str] | None) -> None:
    """Run the app; an expected failure prints one line on stderr and exits with its code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        # returns the code of a typer.Exit; the name is fixed so that usage lines and shell completion
        # (`_INTERVIEWER_COMPLETE`) are the same under `python -m interviewer`
        args = list(sys.argv[1:] if argv is None else argv)
        code = app_for(args)(args=args, prog_name="interviewer", standalone_mode=False)
    except InterviewerError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        typer.echo("\nInterrupted.", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except sqlite3.DatabaseError as exc:  # damaged, read-only or locked for good: the file, and what to do
        if debug:
            raise
        db = home_dir() / "interviewer.db"
        typer.echo(
            f"error: {db}: database error ({exc}); if it is damaged, move it aside (a new one is made), "
            "or set INTERVIEWER_HOME to another folder",
            err=True,
        )
        sys.exit(int(ExitCode.FAILURE))
    except Exception as exc:
        # click's exceptions (typer may bundle its own copy of click): matched by name, not by class
        names = {c.__name__ for c in type(exc).__mro__}
        if "NoArgsIsHelpError" in names:  # `interviewer` or `interviewer bank` alone: the help, not an error
            typer.echo(exc.ctx.get_help())
            sys.exit(int(ExitCode.OK))
        if "Abort" in names:
            typer.echo("\nInterrupted.", err=True)
            sys.exit(int(ExitCode.INTERRUPTED))
        if "ClickException" in names:
            message = " ".join(exc.format_message().split())
            hint = " (see --help)" if "UsageError" in names else ""
            typer.echo(f"error: {message}{hint}", err=True)
            sys.exit(getattr(exc, "exit_code", int(ExitCode.USAGE)))
        if debug:
            raise
        typer.echo(
            f"error: unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)", err=True
        )
        sys.exit(int(ExitCode.FAILURE))
    sys.exit(code if isinstance(code, int) else 0)
