"""Provider batch jobs: `interviewer batch status|wait|fetch JOB`, and the `grade --batch FILE --via batch-api`
run behind them (see `grading.batch_api`). Exit 0 when every line of the job's run is graded, 3 when some are
ungraded or still waiting in a job."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from interviewer.cli.common import BaseOpt, Commands, ModelOpt, _print_json, _settings
from interviewer.errors import ExitCode, InputError

batch_app = Commands(
    help="Provider batch jobs of 'grade --batch FILE --via batch-api'.", no_args_is_help=True
)

JobArg = Annotated[str, typer.Argument(help="The job id printed by 'grade --batch FILE --via batch-api'.")]


def _items(store, run, questions, settings):
    from interviewer.grading.batch import iter_batch
    from interviewer.grading.batch_run import fingerprint

    path = Path(run["path"])
    if not path.is_file() or fingerprint(path) != run["fingerprint"]:
        raise InputError(
            f"{path}: the batch's input file is gone or changed; the job's lines cannot be matched"
        )
    return lambda: iter_batch(path, questions, settings.home)


def _emit_run(store, run_id: int) -> int:
    """Every line of the run that has an outcome, in input order; the exit code."""
    ungraded = waiting = graded = 0
    for _, status, out in store.batch_outputs(run_id):
        if status == "submitted":
            waiting += 1
            continue
        graded += status == "graded"
        ungraded += status != "graded"
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    tokens = cost = 0
    for _, _status, out in store.batch_outputs(run_id):
        info = (out or {}).get("grader") or {}
        tokens += info.get("prompt_tokens") or 0
        cost += info.get("cost_usd") or 0.0
    typer.echo(
        f"batch run {run_id}: {graded} graded, {ungraded} ungraded, {waiting} waiting; "
        f"{tokens:,} prompt tokens, ${cost:.4f} at the batch price",
        err=True,
    )
    return int(ExitCode.OK if not ungraded and not waiting else ExitCode.PARTIAL)


def run_via_batch_api(store, run_id: int, path: Path, questions, settings) -> None:
    """`grade --batch FILE --via batch-api`: settle the run's finished jobs, submit what is left when no job is
    pending, and print the whole run's grades once nothing is waiting."""
    from interviewer.grading.batch import iter_batch
    from interviewer.grading.batch_api import TERMINAL, batch_client, fetch, refresh, submit

    client, wire = batch_client(settings)
    items = lambda: iter_batch(path, questions, settings.home)  # noqa: E731
    fetched = pending = 0
    for job in store.batch_jobs(run_id):
        job = refresh(store, job["id"], client)
        if job["status"] in TERMINAL:
            fetched += fetch(store, job["id"], items(), settings, client)
        else:
            pending += 1
    if not pending and not fetched:
        job_id = submit(store, run_id, items(), settings, client, wire)
        if job_id:
            typer.echo(
                f"submitted batch job {job_id}; check it with 'interviewer batch wait {job_id}'", err=True
            )
            raise typer.Exit(ExitCode.PARTIAL)
    if pending:
        typer.echo(
            f"batch run {run_id}: {pending} job(s) still running; 'interviewer batch wait JOB'", err=True
        )
        raise typer.Exit(ExitCode.PARTIAL)
    store.finish_batch_run(run_id)
    raise typer.Exit(_emit_run(store, run_id))


def _job_and_client(job_id: str, model: str | None, api_base: str | None):
    from interviewer.core import load_questions, open_store
    from interviewer.grading.batch_api import batch_client

    store = open_store(_settings())
    job = store.batch_job(job_id)
    if job is None:
        raise InputError(f"no batch job {job_id!r} in this database")
    settings = _settings(model=model or job["info"]["model"], api_base=api_base)
    client, _ = batch_client(settings)
    return store, job, client, settings, load_questions(settings)


@batch_app.command()
def status(job: JobArg, model: ModelOpt = None, api_base: BaseOpt = None):
    """The job's state at the provider: status and request counts. Example: interviewer batch status batch_abc123"""
    from interviewer.grading.batch_api import refresh

    store, _, client, _, _ = _job_and_client(job, model, api_base)
    j = refresh(store, job, client)
    _print_json(
        {"id": j["id"], "run": j["run_id"], "status": j["status"], "lines": j["lines"]}
        | {"request_counts": j["info"].get("request_counts")}
    )


@batch_app.command()
def fetch(job: JobArg, model: ModelOpt = None, api_base: BaseOpt = None):
    """Retrieve a finished job's replies as grades and print its run's grades in input order.
    Example: interviewer batch fetch batch_abc123 > grades.jsonl"""
    from interviewer.grading.batch_api import TERMINAL, refresh
    from interviewer.grading.batch_api import fetch as settle

    store, _, client, settings, questions = _job_and_client(job, model, api_base)
    j = refresh(store, job, client)
    if j["status"] not in TERMINAL:
        typer.echo(f"job {job} is {j['status']}; 'interviewer batch wait {job}' waits for it", err=True)
        raise typer.Exit(ExitCode.PARTIAL)
    run = store.batch_run_by_id(j["run_id"])
    settle(store, job, _items(store, run, questions, settings)(), settings, client)
    raise typer.Exit(_emit_run(store, j["run_id"]))


@batch_app.command()
def wait(
    job: JobArg,
    interval: Annotated[float, typer.Option("--interval", min=0.0, help="Seconds between polls.")] = 30.0,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.0, help="Give up after this many seconds.")
    ] = 86400.0,
    model: ModelOpt = None,
    api_base: BaseOpt = None,
):
    """Poll the job until it finishes, then fetch it (as `fetch`). Example: interviewer batch wait batch_abc123"""
    from interviewer.grading.batch_api import TERMINAL, refresh
    from interviewer.grading.batch_run import JobProgress

    store, _, client, _, _ = _job_and_client(job, model, api_base)
    deadline = time.monotonic() + timeout
    with JobProgress("job", sys.stderr) as progress:  # drawn on a terminal only
        while True:
            j = refresh(store, job, client)
            progress.update(j["status"], j["info"].get("request_counts"))
            if j["status"] in TERMINAL or time.monotonic() > deadline:
                break
            time.sleep(interval)
    if j["status"] not in TERMINAL:
        typer.echo(f"job {job} has not finished after {timeout:g} s", err=True)
        raise typer.Exit(ExitCode.PARTIAL)
    fetch(job, model, api_base)
