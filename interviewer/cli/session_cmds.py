"""Sessions: `start`, `resume` and `regrade` run them; `sessions`, `show` and `export` read them back."""

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
    DifficultyOpt,
    FrequencyOpt,
    GraderOpt,
    JsonOpt,
    LangOpt,
    ModelOpt,
    OutputOpt,
    SttBaseOpt,
    SttModelOpt,
    _choice,
    _grading_settings,
    _print_json,
    _settings,
    _write_output,
)
from interviewer.config import SECRETS
from interviewer.errors import ExitCode, InputError, InterviewerError, NotFoundError, StoreError
from interviewer.progressbar import Progress

commands = Commands()

MAX_SESSION_GRADES = 16  # grades in flight at once in one session

VoiceOpt = Annotated[
    bool,
    typer.Option(
        "--voice", help="Answer by voice: each answer starts with a recording from the microphone (t: type)."
    ),
]

SpeakOpt = Annotated[
    bool,
    typer.Option("--speak", help="Read the questions and follow-ups aloud (a --tts-model, or espeak-ng)."),
]
TtsModelOpt = Annotated[
    str | None, typer.Option("--tts-model", help="Text-to-speech model for --speak (e.g. openai/tts-1).")
]
TtsBaseOpt = Annotated[
    str | None, typer.Option("--tts-api-base", help="OpenAI-compatible speech endpoint for --tts-model.")
]


