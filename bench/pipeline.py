"""2. A whole scripted session with the LLM grader at 1 s server latency: 10 questions against 1."""

from __future__ import annotations

from collections import defaultdict

from common import cli_path, fresh_home, llm_env, medians, run_proc, ungraded
from inputs import answers_file
from local_server import Server, request_span


def session_concurrency() -> int | None:
    """The session's default number of grades in flight, if the project says."""
    try:
        from interviewer.config import FIELDS

        return FIELDS["concurrency"][1]
    except (ImportError, KeyError, IndexError):
        return None


def bench_pipeline(server: Server, runs: int, practice_runs: int) -> dict:
    cli = cli_path()
    latency = 1.0
    server.latency(latency)
    files = {10: answers_file(10), 1: answers_file(1)}
    plan = [("interview_10", "interview", 10)] * runs + [("interview_1", "interview", 1)] * runs
    # interleave the two interview cases, practice (10+ s a run) last
    order = [x for pair in zip(plan[:runs], plan[runs:], strict=True) for x in pair]
    order += [("practice_10", "practice", 10)] * practice_runs
    samples: dict[str, list[dict]] = defaultdict(list)
    server.log()
    for name, mode, n in order:
        env = llm_env(fresh_home(), server.url)
        r = run_proc([cli, "start", "--mode", mode, "--answers", str(files[n])], env).check()
        reqs = server.log()
        if ungraded(r.stdout) or len(reqs) != n:
            raise RuntimeError(f"{name}: expected {n} graded answers and {n} requests, got {len(reqs)}")
        first, last = request_span(reqs)
        samples[name].append(
            {
                "wall": r.wall,
                "first_request_at": first - r.t0,
                "last_reply_at": last - r.t0,
                "exit_after_last_reply": r.end - last,
                "rss_kb": r.rss_kb,
            }
        )
    server.latency(0.0)
    med = {k: medians(v) for k, v in samples.items()}
    return {
        "latency_s": latency,
        "runs": runs,
        "practice_runs": practice_runs,
        "session_concurrency": session_concurrency(),
        "samples": dict(samples),
        "median": med,
        "interview10_minus_interview1_s": med["interview_10"]["wall"] - med["interview_1"]["wall"],
        "practice10_minus_interview1_s": med["practice_10"]["wall"] - med["interview_1"]["wall"],
    }
