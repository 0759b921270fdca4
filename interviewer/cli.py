"""The `interviewer` command: one function per command; parse flags, call the library, render.

Heavy modules (litellm, prompt_toolkit, jinja2, the graders) are imported inside the commands that need them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from interviewer import __version__
from interviewer.errors import ExitCode, InputError, InterviewerError

app = typer.Typer(
    help="An LLM-graded mock interviewer for the terminal.\n\nExample: interviewer start -n 3 --section 2",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
bank_app = typer.Typer(help="List, show and validate question banks.", no_args_is_help=True)
rubric_app = typer.Typer(help="Show and validate rubrics.", no_args_is_help=True)
config_app = typer.Typer(help="Show the effective settings.", no_args_is_help=True)
app.add_typer(bank_app, name="bank")
app.add_typer(rubric_app, name="rubric")
app.add_typer(config_app, name="config")

STATE = {"debug": False}
MAX_SESSION_GRADES = 16  # grades in flight at once in one session

BankOpt = Annotated[
    list[Path] | None,
    typer.Option("--bank", help="Bank file or folder (repeatable); replaces the shipped bank."),
]
LangOpt = Annotated[str | None, typer.Option("--lang", help="Bank edition: zh (default) or en.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="litellm model, e.g. openai/gpt-4o-mini.")]
BaseOpt = Annotated[
    str | None, typer.Option("--api-base", help="OpenAI-compatible endpoint (vLLM, llama.cpp, Ollama).")
]
GraderOpt = Annotated[str | None, typer.Option("--grader", help="offline (default without a model) or llm.")]


def _version(value: bool):
    if value:
        typer.echo(f"interviewer {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    version: Annotated[
        bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = None,
):
    STATE["debug"] = debug


def _settings(**flags):
    from interviewer.config import load_settings

    return load_settings(flags)


def _grading_settings(model, api_base, grader, **flags):
    """Settings for a command that grades: flags checked, and the LLM grader's needs checked before any work."""
    from interviewer.core import check_llm_settings

    settings = _settings(
        model=model, api_base=api_base, grader=_choice(grader, ("offline", "llm"), "--grader"), **flags
    )
    check_llm_settings(settings)
    return settings


def _choice(value: str | None, allowed: tuple[str, ...], flag: str) -> str | None:
    if value is not None and value not in allowed:
        raise InputError(f"{flag} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------- bank


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
    from interviewer.bank import bank_files, load_bank
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


# ---------------------------------------------------------------- rubric


@rubric_app.command("show")
def rubric_show(question_id: str, bank: BankOpt = None, lang: LangOpt = None, as_json: JsonOpt = False):
    """Show the rubric in use for a question, and whether it is curated or derived. Example: interviewer rubric show 2.1"""
    from interviewer.core import load_questions
    from interviewer.rubric import rubric_for

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
    from interviewer.assets import asset_dir
    from interviewer.core import load_questions
    from interviewer.rubric import validate_rubric_files

    settings = _settings(lang=lang)
    questions = load_questions(settings, bank)
    targets = paths or [asset_dir("rubrics")]
    checked = validate_rubric_files(targets, questions)
    typer.echo(f"ok: {checked} rubric file(s) valid")


# ---------------------------------------------------------------- grade


@app.command()
def grade(
    question: Annotated[str | None, typer.Option("--question", "-q", help="Question id, e.g. 2.1.")] = None,
    answer: Annotated[str | None, typer.Option("--answer", "-a", help="The answer text.")] = None,
    answer_file: Annotated[
        Path | None, typer.Option("--answer-file", help="Read the answer from a file.")
    ] = None,
    batch: Annotated[Path | None, typer.Option("--batch", help="JSONL file of answers to grade.")] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=256, help="Parallel grades in --batch.")
    ] = 8,
    samples: Annotated[
        int, typer.Option("--samples", min=1, max=15, help="LLM: grade K times, take the median.")
    ] = 1,
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
        from interviewer.batch import grade_batch, read_batch

        items = read_batch(batch, questions, settings.home)
        for result in grade_batch(items, g, concurrency):
            _print_json(result)
        return
    if question is None:
        raise InputError("give --question ID with --answer/--answer-file/stdin, or --batch FILE.jsonl")
    if answer is None:
        if answer_file is not None:
            from interviewer.bank import read_text
            from interviewer.errors import AnswersError

            answer = read_text(answer_file, AnswersError)
        elif not sys.stdin.isatty():
            answer = sys.stdin.read()
        else:
            raise InputError("no answer: use --answer TEXT, --answer-file PATH, or pipe it on stdin")
    from interviewer.rubric import rubric_for

    q = questions.get(question)
    result = g.grade(q.id, q.text, q.hint, rubric_for(q, settings.home), answer)
    if as_json:
        _print_json(result.to_dict())
    else:
        from interviewer.ui import Style, format_grade, use_color

        typer.echo(f"[{q.ref}] {q.text}")
        typer.echo("\n".join(format_grade(result, Style(use_color(sys.stdout)))))
    if result.status != "graded":
        raise typer.Exit(ExitCode.FAILURE)


