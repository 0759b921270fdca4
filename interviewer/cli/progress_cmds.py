"""Progress across sessions: `stats`, `history` and `report`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from interviewer.cli import complete
from interviewer.cli.common import (
    BankOpt,
    Commands,
    JsonOpt,
    LangOpt,
    OutputOpt,
    QuestionArg,
    _choice,
    _print_json,
    _settings,
    _write_output,
)

commands = Commands()

SinceOpt = Annotated[
    str | None,
    typer.Option("--since", help="Only sessions started on or after DATE: 2026-03-01, a date-time, or 7d."),
]
ByOpt = Annotated[
    str,
    typer.Option(
        "--by",
        help="Trend: average per session or per day.",
        autocompletion=complete.choices("session", "day"),
    ),
]
TopOpt = Annotated[int, typer.Option("--top", min=1, help="How many weak criteria and questions to list.")]


@commands.command()
def stats(
    since: SinceOpt = None,
    by: ByOpt = "session",
    top: TopOpt = 5,
    as_json: JsonOpt = False,
):
    """Progress: averages overall, by section and difficulty, the trend, weakest criteria, questions to review.
    Example: interviewer stats --since 2026-03-01"""
    from interviewer.core import open_store
    from interviewer.results.progress import TREND_BY, parse_since
    from interviewer.results.progress import stats as compute_stats

    _choice(by, TREND_BY, "--by")
    cutoff = parse_since(since)
    store = open_store(_settings(), write=False)
    st = compute_stats(
        store.progress_facts(cutoff, by), since=cutoff, by=by, top=top, current=_current(store)
    )
    if as_json:
        _print_json(st)
        return
    from interviewer.textview import Style, render_stats
    from interviewer.ui import use_color

    sys.stdout.write(render_stats(st, Style(use_color(sys.stdout)), since))


@commands.command()
def history(
    question_id: QuestionArg,
    bank: BankOpt = None,
    lang: LangOpt = None,
    as_json: JsonOpt = False,
):
    """Every attempt at one question across sessions, oldest first. Example: interviewer history 2.1"""
    from interviewer.core import load_questions, open_store
    from interviewer.errors import NotFoundError
    from interviewer.results.progress import history as question_history
    from interviewer.results.progress import resolve_ref

    settings = _settings(lang=lang)
    store = open_store(settings, write=False)
    question = None
    try:
        q = load_questions(settings, bank, store).get(question_id)
        ref, question = q.ref, q.to_dict()
    except NotFoundError:  # no longer in the bank: its history may still be stored
        ref = resolve_ref(store.question_refs(), question_id)
        if ref is None:
            raise
    h = question_history(store.attempts(ref=ref), ref, question)
    if as_json:
        _print_json(h)
        return
    from interviewer.textview import Style, render_history
    from interviewer.ui import use_color

    sys.stdout.write(render_history(h, Style(use_color(sys.stdout))))


@commands.command("report")
def report_cmd(
    since: SinceOpt = None,
    by: ByOpt = "session",
    top: TopOpt = 10,
    output: OutputOpt = None,
):
    """A self-contained HTML progress report for a period (default: all sessions).
    Example: interviewer report --since 2026-03-01 -o progress.html"""
    from interviewer.core import open_store
    from interviewer.results.export import render_report
    from interviewer.results.progress import REPORT_SESSIONS, TREND_BY, parse_since
    from interviewer.results.progress import report as report_data

    _choice(by, TREND_BY, "--by")
    cutoff = parse_since(since)
    store = open_store(_settings(), write=False)
    facts, listed = store.progress_facts(cutoff, by), store.session_records(cutoff, last=REPORT_SESSIONS)
    data = report_data(
        facts, listed, since=cutoff, since_label=since, by=by, top=top, current=_current(store)
    )
    _write_output(render_report(data), output)


def _current(store) -> dict:
    """The questions of the banks in use by identity, so figures show each under its current id and section
    (both editions of a bank as one); a bank that does not load leaves the stored names in place."""
    from interviewer.core import load_questions
    from interviewer.errors import BankError

    try:
        return {q.ref: q for q in load_questions(_settings(), None, store)}
    except BankError:
        return {}
