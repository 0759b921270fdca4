"""Sessions: `start`, `resume` and `regrade` run them; `sessions`, `show` and `export` read them back."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from interviewer.cli.common import (
    BankOpt,
    BaseOpt,
    GraderOpt,
    JsonOpt,
    LangOpt,
    ModelOpt,
    OutputOpt,
    _choice,
    _grading_settings,
    _print_json,
    _settings,
    _write_output,
)
from interviewer.errors import ExitCode, InputError

commands = typer.Typer()

MAX_SESSION_GRADES = 16  # grades in flight at once in one session


@commands.command()
def start(
    n: Annotated[int, typer.Option("-n", "--num", min=1, help="Number of questions.")] = 5,
    section: Annotated[
        str | None, typer.Option("--section", help="Section number or part of its name.")
    ] = None,
    difficulty: Annotated[str | None, typer.Option("--difficulty", help="easy|medium|hard.")] = None,
    frequency: Annotated[str | None, typer.Option("--frequency", help="high|medium|low.")] = None,
    order: Annotated[
        str | None,
        typer.Option(
            "--order",
            help="smart (spaced repetition; the default once there is history)|random|bank|frequency.",
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed for a repeatable random order.")] = None,
    mode: Annotated[
        str | None, typer.Option("--mode", help="practice (feedback after each answer) or interview.")
    ] = None,
    answers: Annotated[
        Path | None, typer.Option("--answers", help="Scripted answers: text with '---' lines, or JSONL.")
    ] = None,
    follow_ups: Annotated[
        int | None,
        typer.Option(
            "--follow-ups",
            min=0,
            max=2,
            help="Follow-up questions per answer (default: 1 when typing, 0 scripted).",
        ),
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", min=10, help="Seconds per question; a countdown is shown.")
    ] = None,
    model: ModelOpt = None,
    api_base: BaseOpt = None,
    grader: GraderOpt = None,
    bank: BankOpt = None,
    lang: LangOpt = None,
    as_json: JsonOpt = False,
):
    """Start a mock interview. Examples:
    interviewer start -n 3 --section 2;  interviewer start --mode interview --answers my_answers.txt"""
    from interviewer.core import load_questions, open_store
    from interviewer.practice.plan import ALL_ORDERS, plan_session

    _choice(order, ALL_ORDERS, "--order")
    settings = _grading_settings(
        model, api_base, grader, mode=_choice(mode, ("practice", "interview"), "--mode"), lang=lang
    )
    questions = load_questions(settings, bank)
    source = _scripted_source(answers)
    scripted_ids = [a.question_id for a in source.answers] if source else []
    if scripted_ids and all(scripted_ids):
        plan = [_scripted_question(questions, a, answers) for a in source.answers]
    else:
        pool = questions.filter(section, difficulty, frequency)
        plan, order = plan_session(pool, open_store(settings).review_states(), n, order, seed)
    if follow_ups is None:
        follow_ups = 0 if source is not None else 1
    session_settings = {k: v for k, v in settings.public().items() if k not in ("api_key",)} | {
        "grader_kind": settings.grader_kind,
        "n": len(plan),
        "order": order,
        "seed": seed,
        "lang": settings.lang,
        "follow_ups": follow_ups,
        "time_limit": time_limit,
    }
    _run_session(settings, questions, source, as_json, plan=plan, session_settings=session_settings)


@commands.command()
def resume(
    session_id: Annotated[
        str | None, typer.Argument(help="Session id (default: the last unfinished one).")
    ] = None,
    answers: Annotated[Path | None, typer.Option("--answers", help="Scripted answers for the rest.")] = None,
    model: ModelOpt = None,
    api_base: BaseOpt = None,
    grader: GraderOpt = None,
    bank: BankOpt = None,
    lang: LangOpt = None,
    as_json: JsonOpt = False,
):
    """Continue an unfinished session; answers never graded are graded first. Example: interviewer resume"""
    from interviewer.core import load_questions

    settings = _grading_settings(model, api_base, grader, lang=lang)
    questions = load_questions(settings, bank)
    source = _scripted_source(answers, allow_empty=True)
    _run_session(settings, questions, source, as_json, session_id=session_id or "")


def _scripted_question(questions, answer, path: Path | None):
    from interviewer.errors import AnswersError, NotFoundError

    try:
        return questions.get(answer.question_id)
    except NotFoundError as exc:
        raise AnswersError(path or "<stdin>", answer.line, str(exc)) from None


def _scripted_source(answers: Path | None, allow_empty: bool = False):
    """Answers from --answers, or from stdin when it is not a terminal; None means ask interactively.

    `allow_empty` (resume): no answers at all is fine — the answers already given are graded, nothing more asked.
    """
    from interviewer.practice.answers import ScriptedSource, parse_answers

    if answers is not None:
        from interviewer.content.bank import read_text
        from interviewer.errors import AnswersError

        text, where = read_text(answers, AnswersError), str(answers)
    elif not sys.stdin.isatty():
        text, where = sys.stdin.read(), "<stdin>"
    else:
        return None
    if allow_empty and not text.strip():
        return ScriptedSource([])
    return ScriptedSource(parse_answers(text, where))


def _run_session(settings, questions, source, as_json, plan=None, session_settings=None, session_id=""):
    """Create (or pick up) a session and run it; follow-ups and the time limit come from the session's settings."""
    from interviewer.core import open_store
    from interviewer.grading.graders import make_grader
    from interviewer.practice.engine import SessionEngine
    from interviewer.ui import InteractiveSource, TextReporter

    if settings.grader_kind == "llm":
        from interviewer.grading.litellm_chat import prefetch

        prefetch()  # litellm's import overlaps the first question
    store = open_store(settings)
    reporter = TextReporter(quiet=as_json)
    if plan is None and not session_id:
        session_id = store.last_session_id(unfinished=True)
    saved = session_settings if plan is not None else json.loads(store.session(session_id)["settings_json"])
    planned = len(plan) if plan is not None else len(json.loads(store.session(session_id)["plan_json"]))
    engine = SessionEngine(
        store, questions, make_grader(settings), reporter, settings.home,
        concurrency=max(settings.concurrency, min(MAX_SESSION_GRADES, planned)),  # every grade at once, bounded
        follow_ups=int(saved.get("follow_ups") or 0),
    )  # fmt: skip
    if plan is not None:
        session_id = engine.create(plan, settings.mode, session_settings)
    if source is None:
        source = InteractiveSource(time_limit=saved.get("time_limit"))
    try:
        result = engine.run(session_id, source)
    except KeyboardInterrupt:
        engine.close(wait=False)
        sid = store.session(session_id)["id"]
        typer.echo(f"\nInterrupted; every answer is saved. Continue with: interviewer resume {sid}", err=True)
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    engine.close()
    if as_json:
        from interviewer.results.export import session_dict

        _print_json(session_dict(store, result.session_id))


