"""`interviewer config`: the effective settings and where each came from; the config file's path, and changing
it one setting at a time (`set`, `get`) or in an editor (`edit`)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from typing import Annotated

import typer

from interviewer.cli.common import Commands, JsonOpt, _print_json, _settings
from interviewer.errors import ExitCode, InputError

NOT_SET = "not set"  # how a setting with no value reads (JSON has null)

config_app = Commands(help="Show and change the settings.", no_args_is_help=True)
KeyArg = Annotated[
    str, typer.Argument(help="A setting (model, timeout, …) or a model profile's field: models.NAME.FIELD.")
]


@config_app.command("show")
def config_show(as_json: JsonOpt = False):
    """Show each setting, its value and where it came from (flag, env, config file, default); keys masked."""
    settings = _settings()
    public = settings.public()
    rows = {k: {"value": public[k], "source": settings.sources[k]} for k in public}
    rows["home"] = {
        "value": str(settings.home),
        "source": "env INTERVIEWER_HOME" if _home_from_env() else "default",
    }
    rows["grader_in_use"] = {"value": settings.grader_kind, "source": "derived"}
    rows["profile"] = {"value": settings.profile, "source": "derived"}
    if settings.deployments:
        from interviewer.grading.deployments import describe

        listed = describe(settings.deployments)
        shown = listed if as_json else ", ".join(f"{d['id']} ({d['api_base'] or d['model']})" for d in listed)
        rows["deployments"] = {"value": shown, "source": settings.sources["model"]}
    if as_json:
        _print_json(rows)
        return
    for k, v in rows.items():
        value = NOT_SET if v["value"] is None else str(v["value"])
        typer.echo(f"{k:<14} {value:<40} ({v['source']})")


def _home_from_env() -> bool:
    return bool(os.environ.get("INTERVIEWER_HOME"))


def _config_path():
    from interviewer.config import home_dir

    return home_dir() / "config.toml"


@config_app.command("path")
def config_path():
    """Print the config file's path (whether or not it exists yet). Example: interviewer config path"""
    typer.echo(str(_config_path()))


@config_app.command("get")
def config_get(key: KeyArg):
    """Print one setting's effective value (a key masked), or a profile's field as the file has it (`models` lists
    the profiles, `models.NAME` one profile); nothing and exit 1 when it is not set. Examples:
    interviewer config get model;  interviewer config get models.fast.model"""
    from interviewer.config import PROFILES, SECRETS, mask
    from interviewer.config_file import file_value, parse_key

    key = key.strip()
    if key == PROFILES or (key.startswith(PROFILES + ".") and key.count(".") == 1):
        table = file_value(_config_path(), key)
        for name, item in (table or {}).items():
            shown = item.get("model") if isinstance(item, dict) else mask(item) if name in SECRETS else item
            typer.echo(f"{name} = {shown}")
        value = table or None
    else:
        table, name, _ = parse_key(key)
        value = _settings().public()[name] if table is None else file_value(_config_path(), key)
        if value is not None:
            typer.echo(str(mask(value) if name in SECRETS and table is not None else value))  # public() masks
    if value is None:
        typer.echo(f"{key}: {NOT_SET}", err=True)
        raise typer.Exit(ExitCode.FAILURE)


@config_app.command("set")
def config_set(
    key: KeyArg,
    value: Annotated[
        str | None,
        typer.Argument(help="The value; for a key, leave it out to type it unseen (or pipe it in)."),
    ] = None,
):
    """Set one setting in the config file (created 0600), keeping the rest of the file as it is. Examples:
    interviewer config set timeout 30;  interviewer config set models.fast.model openai/gpt-4o-mini;
    interviewer config set models.fast.api_key_env OPENAI_API_KEY"""
    from interviewer.config_file import is_secret, set_value

    if value is None:
        if not is_secret(key):
            raise InputError(f"give a value: interviewer config set {key} VALUE")
        value = typer.prompt(key, hide_input=True) if sys.stdin.isatty() else sys.stdin.readline().strip()
    elif is_secret(key):
        typer.echo("note: a key typed on the command line stays in the shell's history; leave the value out to "
                   "type it unseen, or keep keys in the environment", err=True)  # fmt: skip
    path = _config_path()
    written = set_value(path, key, value)
    shown = "(hidden)" if is_secret(key) else written
    typer.echo(f"{key} = {shown} in {path}", err=True)


@config_app.command("edit")
def config_edit():
    """Open the config file in $VISUAL or $EDITOR (created 0600 with examples if missing), then check it.
    Example: EDITOR=nano interviewer config edit"""
    from interviewer.config import load_settings
    from interviewer.config_file import TEMPLATE, write_private

    path = _config_path()
    if not path.exists():
        write_private(path, TEMPLATE)
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        subprocess.run([*shlex.split(editor), str(path)], check=False)
    except OSError as exc:
        raise InputError(f"cannot run the editor {editor!r} ({exc.strerror}); set VISUAL or EDITOR") from None
    if path.exists() and os.name == "posix":
        path.chmod(0o600)
    try:
        load_settings()
    except InputError as exc:
        raise InputError(
            f"{exc} (the file is kept as written: run 'interviewer config edit' again)"
        ) from None
    typer.echo(f"{path} is valid.", err=True)
