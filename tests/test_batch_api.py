"""`grade --batch FILE --via batch-api` and `interviewer batch status|wait|fetch JOB` against the local server's
files and batches endpoints: a completed job, one that fails part-way, one that expires, and resubmission."""

from __future__ import annotations

import json

from test_batch_runs import batch_file


def submit(cli, f):
    r = cli("grade", "--batch", str(f), "--grader", "llm", "--via", "batch-api")
    assert r.exit_code == 3, r  # submitted: nothing graded yet
    assert r.stdout == ""
    return r.stderr.split("submitted batch job ")[1].split(";")[0]


def test_a_completed_job_end_to_end(tmp_path, llm_env, cli):
    f = batch_file(tmp_path, 3, extra=[{"id": "dk", "question_id": "2.1", "answer": "不知道"}])
    job = submit(cli, f)
    assert [r["path"] for r in llm_env.requests] == ["/v1/files", "/v1/batches"]
    uploaded = llm_env.batches.jobs[job]["input"]
    assert [x["custom_id"] for x in uploaded] == ["line-1", "line-2", "line-3"]  # "don't know": no request
    assert uploaded[0]["body"]["response_format"]["type"] == "json_schema"

    s = json.loads(cli("batch", "status", job).stdout)
    assert s["status"] == "in_progress" and s["lines"] == 3
    r = cli("batch", "wait", job, "--interval", "0")
    assert r.exit_code == 0, r
    out = r.json_lines()
    assert [o["id"] for o in out] == [0, 1, 2, "dk"]
    assert all(o["status"] == "graded" for o in out)
    assert out[0]["grader"]["prompt_tokens"] == 300 and out[0]["provenance"]["batch_job"] == job
    assert out[0]["provenance"]["messages"][0]["role"] == "system"
    assert not any(r["path"].endswith("/chat/completions") for r in llm_env.requests)

    again = cli("grade", "--batch", str(f), "--grader", "llm", "--via", "batch-api")  # a re-run: the grades
    assert again.exit_code == 0 and again.json_lines() == out


def test_a_job_that_fails_part_way_then_resubmits_the_failed_lines(tmp_path, llm_env, cli):
    llm_env.batches.outcome = ("failed_after", 2)
    f = batch_file(tmp_path, 4)
    job = submit(cli, f)
    r = cli("batch", "wait", job, "--interval", "0")
    assert r.exit_code == 3, r
    out = r.json_lines()
    assert [o["status"] for o in out] == ["graded", "graded", "ungraded", "ungraded"]
    assert "server_error" in out[2]["error"] and "resubmit" in out[2]["error"]

    llm_env.batches.outcome = "completed"
    job2 = submit(cli, f)  # the two failed lines only
    assert job2 != job and [x["custom_id"] for x in llm_env.batches.jobs[job2]["input"]] == [
        "line-3",
        "line-4",
    ]
    r = cli("batch", "fetch", job2)
    assert r.exit_code == 3  # still in progress at the first poll
    r = cli("batch", "fetch", job2)
    assert r.exit_code == 0, r
    assert [o["id"] for o in r.json_lines()] == [0, 1, 2, 3]
    assert all(o["status"] == "graded" for o in r.json_lines())


def test_an_expired_job_leaves_the_rest_ungraded_with_the_reason(tmp_path, llm_env, cli):
    llm_env.batches.outcome = ("expired_after", 1)
    llm_env.batches.polls = 0
    f = batch_file(tmp_path, 3)
    job = submit(cli, f)
    r = cli(
        "grade", "--batch", str(f), "--grader", "llm", "--via", "batch-api"
    )  # the re-run polls and fetches
    assert r.exit_code == 3, r
    out = r.json_lines()
    assert [o["status"] for o in out] == ["graded", "ungraded", "ungraded"]
    assert "batch_expired" in out[1]["error"]
    assert json.loads(cli("batch", "status", job).stdout)["status"] == "expired"


def test_batch_api_needs_an_openai_compatible_model(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_MODEL", "anthropic/claude-3-5-haiku-latest")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "x")
    r = cli("grade", "--batch", str(batch_file(tmp_path, 1)), "--via", "batch-api")
    assert r.exit_code == 2 and "OpenAI-compatible" in r.stderr


def test_dry_run_via_the_batch_api_uses_the_batch_price(tmp_path, llm_env, cli, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_MODEL", "openai/gpt-4o-mini")
    f = batch_file(tmp_path, 4)
    live = json.loads(cli("grade", "--batch", str(f), "--grader", "llm", "--dry-run", "--json").stdout)
    half = cli("grade", "--batch", str(f), "--grader", "llm", "--dry-run", "--json", "--via", "batch-api")
    est = json.loads(half.stdout)
    assert "batch price" in est["priced_as"] and abs(est["cost_usd"] - live["cost_usd"] / 2) < 1e-6
    assert llm_env.requests == []


def test_job_progress_counts_the_providers_requests_and_its_rate_since_the_wait_began():
    import io

    from interviewer.grading.batch_run import JobProgress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    now = [0.0]
    tty = Terminal()
    with JobProgress("job", tty, clock=lambda: now[0]) as p:
        p.update("validating", {"total": 0})  # not counted yet: nothing drawn
        assert p.total is None
        p.update("in_progress", {"total": 100, "completed": 40, "failed": 0})
        now[0] = 10.0
        p.update("in_progress", {"total": 100, "completed": 58, "failed": 2})
        assert (p.done, p.graded, p.ungraded, p.resumed) == (60, 58, 2, 40)
        p.stop.set()
        with p.lock:
            p._draw()
    drawn = tty.getvalue()
    assert "job in_progress 60/100" in drawn and "graded 58  ungraded 2" in drawn
    assert "2.0/s" in drawn  # the 20 done since the wait began, in 10 s; not the 40 done before


def test_batch_wait_shows_the_jobs_progress_in_a_terminal(tmp_path, llm_env, cli, home):
    import sys

    from test_progressbar import finished, spawn

    llm_env.batches.polls = 4
    job = submit(cli, batch_file(tmp_path, 8))
    out = tmp_path / "grades.jsonl"
    child = spawn(
        home,
        f"{sys.executable} -m interviewer batch wait {job} --interval 0.2 > {out}",
        INTERVIEWER_MODEL="openai/fake-model",
        INTERVIEWER_API_BASE=llm_env.base_url,
    )
    child.expect(r"job in_progress [1-7]/8 [█░]+ +\d+%  graded \d  ungraded 0")
    child.expect(r"job completed 8/8 in \d+:\d\d")
    finished(child)
    assert len(out.read_text().splitlines()) == 8