@commands.command()
def regrade(
    session_id: Annotated[str, typer.Argument(help="Session id.")],
    only_ungraded: Annotated[
        bool, typer.Option("--only-ungraded", help="Grade only answers without a grade.")
    ] = False,
    model: ModelOpt = None,
    api_base: BaseOpt = None,
    grader: GraderOpt = None,
    bank: BankOpt = None,
    lang: LangOpt = None,
    as_json: JsonOpt = False,
):
    """Grade a session's answers again; every grade is kept, the latest is shown. Example: interviewer regrade --only-ungraded 2026"""
    from interviewer.core import load_questions, open_store
    from interviewer.grading.graders import make_grader
    from interviewer.practice.engine import SessionEngine
    from interviewer.ui import TextReporter

    settings = _grading_settings(model, api_base, grader, lang=lang)
    store = open_store(settings)
    engine = SessionEngine(
        store, load_questions(settings, bank), make_grader(settings), TextReporter(quiet=as_json), settings.home,
        settings.concurrency,
    )  # fmt: skip
    sid, regraded = engine.regrade(session_id, only_ungraded)
    engine.close()
    for t, g in regraded:
        if as_json:
            _print_json({"index": t["idx"] + 1} | g.to_dict())
        else:
            shown = f"{g.score:.1f}/10" if g.score is not None else f"ungraded ({g.error})"
            typer.echo(f"{t['idx'] + 1}. [{t['question']['id']}] {shown}")
    if not as_json:
        typer.echo(f"Regraded {len(regraded)} answer(s) in session {sid}.")


