"""`interviewer rubric`: show and validate rubrics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from interviewer.cli.common import BankOpt, JsonOpt, LangOpt, _print_json, _settings

rubric_app = typer.Typer(help="Show and validate rubrics.", no_args_is_help=True)


@rubric_app.command("show")
def rubric_show(question_id: str, bank: BankOpt = None, lang: LangOpt = None, as_json: JsonOpt = False):
    """Show the rubric in use for a question, and whether it is curated or derived. Example: interviewer rubric show 2.1"""
    from interviewer.content.rubric import rubric_for
    from interviewer.core import load_questions

    settings = _settings(lang=lang)
    q = load_questions(settings, bank).get(question_id)
    r = rubric_for(q, settings.home)
    if as_json:
        _print_json(r.to_dict() | {"version_tag": r.version_tag, "path": r.path})
        return
    where = f" ({r.path})" if r.path else " (from the hint)"
    typer.echo(f"[{q.ref}] {q.text}\nRubric: {r.source}{where}, {r.version_tag}")
    for c in r.all_criteria:
        typer.echo(
            f"- {c.id}: {c.name} (weight {c.weight:g})" + (f" — {c.description}" if c.description else "")
        )
        for kp in c.key_points:
            alias = f"  [{', '.join(kp.aliases[:6])}]" if kp.aliases else ""
            typer.echo(f"    · {kp.text}{alias}")
    for m in r.mistakes:
        typer.echo(f"! common mistake: {m.text}")
    if r.reference_answer:
        typer.echo("Reference answer:\n" + r.reference_answer)


@rubric_app.command("validate")
def rubric_validate(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Rubric files or folders (default: all shipped).")
    ] = None,
    bank: BankOpt = None,
    lang: LangOpt = None,
):
    """Check rubric files against their questions. Example: interviewer rubric validate rubrics/llm-basics"""
    from interviewer.content.assets import asset_dir
    from interviewer.content.rubric import validate_rubric_files
    from interviewer.core import load_questions

    settings = _settings(lang=lang)
    questions = load_questions(settings, bank)
    targets = paths or [asset_dir("rubrics")]
    checked = validate_rubric_files(targets, questions)
    typer.echo(f"ok: {checked} rubric file(s) valid")
