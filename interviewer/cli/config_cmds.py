"""`interviewer config`: the effective settings and where each came from."""

from __future__ import annotations

import os

import typer

from interviewer.cli.common import JsonOpt, _print_json, _settings

config_app = typer.Typer(help="Show the effective settings.", no_args_is_help=True)


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
    if as_json:
        _print_json(rows)
        return
    for k, v in rows.items():
        typer.echo(f"{k:<14} {str(v['value']):<40} ({v['source']})")


def _home_from_env() -> bool:
    return bool(os.environ.get("INTERVIEWER_HOME"))