@commands.command()
def sessions(as_json: JsonOpt = False):
    """List sessions, newest first. Example: interviewer sessions --json"""
    from interviewer.core import open_store
    from interviewer.results.summary import summarize

    store = open_store(_settings())
    for s in store.sessions():
        summary = summarize(store.turns(s["id"]))
        planned = len(json.loads(s["plan_json"]))
        row = {
            "id": s["id"], "started_at": s["started_at"], "status": s["status"], "mode": s["mode"],
            "answered": s["answered"], "planned": planned, "score": summary["score"],
        }  # fmt: skip
        if as_json:
            _print_json(row)
        else:
            score = f"{summary['score']:.1f}" if summary["score"] is not None else "-"
            typer.echo(
                f"{s['id']}  {s['started_at']}  {s['status']:<8} {s['mode']:<9} {s['answered']}/{planned}  {score}"
            )


@commands.command()
def show(
    session_id: Annotated[str, typer.Argument(help="Session id (or 'last').")],
    as_json: JsonOpt = False,
    details: Annotated[
        bool,
        typer.Option("--details", help="Also print, per turn, the grading prompt and the model's raw reply."),
    ] = False,
):
    """Show a session's transcript. Examples: interviewer show last;  interviewer show last --details"""
    from interviewer.core import open_store
    from interviewer.results.export import render, session_dict

    store = open_store(_settings())
    sid = store.last_session_id() if session_id == "last" else session_id
    data = session_dict(store, sid)
    sys.stdout.write(render(data, "json" if as_json else "md"))
    if details and not as_json:  # the JSON carries the provenance already
        sys.stdout.write(_details(data))


def _details(session: dict) -> str:
    """Per turn, the prompt and raw reply behind the grade shown (its `provenance`), as Markdown."""
    out = ["# Grading details\n"]
    for t in session["turns"]:
        g = t["grade"] or {}
        head = f"## {t['index']}. [{t['question']['id']}]"
        prov = g.get("provenance")
        if not prov:
            why = "not graded yet" if not g else f"{g.get('grader', {}).get('kind', '?')} grade"
            out.append(f"{head} {why}: no prompt or reply kept\n")
            continue
        grader = g.get("grader") or {}
        out.append(
            f"{head} {grader.get('model') or '-'} · prompt {grader.get('prompt_version') or '-'}"
            f" · mode {prov.get('mode') or '-'} · {g['status']}\n"
        )
        for m in prov.get("messages") or []:
            out.append(f"### {m['role'].capitalize()} prompt\n\n{_fenced(m['content'])}")
        reply = prov.get("reply")
        out.append("### Raw reply\n\n" + (_fenced(reply) if reply is not None else "(no reply)\n"))
    return "\n".join(out)


def _fenced(text: str) -> str:
    """A Markdown code block that the text cannot close: its fence is longer than any backtick run inside."""
    ticks = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{ticks}text\n{text}\n{ticks}\n"


@commands.command()
def export(
    session_id: Annotated[str | None, typer.Argument(help="Session id.")] = None,
    last: Annotated[bool, typer.Option("--last", help="Export the most recent session.")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="md, json or html.")] = "md",
    output: OutputOpt = None,
):
    """Export a transcript. Example: interviewer export --last --format html -o report.html"""
    from interviewer.core import open_store
    from interviewer.results.export import FORMATS, render, session_dict

    _choice(fmt, FORMATS, "--format")
    if not session_id and not last:
        raise InputError("give a session id or --last")
    store = open_store(_settings())
    sid = store.last_session_id() if last else session_id
    _write_output(render(session_dict(store, sid), fmt), output)
