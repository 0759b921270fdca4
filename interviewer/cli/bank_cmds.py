"""`interviewer bank`: list, show, validate and import question banks."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from interviewer.cli.common import (
    BankOpt,
    Commands,
    DifficultyOpt,
    FrequencyOpt,
    JsonOpt,
    LangOpt,
    QuestionArg,
    _choice,
    _print_json,
    _settings,
)
from interviewer.errors import InputError

bank_app = Commands(help="List, show, validate and import question banks.", no_args_is_help=True)


@bank_app.command("list")
def bank_list(
    section: Annotated[
        str | None, typer.Option("--section", help="Section number or part of its name.")
    ] = None,
    difficulty: DifficultyOpt = None,
    frequency: FrequencyOpt = None,
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
            _print_json(q.to_dict() | {"ref": f"{q.bank}:{q.id}", "identity": q.ref})
        else:
            qid = f"{q.bank}:{q.id}" if multi else q.id
            typer.echo(f"{qid:<8} {(q.frequency or '-'):<6} {(q.difficulty or '-'):<6} {q.text}")


@bank_app.command("show")
def bank_show(question_id: QuestionArg, bank: BankOpt = None, lang: LangOpt = None, as_json: JsonOpt = False):
    """Show one question with its tags and hint. Example: interviewer bank show 2.1"""
    from interviewer.core import load_questions

    q = load_questions(_settings(lang=lang), bank).get(question_id)
    if as_json:
        _print_json(q.to_dict() | {"ref": f"{q.bank}:{q.id}", "identity": q.ref})
        return
    from interviewer.ui import render_kv

    typer.echo(
        render_kv(
            [
                ("id", f"{q.bank}:{q.id}"),
                *([("identity", q.ref)] if q.ref != f"{q.bank}:{q.id}" else []),
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
    from interviewer.content.bank import bank_files, load_bank, read_text
    from interviewer.content.formats.bankfile import guessed_tags
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
    settings = _settings()
    store = None
    if settings.db_path.exists():  # say which questions keep their history only by a match, and to what
        from interviewer.core import open_store

        store = open_store(settings, write=False)
    for f in dict.fromkeys(files):
        b = load_bank(f)
        rematched = _rematched(b, f, store) if store is not None else []
        no_hint = [q.id for q in b.questions if not q.hint]
        untagged = [q.id for q in b.questions if not q.frequency or not q.difficulty]
        marked = guessed_tags(read_text(f))
        guessed = [q.id for q in b.questions if q.line in marked]
        if as_json:
            _print_json(
                {"path": str(f), "ok": True, "questions": len(b.questions), "sections": len(b.sections),
                 "without_hint": no_hint, "without_tags": untagged, "guessed_tags": guessed,
                 "rematched": [{"question_id": m.question_id, "how": m.how, "similarity": m.similarity,
                                "identity": m.ref, "matched_text": m.known_text} for m in rematched]}
            )  # fmt: skip
            continue
        typer.echo(f"{f}: ok, {len(b.questions)} questions in {len(b.sections)} sections")
        if no_hint:
            typer.echo(
                f"  note: no hint for {', '.join(no_hint)} (their rubric comes from the question text)"
            )
        if untagged:
            typer.echo(f"  note: missing frequency/difficulty for {', '.join(untagged)}")
        if guessed:
            typer.echo(
                f"  note: guessed frequency/difficulty for {', '.join(guessed)} (marked 'guessed'): check them"
            )
        from interviewer.textview import clip

        for m in rematched:
            why = (
                "its text is unchanged"
                if m.how == "same text"
                else f"reworded, similarity {m.similarity:.2f}"
            )
            typer.echo(f"  history: {m.question_id} keeps the history of “{clip(m.known_text, 50)}” ({why})")


def _rematched(bank, path: Path, store) -> list:
    """The questions of one bank file that keep their stored history by a match rather than by identity."""
    from interviewer.content.bank import QuestionSet
    from interviewer.core import share_identity, with_history

    return with_history(QuestionSet([share_identity(bank, path)]), store)[1]


@bank_app.command("import")
def bank_import(
    path: Annotated[
        Path, typer.Argument(help="The file to import: Markdown, CSV/TSV, JSON or an Anki text export.")
    ],
    fmt: Annotated[
        str,
        typer.Option("--format", "-f", help="auto (from the extension and content), md, csv, json or anki."),
    ] = "auto",
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="The bank file to write (default: stdout); answers go to rubrics/."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the output and rubric files if they exist.")
    ] = False,
):
    """Import questions from another format as a bank; rejected lines are listed as PATH:LINE: reason. Examples:
    interviewer bank import notes.md -o ~/.local/share/interviewer/bank/mine.md;  interviewer bank import qa.csv > mine.md
    """
    from interviewer.content.bank import bank_name_and_lang
    from interviewer.content.formats import FORMATS, import_text, read_source
    from interviewer.content.formats.bankfile import rubric_folder
    from interviewer.errors import BankError

    _choice(fmt, FORMATS, "--format")
    output = output.expanduser() if output is not None else None
    if output is not None and output.suffix.lower() != ".md":
        raise InputError(f"-o {output}: the bank is written as Markdown; give -o NAME.md (or NAME.en.md)")
    if output is not None and output.exists() and not force:
        raise InputError(f"{output} exists: add --force to replace it, or choose another -o")
    text = read_source(path)
    name, lang = bank_name_and_lang(output if output is not None else path)
    result, used = import_text(text, fmt, path, name, lang)
    for line, reason in result.rejections:
        typer.echo(f"{path}:{line}: {reason}", err=True)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    if not result.questions:
        why = (
            f"every entry was rejected ({len(result.rejections)}, listed above)"
            if result.rejections
            else f"no questions found (read as {used}): expected numbered items, '### question' headings, a header "
            "row naming a 'question' column, a JSON list or an Anki text export"
        )
        raise BankError(path, None, f"{why}; fix the file or try another --format")
    details = []
    if result.guessed:
        details.append(f"{result.guessed} with a guessed frequency or difficulty (marked 'guessed')")
    if output is None:
        sys.stdout.write(result.text)
        if result.rubrics:
            details.append(f"{len(result.rubrics)} answer(s) not kept: give -o to write them as rubric files")
    else:
        files = result.files(output)
        taken = [p for p in files if p.exists()]
        if taken and not force:
            more = f" and {len(taken) - 1} more" if len(taken) > 1 else ""
            raise InputError(f"{taken[0]}{more} exist: add --force to replace them, or choose another -o")
        for p, body in files.items():
            _write_file(p, body, force)
        if result.rubrics:
            details.append(f"{len(result.rubrics)} reference answer(s) in {rubric_folder(output, name)}/")
    if result.rejections:
        details.append(f"{len(result.rejections)} rejected (listed above)")
    summary = f"Imported {len(result.questions)} question(s) from {path.name} (read as {used})"
    summary += f" into {output}" if output is not None else ""
    typer.echo(summary + (": " + "; ".join(details) if details else "") + ".", err=True)


def _write_file(path: Path, text: str, force: bool) -> None:
    """Write a new file (0600), its folders made as needed; an existing one only with `force`."""
    from interviewer.errors import InterviewerError

    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise InputError(f"{path} exists: add --force to replace it, or choose another -o") from None
    except OSError as exc:
        raise InterviewerError(f"{path}: cannot write ({exc.strerror}); choose another -o path") from None
