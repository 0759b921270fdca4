"""Benchmarks for `interviewer`, in one command:

    python bench/run.py            # writes BENCHMARKS.md and bench/results.json (about 3 minutes)
    python bench/run.py --quick    # fewer runs, for checking the script itself

Every figure is measured in this run beside a baseline measured in the same run, and shown beside its target.
No network: the LLM grader talks to the local OpenAI-protocol server of tests/openai_server.py (bench/serve.py
runs it in its own process), proxies point at a closed local port with only 127.0.0.1 exempt, and every
command gets a fresh INTERVIEWER_HOME in a temporary folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from pathlib import Path
from typing import Any

from batch import bench_batch
from common import BENCH, ROOT, base_env, fresh_home, log, now
from diagnose import diagnose_startup
from grading import bench_overhead
from inputs import answers_path
from litellm_tax import bench_litellm_tax
from local_server import Server
from machine import Noise, machine
from offline import bench_offline
from pipeline import bench_pipeline
from prompt_size import bench_prompt
from report import load_results, render, save_results
from startup import bench_startup
from targets import STARTUP_COMMANDS, TARGETS, missed_targets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer runs and a smaller batch (checks the script)")
    ap.add_argument("--diagnose", action="store_true", help="profile every target, met or missed")
    ap.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    ap.add_argument("--json", type=Path, default=BENCH / "results.json")
    ap.add_argument("--render", action="store_true", help="only rewrite --out from the results in --json")
    args = ap.parse_args()
    if args.render:
        args.out.write_text(render(load_results(args.json)), encoding="utf-8")
        return
    measure(args)


def measure(args: argparse.Namespace) -> None:
    q = args.quick
    started = now()
    noise = Noise()
    if noise.load0[0] > 0.5 * (os.cpu_count() or 1):
        log(f"warning: load average {noise.load0[0]:.2f}; other work on this machine will blur the figures")
    env = base_env(fresh_home())  # in-process parts too: a temporary home, no keys, no way off the machine
    os.environ.clear()
    os.environ.update(env)
    res: dict[str, Any] = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "quick": q,
        "machine": machine(),
        "targets": TARGETS,
    }
    server = Server()
    try:
        log("start-up")
        res["startup"] = bench_startup(server, runs=3 if q else 10)
        log("pipeline")
        res["pipeline"] = bench_pipeline(server, runs=1 if q else 3, practice_runs=1)
        log("batch")
        res["batch"] = bench_batch(server, n=60 if q else 200, n_c1=10 if q else 40, repeats32=1 if q else 3)
        log("grading overhead (in-process)")
        res["overhead"] = bench_overhead(server, n=50 if q else 200, warmup=10)
    finally:
        server.close()
    log("litellm import and teardown")
    res["litellm_tax"] = bench_litellm_tax(runs=1 if q else 3)
    log("offline grader")
    res["offline"] = bench_offline(passes=2 if q else 5)
    log("prompt size")
    res["prompt"] = bench_prompt()

    res["missed"] = missed = missed_targets(res)
    res["diagnostics"] = {}
    startup_missed = list(STARTUP_COMMANDS) if args.diagnose else [k for k in missed if k in STARTUP_COMMANDS]
    res["diagnose_all"] = args.diagnose
    if startup_missed:
        log("diagnosing start-up: " + ", ".join(startup_missed))
        res["diagnostics"]["startup"] = diagnose_startup(startup_missed, answers_path(5))
    res["duration_s"] = now() - started
    res["noise"] = noise.result()
    save_results(args.json, res)
    args.out.write_text(render(res), encoding="utf-8")
    log(
        f"wrote {args.out} and {args.json} in {res['duration_s']:.0f} s; missed: {', '.join(missed) or 'none'}"
    )


if __name__ == "__main__":
    main()