@commands.command()
def start(
    n: Annotated[int, typer.Option("-n", "--num", min=1, help="Number of questions.")] = 5,
    section: Annotated[
        str | None, typer.Option("--section", help="Section number or part of its name.")
    ] = None,
    difficulty: DifficultyOpt = None,
    frequency: FrequencyOpt = None,
    order: Annotated[
        str | None,
        typer.Option(
            "--order",
            help="smart (the default: frequent questions of mixed difficulty at first, then spaced repetition)"
            "|random|bank|frequency.",
            autocompletion=complete.choices("smart", "random", "bank", "frequency"),
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed for a repeatable random order.")] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode",
            help="practice (feedback after each answer) or interview.",
            autocompletion=complete.choices("practice", "interview"),
        ),
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
    stt_model: SttModelOpt = None,
    stt_api_base: SttBaseOpt = None,
    speak: SpeakOpt = False,
    voice: VoiceOpt = False,
    tts_model: TtsModelOpt = None,
    tts_api_base: TtsBaseOpt = None,
    grader: GraderOpt = None,
    bank: BankOpt = None,
    lang: LangOpt = None,
    as_json: JsonOpt = False,
):
    """Start a mock interview. Examples:
    interviewer start -n 3 --section 2;  interviewer start --mode interview --answers my_answers.txt"""
    from interviewer.core import load_questions, open_store, with_history
    from interviewer.practice.plan import ALL_ORDERS, plan_session

    _choice(order, ALL_ORDERS, "--order")
    settings = _grading_settings(
        model,
        api_base,
        grader,
        stt_model=stt_model,
        stt_api_base=stt_api_base,
        tts_model=tts_model,
        tts_api_base=tts_api_base,
        mode=_choice(mode, ("practice", "interview"), "--mode"),
        lang=lang,
    )
    questions = load_questions(settings, bank)
    store = open_store(settings)  # one store for planning and the session; `_run_session` closes it
    try:
        questions, states = with_history(questions, store)[0], store.review_states()
        source = _scripted_source(answers)
        _check_voice(voice, source)
        scripted_ids = [a.question_id for a in source.answers] if source else []
        if scripted_ids and all(scripted_ids):
            plan = [_scripted_question(questions, a, answers) for a in source.answers]
        else:
            pool = questions.filter(section, difficulty, frequency)
            plan, order = plan_session(pool, states, n, order, seed)
        if follow_ups is None:
            follow_ups = 0 if source is not None else 1
        session_settings = {k: v for k, v in settings.public().items() if k not in SECRETS} | {
            "grader_kind": settings.grader_kind,
            "n": len(plan),
            "order": order,
            "seed": seed,
            "lang": settings.lang,
            "follow_ups": follow_ups,
            "time_limit": time_limit,
        }
    except BaseException:
        store.close()
        raise
    _run_session(
        settings, questions, source, as_json, plan=plan, session_settings=session_settings, store=store,
        speak=speak, voice=voice,
    )  # fmt: skip


@commands.command()
def resume(
    session_id: Annotated[
        str | None,
        typer.Argument(
            help="Session id, or last (the default): the most recent unfinished session.",
            autocompletion=complete.unfinished_session_ids,
        ),
    ] = None,
    answers: Annotated[Path | None, typer.Option("--answers", help="Scripted answers for the rest.")] = None,
    model: ModelOpt = None,
    api_base: BaseOpt = None,
    stt_model: SttModelOpt = None,
    stt_api_base: SttBaseOpt = None,
    speak: SpeakOpt = False,
    voice: VoiceOpt = False,
    tts_model: TtsModelOpt = None,
    tts_api_base: TtsBaseOpt = None,
    grader: GraderOpt = None,
    bank: BankOpt = None,
    lang: LangOpt = None,
    as_json: JsonOpt = False,
):
    """Continue an unfinished session; answers never graded are graded first. Examples: interviewer resume;
    interviewer resume last"""
    from interviewer.core import load_questions

    settings = _grading_settings(
        model, api_base, grader, stt_model=stt_model, stt_api_base=stt_api_base, lang=lang,
        tts_model=tts_model, tts_api_base=tts_api_base,
    )  # fmt: skip
    questions = load_questions(settings, bank)
    source = _scripted_source(answers, allow_empty=True)
    _check_voice(voice, source)
    _run_session(settings, questions, source, as_json, session_id=session_id or "", speak=speak, voice=voice)


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


def _check_voice(voice: bool, source) -> None:
    """--voice records at the terminal: never with scripted answers."""
    if voice and source is not None:
        raise InputError(
            "--voice records answers at the terminal; drop it, or drop --answers (and answers on stdin)"
        )


def _transcriber(settings):
    """Speech to text for spoken answers; litellm is loaded only when one is transcribed."""
    from interviewer.speech.transcribe import make_transcriber

    return make_transcriber(settings)


def _run_session(
    settings, questions, source, as_json, plan=None, session_settings=None, session_id="", store=None,
    speak=False, voice=False,
):  # fmt: skip
    """Create (or pick up) a session and run it; follow-ups and the time limit come from the session's settings.
    `store`, when given, is already open and `questions` already matched to its history; `speak`: read the
    questions aloud; `voice`: answers at the terminal start with a recording."""
    from interviewer.core import open_store, resolve_session
    from interviewer.grading.graders import make_grader
    from interviewer.practice.engine import SessionEngine
    from interviewer.ui import InteractiveSource, TextReporter

    if settings.grader_kind == "llm":
        from interviewer.grading.models_for import prefetch

        prefetch(settings)  # the model client's import overlaps the first question
    from interviewer.core import with_history

    if store is None:
        store = open_store(settings)
        questions = with_history(questions, store)[0]
    reporter = TextReporter(quiet=as_json, home=settings.home)
    if plan is None:
        session_id = resolve_session(store, session_id or None, unfinished=True)
    saved = session_settings if plan is not None else json.loads(store.session(session_id)["settings_json"])
    planned = len(plan) if plan is not None else len(json.loads(store.session(session_id)["plan_json"]))
    if speak:
        reporter = _speaking(settings, reporter, saved.get("lang") or settings.lang)
    grader = make_grader(settings)
    found = _check_model(settings, grader, reporter)
    engine = SessionEngine(
        store, questions, grader, reporter, settings.home,
        concurrency=max(settings.concurrency, min(MAX_SESSION_GRADES, planned)),  # every grade at once, bounded
        follow_ups=int(saved.get("follow_ups") or 0),
        transcriber=_transcriber(settings),
    )  # fmt: skip
    if found is not None and found.unreachable:
        engine.trip(f"The model check found {found.model} unreachable")
    if plan is not None:
        session_id = engine.create(plan, settings.mode, session_settings)
    if source is None:
        source = InteractiveSource(
            time_limit=saved.get("time_limit"),
            voice=voice,
            transcriber=engine.transcriber,
            home=settings.home,
            before_recording=getattr(reporter, "hush", None),  # --speak: not into the microphone
        )
    try:
        result = engine.run(session_id, source, resumed=plan is None)
    except KeyboardInterrupt:
        engine.close(wait=False)
        _stop_speaking(reporter, wait=False)
        try:
            sid = store.session(session_id)["id"]
        except NotFoundError:  # nothing was answered or typed: the session was not kept
            typer.echo("\nInterrupted before any answer; the session is not kept.", err=True)
        else:
            typer.echo(
                "\nInterrupted; every answer, and what you were typing, is saved. Continue with: "
                f"interviewer resume {sid}",
                err=True,
            )
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    engine.close()
    _stop_speaking(reporter)
    if isinstance(source, InteractiveSource):
        source.close()  # the last recording handed to the engine, which has its own copy
    if as_json and result.session_id:
        from interviewer.results.export import session_dict

        _print_json(session_dict(store, result.session_id))
    store.close()  # now, not whenever the connection is collected: a late close can race another connection


def _speaking(settings, reporter, lang):
    """--speak: the reporter that also reads each question and follow-up aloud; the same reporter, after one line
    on stderr, when nothing here can read them. litellm is loaded only when a question is synthesized."""
    from interviewer.speech.speak import SpeakingReporter, SpeechUnavailable, make_speaker

    try:
        return SpeakingReporter(reporter, make_speaker(settings, lang))
    except SpeechUnavailable as exc:
        reporter.note(str(exc))
        return reporter


def _stop_speaking(reporter, wait=True):
    """The session is over: what is being read aloud stops (what is being saved is saved first, with `wait`)."""
    stop = getattr(reporter, "stop_speaking", None)
    if stop is not None:
        stop(wait)


def _check_model(settings, grader, reporter):
    """Before the first question of a session that grades with an LLM: the model check (`interviewer check`),
    through the grader's own model, said in one line. A setup that can give no grade stops the session here;
    None when no check is made."""
    chat = getattr(grader, "chat", None)
    if settings.grader_kind != "llm" or chat is None or settings.check == "off":
        return None
    from interviewer.grading.check import check_all
    from interviewer.ui import Spinner

    with Spinner(sys.stderr, "checking the model…"):
        results = check_all(settings, chat)
    for result in results:
        reporter.note(result.summary())
    found = next((r for r in results if r.ok), results[0])  # one deployment that can grade is enough
    if found.fatal:
        raise InterviewerError(
            "no grade can be had with this setup, so the session did not start; see 'interviewer check', or use "
            "--grader offline"
        )
    return found


@commands.command()
def regrade(
    session_id: Annotated[
        str,
        typer.Argument(help="Session id, or last (the most recent).", autocompletion=complete.session_ids),
    ],
    only_ungraded: Annotated[
        bool, typer.Option("--only-ungraded", help="Grade only answers without a grade.")
    ] = False,
    model: ModelOpt = None,
    api_base: BaseOpt = None,
    stt_model: SttModelOpt = None,
    stt_api_base: SttBaseOpt = None,
    grader: GraderOpt = None,
    bank: BankOpt = None,
    lang: LangOpt = None,
    as_json: JsonOpt = False,
):
    """Grade a session's answers again; every grade is kept, the latest is shown. Examples: interviewer regrade last;
    interviewer regrade --only-ungraded 2026"""
    from interviewer.core import load_questions, open_store, resolve_session
    from interviewer.grading.graders import make_grader
    from interviewer.practice.engine import SessionEngine
    from interviewer.ui import TextReporter

    settings = _grading_settings(
        model, api_base, grader, stt_model=stt_model, stt_api_base=stt_api_base, lang=lang
    )
    store = open_store(settings)
    engine = SessionEngine(
        store, load_questions(settings, bank, store), make_grader(settings), TextReporter(quiet=as_json), settings.home,
        settings.concurrency, transcriber=_transcriber(settings),
    )  # fmt: skip
    with Progress("regrading", sys.stderr) as progress:
        sid, regraded = engine.regrade(resolve_session(store, session_id), only_ungraded, progress)
    engine.close()
    for t, g in regraded:
        if as_json:
            _print_json({"index": t["idx"] + 1} | g.to_dict())
        else:
            shown = f"{g.score:.1f}/10" if g.score is not None else f"ungraded ({g.error})"
            typer.echo(f"{t['idx'] + 1}. [{t['question']['id']}] {shown}")
    if not as_json:
        typer.echo(f"Regraded {len(regraded)} answer(s) in session {sid}.")


sessions_app = Commands(invoke_without_command=True)
commands.add_typer(sessions_app, name="sessions")


@sessions_app.callback()
def sessions(ctx: typer.Context, as_json: JsonOpt = False):
    """List sessions, newest first: questions answered of those planned (a retry is one more try at one answer),
    skips, score. Examples: interviewer sessions --json;  interviewer sessions rm last;  interviewer sessions prune"""
    if ctx.invoked_subcommand is not None:
        return
    from interviewer.core import open_store
    from interviewer.results.summary import summarize
    from interviewer.textview import local_time

    store = open_store(_settings(), write=False)
    for s in store.sessions():
        summary = summarize(store.turns(s["id"]))
        planned = len(json.loads(s["plan_json"]))
        row = {
            "id": s["id"], "started_at": s["started_at"], "status": s["status"], "mode": s["mode"],
            "answered": s["answered"], "planned": planned, "attempts": s["attempts"], "skipped": s["skipped"],
            "score": summary["score"],
        }  # fmt: skip
        if as_json:
            _print_json(row)
        else:
            score = f"{summary['score']:.1f}" if summary["score"] is not None else "-"
            skipped = f" ({s['skipped']} skipped)" if s["skipped"] else ""
            typer.echo(
                f"{s['id']}  {local_time(s['started_at'])}  {s['status']:<8} {s['mode']:<9} "
                f"{s['answered']}/{planned}{skipped}  {score}"
            )


def _describe(row) -> str:
    from interviewer.textview import local_time

    planned = len(json.loads(row["plan_json"]))
    drafts = row.get("drafts") or 0
    text = f"{row['id']} (started {local_time(row['started_at'])}, {row['status']}, {row['answered']}/{planned} answered"
    return text + (f", {drafts} draft" if drafts else "") + ")"


YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def _asks() -> bool:
    """Whether to ask before removing: only when someone can answer (stdin is a terminal)."""
    return sys.stdin.isatty()


@sessions_app.command("rm")
def sessions_rm(
    session_ids: Annotated[
        list[str],
        typer.Argument(help="Session ids, or last (the most recent).", autocompletion=complete.session_ids),
    ],
    yes: YesOpt = False,
):
    """Remove sessions and everything in them: answers, grades, follow-ups, drafts. In a terminal it asks first,
    unless --yes. Examples: interviewer sessions rm last;  interviewer sessions rm 20260301-101500-ab12 --yes"""
    from interviewer.core import open_store, resolve_session

    store = open_store(_settings())
    rows = {}
    for typed in session_ids:
        row = store.session(resolve_session(store, typed))
        rows[row["id"]] = dict(row) | store.session_counts(row["id"])
    if _asks() and not yes:
        for row in rows.values():
            typer.echo(f"  {_describe(row)}", err=True)
        if not typer.confirm(
            f"Remove {len(rows)} session(s) and everything in them?", default=False, err=True
        ):
            typer.echo("Nothing removed.", err=True)
            return
    for row in rows.values():
        store.delete_session(row["id"])
        typer.echo(f"Removed {_describe(row)}")


@sessions_app.command("prune")
def sessions_prune(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be removed.")] = False,
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than",
            help="Also remove unfinished sessions started before this: 30d, 2w, or a date like 2026-03-01.",
        ),
    ] = None,
    yes: YesOpt = False,
):
    """Remove empty sessions (no answer and no draft, such as a start stopped before its first answer) and, with
    --older-than, unfinished ones abandoned since then; says what it removed. Examples: interviewer sessions prune
    --dry-run;  interviewer sessions prune --older-than 30d"""
    from interviewer.core import open_store
    from interviewer.results.progress import parse_since

    store = open_store(_settings())
    found = store.prunable(parse_since(older_than) if older_than else None)
    if not found:
        typer.echo("Nothing to prune: no empty" + (" or abandoned" if older_than else "") + " session.")
        return
    if dry_run:
        for row in found:
            typer.echo(f"Would remove {_describe(row)}: {row['why']}")
        typer.echo(f"{len(found)} session(s) would be removed; run without --dry-run to remove them.")
        return
    answered = [r for r in found if r["attempts"]]
    if answered and _asks() and not yes:
        for row in answered:
            typer.echo(f"  {_describe(row)}", err=True)
        if not typer.confirm(
            f"Remove {len(answered)} abandoned session(s) with answers?", default=False, err=True
        ):
            found = [r for r in found if not r["attempts"]]
    removed = 0
    for row in found:
        try:
            store.delete_session(row["id"])
        except StoreError as exc:  # in use by a running session (an empty one is a session just started)
            typer.echo(f"Kept {row['id']}: {exc}", err=True)
            continue
        removed += 1
        typer.echo(f"Removed {_describe(row)}: {row['why']}")
    typer.echo(f"Removed {removed} session(s).")