@app.command()
def calibrate(
    file: Annotated[
        Path,
        typer.Argument(
            help="JSONL of graded examples: question_id (or question + reference/hint), answer, score."
        ),
    ],
    samples: Annotated[
        int, typer.Option("--samples", min=1, max=15, help="LLM: grade K times, take the median.")
    ] = 1,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=256, help="Parallel grades.")] = 8,
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
    from interviewer.batch import grade_batch, read_calibration
    from interviewer.calibration import Example, report
    from interviewer.core import load_questions
    from interviewer.grading.graders import make_grader
    from interviewer.textnorm import visible_length

    settings = _grading_settings(model, api_base, grader, lang=lang)
    examples = read_calibration(file, load_questions(settings, bank), settings.home)
    results = list(
        grade_batch([item for item, _, _ in examples], make_grader(settings, samples=samples), concurrency)
    )
    rows = [
        Example(
            human=human,
            grader=g["score"] if g["status"] == "graded" else None,
            length=visible_length(item.answer),
            label=f"{item.question_id}: {' '.join(item.answer.split())[:60]}",
            level=level,
        )
        for (item, human, level), g in zip(examples, results, strict=True)
    ]
    rep = report(rows, worst) | {
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


# ---------------------------------------------------------------- sessions


@app.command()
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
    from interviewer.select import ORDERS, select_questions

    _choice(order, (*ORDERS, "smart"), "--order")
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
        if not pool:
            raise InputError("no question matches these filters; see 'interviewer bank list'")
        states = open_store(settings).review_states()
        order = order or ("smart" if states else "random")
        if order == "smart":
            from interviewer.review import select_smart

            plan = select_smart(pool, states, n, seed=seed)
        else:
            plan = select_questions(pool, n, order, seed)
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


@app.command()
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
    from interviewer.answers import ScriptedSource, parse_answers

    if answers is not None:
        from interviewer.bank import read_text
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
    from interviewer.session import SessionEngine
    from interviewer.ui import InteractiveSource, TextReporter

    if settings.grader_kind == "llm":
        from interviewer.grading.llm import prefetch

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
        from interviewer.export import session_dict

        _print_json(session_dict(store, result.session_id))


@app.command()
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
    from interviewer.session import SessionEngine
    from interviewer.ui import TextReporter

    settings = _grading_settings(model, api_base, grader, lang=lang)
    store = open_store(settings)
    engine = SessionEngine(
        store, load_questions(settings, bank), make_grader(settings), TextReporter(quiet=as_json), settings.home,
        settings.concurrency,
    )  # fmt: skip
    sid = store.session(session_id)["id"]
    turns = [
        t for t in store.turns(sid) if not only_ungraded or not t["grade"] or t["grade"]["status"] != "graded"
    ]
    futures = [
        engine.pool.submit(engine.grade_turn, t, engine._question(t["question_ref"], t["question"]))
        for t in turns
    ]
    results = [f.result() for f in futures]
    engine.close()
    for t, g in zip(turns, results, strict=True):
        if as_json:
            _print_json({"index": t["idx"] + 1} | g.to_dict())
        else:
            shown = f"{g.score:.1f}/10" if g.score is not None else f"ungraded ({g.error})"
            typer.echo(f"{t['idx'] + 1}. [{t['question']['id']}] {shown}")
    if not as_json:
        typer.echo(f"Regraded {len(results)} answer(s) in session {sid}.")


@app.command()
def sessions(as_json: JsonOpt = False):
    """List sessions, newest first. Example: interviewer sessions --json"""
    from interviewer.core import open_store
    from interviewer.summary import summarize

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


@app.command()
def show(
    session_id: Annotated[str, typer.Argument(help="Session id (or 'last').")], as_json: JsonOpt = False
):
    """Show a session's transcript. Example: interviewer show last"""
    from interviewer.core import open_store
    from interviewer.export import render, session_dict

    store = open_store(_settings())
    sid = store.last_session_id() if session_id == "last" else session_id
    data = session_dict(store, sid)
    sys.stdout.write(render(data, "json" if as_json else "md"))


@app.command()
def export(
    session_id: Annotated[str | None, typer.Argument(help="Session id.")] = None,
    last: Annotated[bool, typer.Option("--last", help="Export the most recent session.")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="md, json or html.")] = "md",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to a file instead of stdout.")
    ] = None,
):
    """Export a transcript. Example: interviewer export --last --format html -o report.html"""
    from interviewer.core import open_store
    from interviewer.export import FORMATS, render, session_dict

    _choice(fmt, FORMATS, "--format")
    if not session_id and not last:
        raise InputError("give a session id or --last")
    store = open_store(_settings())
    sid = store.last_session_id() if last else session_id
    text = render(session_dict(store, sid), fmt)
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InterviewerError(
                f"{output}: cannot write ({exc.strerror}); choose another -o path"
            ) from None
        typer.echo(f"Wrote {output}", err=True)


# ---------------------------------------------------------------- progress

