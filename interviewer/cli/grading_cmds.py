"""Grading outside a session: `grade` (one answer or a batch) and `calibrate` (a grader against human scores)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from interviewer.cli.common import (
    BankOpt,
    BaseOpt,
    ConcurrencyOpt,
    GraderOpt,
    JsonOpt,
    LangOpt,
    ModelOpt,
    SamplesOpt,
    _grading_settings,
    _print_json,
)
from interviewer.errors import ExitCode, InputError

commands = typer.Typer()


@commands.command()
def grade(
    question: Annotated[str | None, typer.Option("--question", "-q", help="Question id, e.g. 2.1.")] = None,
    answer: Annotated[str | None, typer.Option("--answer", "-a", help="The answer text.")] = None,
    answer_file: Annotated[
        Path | None, typer.Option("--answer-file", help="Read the answer from a file.")
    ] = None,
    batch: Annotated[Path | None, typer.Option("--batch", help="JSONL file of answers to grade.")] = None,
    concurrency: ConcurrencyOpt = 8,
    samples: SamplesOpt = 1,
    model: ModelOpt = None,
    api_base: BaseOpt = None,
    grader: GraderOpt = None,
    bank: BankOpt = None,
    lang: LangOpt = None,
    as_json: JsonOpt = False,
):
    """Grade one answer, or a batch. Examples:
    interviewer grade -q 2.1 -a "先算 QKᵀ …";  interviewer grade --batch answers.jsonl --json"""
    from interviewer.core import load_questions
    from interviewer.grading.graders import make_grader

    settings = _grading_settings(model, api_base, grader, lang=lang)
    questions = load_questions(settings, bank)
    g = make_grader(settings, samples=samples)
    if batch is not None:
        from interviewer.grading.batch import grade_batch, read_batch

        items = read_batch(batch, questions, settings.home)
        for result in grade_batch(items, g, concurrency):
            _print_json(result)
        return
    if question is None:
        raise InputError("give --question ID with --answer/--answer-file/stdin, or --batch FILE.jsonl")
    if answer is None:
        if answer_file is not None:
            from interviewer.content.bank import read_text
            from interviewer.errors import AnswersError

            answer = read_text(answer_file, AnswersError)
        elif not sys.stdin.isatty():
            answer = sys.stdin.read()
        else:
            raise InputError("no answer: use --answer TEXT, --answer-file PATH, or pipe it on stdin")
    from interviewer.content.rubric import rubric_for
    from interviewer.grading.models import Answer

    q = questions.get(question)
    result = g.grade(q, rubric_for(q, settings.home), Answer(answer))
    if as_json:
        _print_json(result.to_dict())
    else:
        from interviewer.textview import Style
        from interviewer.ui import format_grade, use_color

        typer.echo(f"[{q.ref}] {q.text}")
        typer.echo("\n".join(format_grade(result, Style(use_color(sys.stdout)))))
    if result.status != "graded":
        raise typer.Exit(ExitCode.FAILURE)


@commands.command()
def calibrate(
    file: Annotated[
        Path,
        typer.Argument(
            help="JSONL of graded examples: question_id (or question + reference/hint), answer, score."
        ),
    ],
    samples: SamplesOpt = 1,
    concurrency: ConcurrencyOpt = 8,
    worst: Annotated[int, typer.Option("--worst", min=0, help="How many worst disagreements to list.")] = 10,
    model: ModelOpt = None,
    api_base: BaseOpt = None,
    grader: GraderOpt = None,
    bank: BankOpt = None,
    lang: LangOpt = None,
    as_json: JsonOpt = False,
):
    """Measure a grader against human scores (Spearman, Pearson, QWK, MAE, bias, agreement, length bias). Example:
    interviewer calibrate tests/data/calibration.jsonl --grader llm --model openai/gpt-4o-mini"""
    from interviewer.core import load_questions
    from interviewer.grading.batch import read_calibration
    from interviewer.grading.graders import make_grader
    from interviewer.results.calibration import calibrate as measure

    settings = _grading_settings(model, api_base, grader, lang=lang)
    examples = read_calibration(file, load_questions(settings, bank), settings.home)
    rep = measure(examples, make_grader(settings, samples=samples), concurrency, worst) | {
        "grader": settings.grader_kind,
        "model": settings.model if settings.grader_kind == "llm" else None,
    }
    if as_json:
        _print_json(rep)
        return
    o, m = rep["overall"], rep["middle_band"]
    typer.echo(
        f"{rep['n']} examples, {rep['ungraded']} ungraded; grader: {rep['grader']}"
        + (f" ({rep['model']})" if rep["model"] else "")
    )
    for name, a in (("overall", o), ("middle band (human 3-7)", m)):
        if a.get("n"):
            typer.echo(
                f"{name:<24} n={a['n']:<4} Spearman {a['spearman']}  Pearson {a['pearson']}  QWK {a['qwk']}  "
                f"MAE {a['mae']}  bias {a['bias']:+}  within±1 {a['within_1']:.0%}  within±2 {a['within_2']:.0%}"
            )
    lb = rep["length_bias"]
    typer.echo(f"length bias: {lb['spearman_length_vs_error']} ({lb['verdict']})")
    for level, v in rep["by_level"].items():
        typer.echo(f"  {level:<14} n={v['n']:<4} human {v['human_mean']:<5} grader {v['grader_mean']}")
    if rep["worst"]:
        typer.echo("worst disagreements:")
        for w in rep["worst"]:
            typer.echo(f"  {w['diff']:+5.1f}  human {w['human']:<4} grader {w['grader']:<4} {w['label']}")
