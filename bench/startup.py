"""1. Start-up and peak memory of the CLI's commands, against `python -c "import typer"`."""

from __future__ import annotations

import statistics
from typing import Any

from common import PY, base_env, cli_path, fresh_home, llm_env, run_proc, ungraded
from inputs import answers_file
from local_server import Server

MARKER = b"Question 1/"


def bench_startup(server: Server, runs: int) -> dict:
    cli = cli_path()
    answers5 = answers_file(5)
    cases = {
        # name: (command, marker, LLM grader set); the LLM case is stopped once the question is shown
        "baseline": ([PY, "-c", "import typer"], None, False),
        "help": ([cli, "--help"], None, False),
        "bank_list": ([cli, "bank", "list"], None, False),
        "first_question": ([cli, "start", "--answers", str(answers5)], MARKER, False),
        "first_question_llm": ([cli, "start", "--answers", str(answers5)], MARKER, True),
    }
    samples: dict[str, list[dict]] = {k: [] for k in cases}
    for rnd in range(runs + 1):  # round 0 is a warm-up (file cache, .pyc), not kept
        for name, (cmd, mark, use_llm) in cases.items():
            home = fresh_home()
            env = llm_env(home, server.url) if use_llm else base_env(home)
            r = run_proc(cmd, env, mark, kill_at_marker=use_llm)
            if not use_llm:
                r.check()
            if mark is not None and r.marker_at is None:
                raise RuntimeError(f"{name}: 'Question 1/' never appeared on stdout")
            if name == "first_question" and ("Question 5/5" not in r.stdout or ungraded(r.stdout)):
                raise RuntimeError(f"{name}: the session did not ask and grade all 5:\n{r.stdout[-800:]}")
            if rnd:
                t = r.marker_at if mark is not None else r.wall
                samples[name].append({"t": t, "wall": r.wall, "rss_kb": r.rss_kb})
        server.log()
    out: dict[str, Any] = {"runs": runs, "samples": samples, "cli": cli}
    base = [s["t"] for s in samples["baseline"]]
    for name in cases:
        ts = [s["t"] for s in samples[name]]
        paired = [a - b for a, b in zip(ts, base, strict=True)]
        out[name] = {
            "median_s": statistics.median(ts),
            "min_s": min(ts),
            "max_s": max(ts),
            "minus_baseline_s": statistics.median(paired),  # median of per-round differences
            "ratio": statistics.median(ts) / statistics.median(base),
            "rss_median_kb": statistics.median(s["rss_kb"] for s in samples[name]),
            "wall_median_s": statistics.median(s["wall"] for s in samples[name]),
        }
    return out
