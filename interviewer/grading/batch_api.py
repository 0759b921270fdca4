"""Provider batch jobs: `grade --batch FILE --via batch-api` sends a run's lines as one OpenAI-format batch (a
JSONL of chat-completion requests uploaded through the files API, then a job of the batches API; half price at the
providers that offer it), records the job, and turns its replies into grades through the same reply parser and
validation as a live grade. `interviewer batch status|wait|fetch JOB`, or the same `grade` command again, polls
and fetches. A request that failed, or that the job did not reach before it expired, comes back ungraded with the
provider's reason; the next run of the command resubmits those lines.

The jobs go through the `openai` SDK's files and batches API, for OpenAI-compatible models (the models the grader
already reaches through that SDK, see `models_for`). litellm's batch API wraps the very same endpoints, but each
call needs its provider and credentials passed again and importing litellm costs 3–4 s; the SDK is the smaller
seam. Other providers are an input error for `--via batch-api`.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from typing import Any

from interviewer.errors import InputError
from interviewer.grading.batch import BatchItem
from interviewer.grading.models import Answer, GraderInfo, non_answer_grade, ungraded
from interviewer.grading.prompt import build_prompt, response_schema
from interviewer.grading.reply import ReplyError, cap_reply, grade_from_reply, parse_reply
from interviewer.grading.signals import has_injection

ENDPOINT = "/v1/chat/completions"
TERMINAL = ("completed", "failed", "expired", "cancelled")


def batch_client(settings):
    """(SDK client, the model's wire name) for the settings' model; an input error for a model the SDK cannot
    reach."""
    from interviewer.grading.models_for import client_for
    from interviewer.grading.openai_chat import OpenAIModel

    if getattr(settings, "deployments", None):
        raise InputError(
            f"--via batch-api sends one job to one endpoint, and profile {settings.profile} has several "
            "deployments; use a profile with one endpoint (or grade live, routed among them)"
        )
    if client_for(settings.model, settings.api_base, getattr(settings, "client", None) or "auto") != "openai":
        raise InputError(
            f"--via batch-api takes OpenAI-compatible models (openai/<model>, or a server at --api-base), "
            f"not {settings.model!r}"
        )
    model = OpenAIModel(settings.model, settings.api_base, settings.api_key, settings.timeout)
    return model._get_client(), model.wire_model


def _custom_id(line: int) -> str:
    return f"line-{line}"


def _line_of(custom_id: str) -> int | None:
    head, _, n = str(custom_id).partition("-")
    return int(n) if head == "line" and n.isdigit() else None


def _emit_id(item: BatchItem, grade) -> dict[str, Any]:
    return ({"id": item.id} if item.id is not None else {}) | grade.to_dict()


def submit(store, run_id: int, items: Iterable[BatchItem], settings, client, wire_model: str) -> str | None:
    """One job with every line of the run not graded and not waiting in a job (an empty or "don't know" answer
    is graded at once, without a request). Returns the job id, or None when there was nothing to send."""
    home = settings.home
    fd, tmp = tempfile.mkstemp(prefix="interviewer-batch-", suffix=".jsonl")
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for item in items:
                row = store.batch_line(run_id, item.line)
                if row is not None and row[0] in ("graded", "submitted"):
                    continue
                if not Answer(item.answer).parts:
                    grade = non_answer_grade(item.question.id, item.rubric, item.answer, kind="llm")
                    store.save_batch_line(run_id, item.line, "graded", _emit_id(item, grade))
                    continue
                q = item.question
                prompt = build_prompt(q.id, q.text, q.hint, item.rubric, item.answer, home=home)
                schema = {"name": "grade", "schema": response_schema(item.rubric), "strict": True}
                body = {
                    "model": wire_model,
                    "messages": prompt.messages,
                    "temperature": 0,
                    "response_format": {"type": "json_schema", "json_schema": schema},
                }
                request = {
                    "custom_id": _custom_id(item.line),
                    "method": "POST",
                    "url": ENDPOINT,
                    "body": body,
                }
                f.write(json.dumps(request, ensure_ascii=False) + "\n")
                count += 1
        if not count:
            return None
        with open(tmp, "rb") as f:
            uploaded = client.files.create(file=("batch.jsonl", f), purpose="batch")
        job = client.batches.create(input_file_id=uploaded.id, endpoint=ENDPOINT, completion_window="24h")
        info = {"model": settings.model, "input_file_id": uploaded.id, "fetched": False}
        store.add_batch_job(job.id, run_id, job.status, count, info)
        with open(tmp, encoding="utf-8") as f:
            for raw in f:
                request = json.loads(raw)
                kept = {
                    "messages": request["body"]["messages"]
                }  # the prompt sent, for the grade's provenance
                store.save_batch_line(run_id, _line_of(request["custom_id"]), "submitted", kept, job.id)
        return job.id
    finally:
        os.unlink(tmp)


def refresh(store, job_id: str, client) -> dict[str, Any]:
    """The provider's view of the job, recorded; the job as stored."""
    job = store.batch_job(job_id)
    if job is None:
        raise InputError(
            f"no batch job {job_id!r} in this database; see the ids printed by 'grade --via batch-api'"
        )
    if job["status"] in TERMINAL:
        return job
    remote = client.batches.retrieve(job_id)
    counts = getattr(remote, "request_counts", None)
    info = job["info"] | {
        "output_file_id": remote.output_file_id,
        "error_file_id": remote.error_file_id,
        "request_counts": counts.model_dump() if hasattr(counts, "model_dump") else None,
    }
    store.update_batch_job(job_id, remote.status, info)
    return store.batch_job(job_id)


def _file_lines(client, file_id: str | None) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    if not file_id:
        return out
    for raw in client.files.content(file_id).text.splitlines():
        if raw.strip():
            obj = json.loads(raw)
            line = _line_of(obj.get("custom_id"))
            if line is not None:
                out[line] = obj
    return out


def _price(model: str, prompt: int, completion: int) -> float | None:
    from interviewer.grading.batch_run import rates

    found = rates(model, batch_api=True)
    return round(prompt * found[0] + completion * found[1], 8) or None if found else None


def fetch(store, job_id: str, items: Iterable[BatchItem], settings, client) -> int:
    """The replies of a finished job as grades, stored in its run: parsed and validated as a live grade's; a
    failed or expired request is ungraded with its reason. Returns how many lines it settled."""
    job = store.batch_job(job_id)
    info = job["info"]
    if info.get("fetched") or job["status"] not in TERMINAL:
        return 0
    replies = _file_lines(client, info.get("output_file_id"))
    errors = _file_lines(client, info.get("error_file_id"))
    from interviewer.grading.prompt import prompt_version

    version = prompt_version(settings.home)
    settled = 0
    for item in items:
        row = store.batch_line(job["run_id"], item.line)
        if row is None or row[0] != "submitted" or row[1] != job_id:
            continue
        kept = row[2] or {}
        grader = GraderInfo(
            kind="llm", model=info["model"], prompt_version=version, rubric_version=item.rubric.version_tag
        )
        reply_text = None
        reply = replies.get(item.line)
        response = (reply or {}).get("response") or {}
        if reply and response.get("status_code") == 200:
            body = response.get("body") or {}
            usage = body.get("usage") or {}
            grader.prompt_tokens = usage.get("prompt_tokens")
            grader.completion_tokens = usage.get("completion_tokens")
            grader.cost_usd = _price(info["model"], grader.prompt_tokens or 0, grader.completion_tokens or 0)
            try:
                reply_text = body["choices"][0]["message"]["content"]
                if not isinstance(reply_text, str):
                    raise ReplyError("the reply's message has no content")
                parsed = parse_reply(reply_text, item.rubric)
            except (KeyError, IndexError, TypeError):
                grade = ungraded(item.question.id, "bad_reply: the reply has no choices", grader)
            except ReplyError as exc:
                grade = ungraded(item.question.id, f"bad_reply: {exc}", grader)
            else:
                injection = has_injection(item.answer)
                grade = grade_from_reply(
                    item.question.id, item.rubric, parsed, grader, injection_in_text=injection
                )
        else:
            error = (errors.get(item.line) or reply or {}).get("error") or {}
            if reply and not error:
                error = {
                    "code": f"http_{response.get('status_code')}",
                    "message": str(response.get("body"))[:200],
                }
            if not error:
                error = {
                    "code": f"batch_{job['status']}",
                    "message": f"the job {job['status']} without this line",
                }
            why = f"batch: {error.get('code')}: {error.get('message')} — the next run resubmits it"
            grade = ungraded(item.question.id, why, grader)
        grade.extra["provenance"] = {
            "messages": kept.get("messages"),
            "reply": None if reply_text is None else cap_reply(reply_text),
            "mode": "schema",
            "batch_job": job_id,
        }
        store.save_batch_line(job["run_id"], item.line, grade.status, _emit_id(item, grade), job_id)
        settled += 1
    store.update_batch_job(job_id, job["status"], info | {"fetched": True})
    return settled
