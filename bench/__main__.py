"""Benchmarks for `interviewer`, from the repository root: `python -m bench` writes BENCHMARKS.md and
bench/results.json (about 4 minutes); `--quick` makes fewer runs, and asserts nothing (CI runs it).

Every figure is measured beside a baseline measured in the same run, and shown beside its target. No network:
the LLM grader talks to the local server of tests/openai_server.py in its own process (bench/server.py),
proxies point at a closed port with only 127.0.0.1 exempt, and each command gets a fresh INTERVIEWER_HOME.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import resource
from pathlib import Path

from . import diagnose, measure
from .common import ROOT, answers_file, base_env, fresh_home, log, now
from .report import TARGETS, missed_keys, render
from .server import Server

PACKAGES = ("interviewer", "typer", "litellm", "openai", "httpx", "pydantic", "tiktoken", "jinja2")


def machine() -> dict:
    info = {}
    for name in ("cpuinfo", "meminfo"):
        with contextlib.suppress(OSError):
            info |= dict(x.split(":", 1) for x in Path(f"/proc/{name}").read_text().splitlines() if ":" in x)
    versions = {}
    for p in PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[p] = importlib.metadata.version(p)
    cpus, mem = (os.cpu_count(), len(os.sched_getaffinity(0))), int(info.get("MemTotal", "0").split()[0])
    cpu = info.get("model name\t", platform.machine()).strip()
    return {"cpu": cpu, "cpus": cpus, "memory_gib": mem / 2**20, "python": platform.python_version(),
            "os": platform.platform(), "packages": versions}  # fmt: skip


def cpu_seconds() -> tuple[float | None, float]:
    """CPU seconds of the whole machine (all but idle and iowait), and of this process and its children."""
    usage = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    mine = sum(u.ru_utime + u.ru_stime for u in usage)
    with contextlib.suppress(OSError, ValueError):
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK"), mine
    return None, mine


def step(label: str, fn, *args):
    log(label)
    return fn(*args)


def run(q: bool, diagnose_all: bool) -> dict:
    started, load0, (busy0, own0) = now(), os.getloadavg(), cpu_seconds()
    if load0[0] > 0.5 * (os.cpu_count() or 1):
        log(f"warning: load average {load0[0]:.2f}; other work on this machine will blur the figures")
    env = base_env(fresh_home())  # for the in-process parts too: a temporary home, no keys, no network
    os.environ.clear()
    os.environ.update(env)
    date = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    res = {"date": date, "quick": q, "machine": machine(), "targets": TARGETS, "diagnose_all": diagnose_all}
    answers5, server = answers_file(5), Server()
    try:
        res["startup"] = step("start-up", measure.startup, server, 3 if q else 10, answers5)
        res["pipeline"] = step("pipeline", measure.pipeline, server, 1 if q else 3)
        res["batch"] = step("batch", measure.batches, server, *((60, 10, 1) if q else (200, 40, 3)))
        res["overhead"] = step("grading overhead, in-process", measure.overhead, server, 50 if q else 200, 10)
    finally:
        server.close()
    res["litellm_tax"] = step("litellm import and teardown", measure.litellm_tax, 1 if q else 3)
    res["offline"] = step("offline grader", measure.offline_grader, 2 if q else 5)
    res["prompt"] = step("prompt size", measure.prompt_size)
    res["scale"] = step("stats and report at scale", measure.scale, (10, 5000), 1 if q else 3)
    res["offline_batch"] = step(
        "offline batch memory", measure.offline_batch, (1000, 10_000 if q else 100_000)
    )
    res["missed"] = missed_keys(res)
    slow = [k for k in diagnose.ARGV if diagnose_all or k in res["missed"]]
    what = f"where the start-up time goes: {', '.join(slow)}"
    res["diagnostics"] = step(what, diagnose.startup, slow, answers5) if slow else {}
    busy1, own1 = cpu_seconds()
    other = None if busy0 is None else max(0.0, (busy1 - busy0) - (own1 - own0))
    res["noise"] = {"loadavg_start": load0, "loadavg_end": os.getloadavg(), "other_cpu_s": other}
    return res | {"duration_s": now() - started}


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__, formatter_class=raw)
    ap.add_argument("--quick", action="store_true", help="fewer runs and a smaller batch")
    ap.add_argument("--diagnose", action="store_true", help="profile every target, met or missed")
    ap.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results.json")
    ap.add_argument("--render", action="store_true", help="only rewrite --out from the results in --json")
    args = ap.parse_args()
    if args.render:
        res = json.loads(args.json.read_text(encoding="utf-8"))
    else:
        res = run(args.quick, args.diagnose)
        args.json.write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    args.out.write_text(render(res), encoding="utf-8")
    log(f"wrote {args.out}; missed: {', '.join(res['missed']) or 'none'}")


if __name__ == "__main__":
    main()
