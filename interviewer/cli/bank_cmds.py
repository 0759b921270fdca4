"""`interviewer bank`: list, show and validate question banks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from interviewer.cli.common import BankOpt, JsonOpt, LangOpt, _print_json, _settings

bank_app = typer.Typer(help="List, show and validate question banks.", no_args_is_help=True)


@bank_app.command("list")
def bank_list(
    section: Annotated[
        str | None, typer.Option("--section", help="Section number or part of its name.")
    ] = None,
    difficulty: Annotated[
        str | None, typer.Option("--difficulty", help="easy|medium|hard (易/中/难).")
    ] = None,
    frequency: Annotated[str | None, typer.Option("--frequency", help="high|medium|low (高/中/低).")] = None,
    bank: BankOpt = None,
    lang: LangOpt = None,
    as_json: JsonOpt = False,
):
    """List questions. Example: interviewer bank list --section 2 --difficulty easy"""
    from interviewer.core import load_questions

    qs = load_questions(_settings(lang=lang), bank)
    multi = len(qs.banks) > 1
    for q in qs.filter(section, difficulty, frequency):
        if as_json:
            _print_json(q.to_dict() | {"ref": q.ref})
        else:
            qid = q.ref if multi else q.id
            typer.echo(f"{qid:<8} {(q.frequency or '-'):<6} {(q.difficulty or '-'):<6} {q.text}")


@bank_app.command("show")
def bank_show(question_id: str, bank: BankOpt = None, lang: LangOpt = None, as_json: JsonOpt = False):
    """Show one question with its tags and hint. Example: interviewer bank show 2.1"""
    from interviewer.core import load_questions

    q = load_questions(_settings(lang=lang), bank).get(question_id)
    if as_json:
        _print_json(q.to_dict() | {"ref": q.ref})
        return
    from interviewer.ui import render_kv

    typer.echo(
        render_kv(
            [
                ("id", q.ref),
                ("section", q.section),
                ("frequency", q.frequency or "-"),
                ("difficulty", q.difficulty or "-"),
                ("question", q.text),
                ("hint", q.hint or "-"),
            ]
        )
    )


@bank_app.command("validate")
def bank_validate(
    paths: Annotated[list[Path], typer.Argument(help="Bank files or folders.")], as_json: JsonOpt = False
):
    """Check bank files; a bad file gives its path, line and problem. Example: interviewer bank validate my.md"""
    from interviewer.content.bank import bank_files, load_bank
    from interviewer.errors import BankError

    files = []
    for p in paths:
        if p.is_dir():
            found = bank_files(p, "zh") + bank_files(p, "en")
            if not found:
                raise BankError(p, None, "no bank files (.md or .toml) in this folder")
            files += found
        else:
            files.append(p)
    for f in dict.fromkeys(files):
        b = load_bank(f)
        no_hint = [q.id for q in b.questions if not q.hint]
        untagged = [q.id for q in b.questions if not q.frequency or not q.difficulty]
        if as_json:
            _print_json(
                {"path": str(f), "ok": True, "questions": len(b.questions), "sections": len(b.sections),
                 "without_hint": no_hint, "without_tags": untagged}
            )  # fmt: skip
            continue
        typer.echo(f"{f}: ok, {len(b.questions)} questions in {len(b.sections)} sections")
        if no_hint:
            typer.echo(
                f"  note: no hint for {', '.join(no_hint)} (their rubric comes from the question text)"
            )
        if untagged:
            typer.echo(f"  note: missing frequency/difficulty for {', '.join(untagged)}")
