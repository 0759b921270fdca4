"""Grading outside a session: `grade` (one answer or a batch) and `calibrate` (a grader against human scores)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from interviewer.cli import complete
from interviewer.cli.common import (
    BankOpt,
    BaseOpt,
    Commands,
    ConcurrencyOpt,
    GraderOpt,
    JsonOpt,
    LangOpt,
    ModelOpt,
    SamplesOpt,
    SttBaseOpt,
    SttModelOpt,
    _choice,
    _grading_settings,
    _print_json,
)
from interviewer.errors import AnswersError, ExitCode, InputError
from interviewer.progressbar import Progress

commands = Commands()


@commands.command()
def grade(
    question: Annotated[
        str | None,
        typer.Option("--question", "-q", help="Question id, e.g. 2.1.", autocompletion=complete.question_ids),
    ] = None,
    answer: Annotated[str | None, typer.Option("--answer", "-a", help="The answer text.")] = None,
    answer_file: Annotated[
        Path | None,
        typer.Option(
            "--answer-file",
            help="Read the answer from a file; an audio file (.wav .mp3 .m4a .webm) is transcribed.",
        ),
    ] = None,
    batch: Annotated[Path | None, typer.Option("--batch", help="JSONL file of answers to grade.")] = None,
    restart: Annotated[
        bool, typer.Option("--restart", help="Batch: forget the recorded run of this file and start over.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Batch: print the requests, tokens and cost; send nothing.")
    ] = False,
    via: Annotated[
        str, typer.Option("--via", help="Batch: live (requests now) or batch-api (a provider batch job).")
    ] = "live",
    concurrency: ConcurrencyOpt = 8,
    samples: SamplesOpt = 1,
    model: ModelOpt = None,
    api_base: BaseOpt = None,
    stt_model: SttModelOpt = None,
    stt_api_base: SttBaseOpt = None,
    grader: GraderOpt = None,
    bank: BankOpt = None,
    lang: LangOpt = None,
    as_json: JsonOpt = False,
):
    """Grade one answer, or a batch. Examples:
    interviewer grade -q 2.1 -a "先算 QKᵀ …";  interviewer grade --batch answers.jsonl --json"""
    from interviewer.core import load_questions
    from interviewer.grading.graders import make_grader

    settings = _grading_settings(
        model, api_base, grader, stt_model=stt_model, stt_api_base=stt_api_base, lang=lang
    )
    if settings.grader_kind == "llm" and not dry_run:
        from interviewer.grading.models_for import prefetch

        prefetch(settings)  # the client's import (the longest step before a request), while the bank loads
    questions = load_questions(settings, bank)
    g = make_grader(settings, samples=samples)
    if batch is not None:
        via = _choice(via, ("live", "batch-api"), "--via")
        _grade_batch(batch, questions, settings, g, samples, concurrency, restart, dry_run, as_json, via)
        return
    if question is None:
        raise InputError("give --question ID with --answer/--answer-file/stdin, or --batch FILE.jsonl")
    spoken = None
    if answer is None and answer_file is not None and _is_audio(answer_file):
        spoken = _transcribe_file(answer_file, settings)
        answer = spoken["transcript"]["text"]
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
    if spoken is not None:  # shown beside the grade, never part of its score
        result.extra["delivery"] = spoken["delivery"]
    if as_json:
        _print_json(result.to_dict() | ({"transcript": spoken["transcript"]} if spoken else {}))
    else:
        from interviewer.results.export import reference_answer
        from interviewer.textview import Style
        from interviewer.ui import format_grade, use_color

        typer.echo(f"[{q.ref}] {q.text}")
        if spoken is not None:
            typer.echo(f"Transcript: {answer}")
        reference = reference_answer(q, settings.home)
        typer.echo("\n".join(format_grade(result, Style(use_color(sys.stdout)), reference=reference)))
    if result.status != "graded":
        raise typer.Exit(ExitCode.FAILURE)


def _grade_batch(path, questions, settings, g, samples, concurrency, restart, dry_run, as_json, via) -> None:
    """A resumable batch run (see `grading.batch_run`): exit 0 when every line is graded, 3 when some are not."""
    from interviewer.core import open_store
    from interviewer.grading.batch import iter_batch
    from interviewer.grading.batch_run import (
        BatchProgress,
        estimate,
        fingerprint,
        run_lines,
        settings_key,
    )

    total = sum(1 for _ in iter_batch(path, questions, settings.home))  # every line checked before any grade
    if not total:
        raise AnswersError(path, None, "no lines to grade")
    fp = fingerprint(path)
    if via == "batch-api" and g.kind != "llm":
        raise InputError("--via batch-api needs the LLM grader: --model M (and --grader llm)")
    key = settings_key(g.kind, settings.model, samples, settings.home, via)
    store = open_store(settings)
    # A batch commits a row per line: in WAL mode NORMAL keeps every commit through a crash or a kill (only a
    # power cut can lose the last few, which the next run grades again) without a disk sync per line.
    store.db.execute("PRAGMA synchronous=NORMAL")
    if dry_run:
        run = None if restart else store.batch_run(fp, key)

        def graded(line: int) -> bool:
            row = store.batch_line(run["id"], line) if run else None
            return row is not None and row[0] == "graded"

        est = estimate(
            iter_batch(path, questions, settings.home),
            g.kind,
            settings.model,
            samples,
            settings.home,
            graded,
            batch_api=via == "batch-api",
        )
        if as_json:
            _print_json(est.to_dict())
        else:
            typer.echo(est.text())
        return
    run_id, resumed = store.open_batch_run(
        fp, key, str(path), total, settings.public(), via=via, restart=restart
    )
    if via == "batch-api":
        from interviewer.cli.batch_cmds import run_via_batch_api

        run_via_batch_api(store, run_id, path, questions, settings)
        return
    if resumed:
        done = store.batch_line_counts(run_id).get("graded", 0)
        typer.echo(f"resuming batch run {run_id}: {done} of {total} lines already graded", err=True)
    with BatchProgress("grading", sys.stderr) as progress:
        progress.start(total)

        def emit(out) -> None:
            progress.write(json.dumps(out, ensure_ascii=False) + "\n", sys.stdout)

        tally = run_lines(
            iter_batch(path, questions, settings.home), run_id, store, g, concurrency, emit, progress
        )
    store.finish_batch_run(run_id)
    typer.echo(tally.summary(run_id), err=True)
    if tally.ungraded:
        raise typer.Exit(ExitCode.PARTIAL)


def _is_audio(path: Path) -> bool:
    from interviewer.speech.audio import is_audio_path

    return is_audio_path(path)


def _transcribe_file(path: Path, settings) -> dict:
    """An audio answer's transcript and delivery signals; a transcription that fails is a runtime failure."""
    from interviewer.errors import AnswersError, InterviewerError
    from interviewer.speech.audio import wav_duration
    from interviewer.speech.transcribe import failure_message, make_transcriber, transcribe_audio

    if not path.expanduser().is_file():
        raise AnswersError(path, None, "audio file not found")
    try:
        return transcribe_audio(
            make_transcriber(settings), path.expanduser(), wav_duration(path.expanduser())
        )
    except Exception as exc:
        raise InterviewerError(f"{path}: {failure_message(exc)}") from None


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
    with Progress("grading", sys.stderr) as progress:
        rep = measure(examples, make_grader(settings, samples=samples), concurrency, worst, progress)
    rep |= {
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
