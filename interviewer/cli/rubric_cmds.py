"""`interviewer rubric`: show and validate rubrics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from interviewer.cli.common import (
    BankOpt,
    BaseOpt,
    Commands,
    JsonOpt,
    LangOpt,
    ModelOpt,
    QuestionArg,
    _grading_settings,
    _print_json,
    _settings,
)

rubric_app = Commands(help="Show, validate and draft rubrics.", no_args_is_help=True)


@rubric_app.command("show")
def rubric_show(
    question_id: QuestionArg, bank: BankOpt = None, lang: LangOpt = None, as_json: JsonOpt = False
):
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


@rubric_app.command("draft")
def rubric_draft(
    model: ModelOpt = None,
    api_base: BaseOpt = None,
    bank: BankOpt = None,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Draft these questions (repeat the option), even if they have a rubric."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="Questions drafted at once.")
    ] = 4,
    force: Annotated[bool, typer.Option("--force", help="Replace drafts and reviewed rubrics too.")] = False,
    lang: LangOpt = None,
    as_json: JsonOpt = False,
):
    """Draft a rubric with a model for each question that has none, into $INTERVIEWER_HOME/rubrics/ for review.
    Example: interviewer rubric draft --bank my.md --model openai/gpt-4o-mini"""
    from interviewer.content.drafting import draft_rubrics
    from interviewer.content.rubric import rubric_for
    from interviewer.core import load_questions
    from interviewer.errors import InputError
    from interviewer.grading.models_for import chat_model

    settings = _grading_settings(model, api_base, "llm", lang=lang)
    if settings.home is None:
        raise InputError("rubric draft writes into the data home: set INTERVIEWER_HOME")
    questions = load_questions(settings, bank)
    if only:
        chosen = [questions.get(q) for q in dict.fromkeys(only)]
    else:
        chosen = [q for q in questions if rubric_for(q, settings.home).source in ("derived", "reference")]
    if not chosen:
        typer.echo("Every question has a rubric; use --only ID to draft one again.", err=True)
        return

    def done(d):
        if as_json:
            _print_json({"question_id": d.question_id, "status": d.status, "path": str(d.path),
                         "detail": d.detail, "attempts": d.attempts})  # fmt: skip
        elif d.status == "failed":
            typer.echo(
                f"error: {d.question_id}: no valid rubric after {d.attempts} tries ({d.detail})", err=True
            )
        else:
            typer.echo(
                f"{d.question_id:<8} {d.status:<8} {d.path}"
                + (f"  ({d.detail})" if d.status != "written" else "")
            )

    results = draft_rubrics(
        chat_model(settings),
        chosen,
        settings.home / "rubrics",
        force=force,
        concurrency=concurrency,
        on_done=done,
    )
    written = sum(d.status == "written" for d in results)
    failed = sum(d.status == "failed" for d in results)
    typer.echo(
        f"Drafted {written} rubric(s); {failed} failed. Review them (delete each file's `drafted` line when done), "
        "then check with: interviewer rubric validate " + str(settings.home / "rubrics"),
        err=True,
    )
    if failed:
        raise typer.Exit(1)