SinceOpt = Annotated[
    str | None,
    typer.Option("--since", help="Only sessions started on or after DATE: 2026-03-01, a date-time, or 7d."),
]
ByOpt = Annotated[str, typer.Option("--by", help="Trend: average per session or per day.")]


@app.command()
def stats(
    since: SinceOpt = None,
    by: ByOpt = "session",
    top: Annotated[
        int, typer.Option("--top", min=1, help="How many weak criteria and questions to list.")
    ] = 5,
    as_json: JsonOpt = False,
):
    """Progress: averages overall, by section and difficulty, the trend, weakest criteria, questions to review.
    Example: interviewer stats --since 2026-03-01"""
    from interviewer.core import open_store
    from interviewer.progress import TREND_BY, parse_since, read_attempts, read_sessions
    from interviewer.progress import stats as compute_stats

    _choice(by, TREND_BY, "--by")
    cutoff = parse_since(since)
    store = open_store(_settings())
    rows, attempts = read_sessions(store, cutoff), read_attempts(store, cutoff)
    st = compute_stats(rows, attempts, since=cutoff, by=by, top=top)
    if as_json:
        _print_json(st)
        return
    from interviewer.textview import Paint, render_stats
    from interviewer.ui import use_color

    sys.stdout.write(render_stats(st, Paint(use_color(sys.stdout)), since))


@app.command()
def history(
    question_id: Annotated[str, typer.Argument(help="Question id: 2.1, or bank:2.1.")],
    bank: BankOpt = None,
    lang: LangOpt = None,
    as_json: JsonOpt = False,
):
    """Every attempt at one question across sessions, oldest first. Example: interviewer history 2.1"""
    from interviewer.core import load_questions, open_store
    from interviewer.progress import history as question_history
    from interviewer.progress import question_refs, read_attempts, resolve_ref

    settings = _settings(lang=lang)
    store = open_store(settings)
    ref = resolve_ref(question_refs(store), question_id)
    question = None
    if ref is None:  # never answered: say so if the question exists, else the usual "no question" error
        q = load_questions(settings, bank).get(question_id)
        ref, question = q.ref, q.to_dict()
    h = question_history(read_attempts(store, ref=ref), ref, question)
    if as_json:
        _print_json(h)
        return
    from interviewer.textview import Paint, render_history
    from interviewer.ui import use_color

    sys.stdout.write(render_history(h, Paint(use_color(sys.stdout))))


@app.command("report")
def report_cmd(
    since: SinceOpt = None,
    by: ByOpt = "session",
    top: Annotated[
        int, typer.Option("--top", min=1, help="How many weak criteria and questions to list.")
    ] = 10,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to a file instead of stdout.")
    ] = None,
):
    """A self-contained HTML progress report for a period (default: all sessions).
    Example: interviewer report --since 2026-03-01 -o progress.html"""
    from interviewer.core import open_store
    from interviewer.export import render_report
    from interviewer.progress import TREND_BY, parse_since, read_attempts, read_sessions
    from interviewer.progress import report as report_data

    _choice(by, TREND_BY, "--by")
    cutoff = parse_since(since)
    store = open_store(_settings())
    rows, attempts = read_sessions(store, cutoff), read_attempts(store, cutoff)
    data = report_data(rows, attempts, since=cutoff, since_label=since, by=by, top=top)
    text = render_report(data)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InterviewerError(f"{output}: cannot write ({exc.strerror}); choose another -o path") from None
    typer.echo(f"Wrote {output}", err=True)


# ---------------------------------------------------------------- config


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
    import os

    return bool(os.environ.get("INTERVIEWER_HOME"))


# ---------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> None:
    """The console entry point: run the app and exit with its code."""
    try:
        _main(argv)
    except SystemExit as exc:
        if argv is None and "litellm" in sys.modules:
            # Tearing down an interpreter that loaded litellm takes about a second; every answer and grade is
            # already committed, so flush the output and leave at once.
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if exc.code is not None and not isinstance(exc.code, int):
                print(exc.code, file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        raise


def _main(argv: list[str] | None) -> None:
    """Run the app; an expected failure prints one line on stderr and exits with its code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        code = app(args=argv, standalone_mode=False)  # returns the code of a typer.Exit
    except InterviewerError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        typer.echo("\nInterrupted.", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as exc:
        # click's exceptions (typer may bundle its own copy of click): matched by name, not by class
        names = {c.__name__ for c in type(exc).__mro__}
        if "Abort" in names:
            typer.echo("\nInterrupted.", err=True)
            sys.exit(int(ExitCode.INTERRUPTED))
        if "ClickException" in names:
            message = " ".join(exc.format_message().split())
            hint = " (see --help)" if "UsageError" in names else ""
            typer.echo(f"error: {message}{hint}", err=True)
            sys.exit(getattr(exc, "exit_code", int(ExitCode.USAGE)))
        if debug:
            raise
        typer.echo(
            f"error: unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)", err=True
        )
        sys.exit(int(ExitCode.FAILURE))
    sys.exit(code if isinstance(code, int) else 0)