@commands.command()
def show(
    session_id: Annotated[
        str,
        typer.Argument(help="Session id, or last (the most recent).", autocompletion=complete.session_ids),
    ],
    as_json: JsonOpt = False,
    details: Annotated[
        bool,
        typer.Option("--details", help="Also print, per turn, the grading prompt and the model's raw reply."),
    ] = False,
    no_pager: Annotated[
        bool, typer.Option("--no-pager", help="Never page (by default a terminal gets $PAGER, or less -R).")
    ] = False,
):
    """Show a session's transcript, for reading in the terminal (through a pager when it is one). Examples:
    interviewer show last;  interviewer show last --details;  interviewer show last --json"""
    from interviewer.core import open_store
    from interviewer.results.export import render, session_dict

    store = open_store(_settings(), write=False)
    data = session_dict(store, session_id)
    if as_json:  # the JSON carries the provenance already
        sys.stdout.write(render(data, "json"))
        return
    from interviewer.results.transcript import render_transcript
    from interviewer.textview import Style
    from interviewer.ui import page, reading_width, use_color

    paint = Style(use_color(sys.stdout))
    page(render_transcript(data, paint, reading_width(sys.stdout), details=details), enabled=not no_pager)


@commands.command()
def export(
    session_id: Annotated[str | None, typer.Argument(help="Session id.")] = None,
    last: Annotated[bool, typer.Option("--last", help="Export the most recent session.")] = False,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="md, json or html; anki exports a bank (--bank) as .apkg.",
            autocompletion=complete.choices("md", "json", "html", "anki"),
        ),
    ] = "md",
    output: OutputOpt = None,
    bank: BankOpt = None,
    lang: LangOpt = None,
):
    """Export a transcript, or a bank as an Anki deck. Examples:
    interviewer export --last --format html -o report.html;  interviewer export --format anki -o deck.apkg"""
    from interviewer.core import open_store
    from interviewer.results.export import FORMATS, render, session_dict

    _choice(fmt, (*FORMATS, "anki"), "--format")
    if fmt == "anki":
        _export_anki(bank, lang, output, session_id or ("--last" if last else None))
        return
    if bank or lang:
        raise InputError("--bank and --lang go with --format anki; a transcript holds its own questions")
    if not session_id and not last:
        raise InputError("give a session id or --last")
    store = open_store(_settings(), write=False)
    sid = store.last_session_id() if last else session_id
    _write_output(render(session_dict(store, sid), fmt), output)


def _export_anki(bank: list[Path] | None, lang: str | None, output: Path | None, session: str | None) -> None:
    """The loaded banks (the shipped one, or --bank) as one Anki package."""
    from interviewer.core import load_questions
    from interviewer.results.anki import write_package

    if session:
        raise InputError(
            f"--format anki exports a bank, not a session: drop {session} (choose the bank with --bank)"
        )
    output = output.expanduser() if output is not None else None
    if output is None or output.suffix.lower() != ".apkg":
        raise InputError("--format anki writes an Anki package: give -o NAME.apkg")
    settings = _settings(lang=lang)
    banks = load_questions(settings, bank).banks
    notes = write_package(banks, output, settings.home)
    names = ", ".join(b.name + (f" ({b.lang})" if b.lang != "zh" else "") for b in banks)
    typer.echo(f"Wrote {output}: {notes} notes from {names}; open it with Anki to review them", err=True)
