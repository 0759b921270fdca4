"""3. `interviewer grade --batch` with the LLM grader at 0.5 s server latency, at concurrency 32, 8 and 1."""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict

from common import MODEL, TMP, Proc, base_env, cli_path, fresh_home, log, run_proc
from inputs import answer_300, seed_questions, write_jsonl
from local_server import Server, request_span


def run_record(r: Proc, reqs: list[tuple[float, float]], conc: int, count: int, latency: float) -> dict:
    """The figures of one batch run, from the process and the server's log of its requests."""
    first, last = request_span(reqs)
    ideal = count * latency / conc
    starts = sorted(s for s, _ in reqs)
    # how far apart the requests of one round reach the server: the first round, then the later ones
    spreads = [g[-1] - g[0] for g in (starts[i : i + conc] for i in range(0, count, conc)) if len(g) > 1]
    return {
        "concurrency": conc,
        "n": count,
        "wall_s": r.wall,
        "grading_span_s": last - first,
        "first_request_at_s": first - r.t0,
        "ideal_s": ideal,
        "rounds_floor_s": math.ceil(count / conc) * latency,
        "throughput_per_s": count / r.wall,
        "grading_throughput_per_s": count / (last - first),
        "ideal_throughput_per_s": count / ideal,
        "efficiency_end_to_end": ideal / r.wall,
        "efficiency_grading": ideal / (last - first),
        "rss_kb": r.rss_kb,
        "cpu_s": r.cpu_s,
        "first_round_spread_s": spreads[0] if spreads else 0.0,
        "later_round_spread_s": statistics.median(spreads[1:]) if len(spreads) > 1 else 0.0,
    }


def bench_batch(server: Server, n: int, n_c1: int, repeats32: int) -> dict:
    cli = cli_path()
    latency = 0.5
    server.latency(latency)
    qids = [q.id for q in seed_questions()]
    text = answer_300()
    results = []
    for conc, count, reps in ((32, n, repeats32), (8, n, 1), (1, n_c1, 1)):
        path = write_jsonl(
            TMP / f"batch{count}.jsonl",
            [{"id": i, "question_id": qids[i % len(qids)], "answer": text} for i in range(count)],
        )
        for _ in range(reps):
            env = base_env(fresh_home())
            cmd = [cli, "grade", "--batch", str(path), "--grader", "llm", "--model", MODEL]
            cmd += ["--api-base", server.url, "--concurrency", str(conc)]
            r = run_proc(cmd, env).check()
            reqs = server.log()
            lines = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
            graded = sum(1 for x in lines if x.get("status") == "graded")
            if graded != count or len(reqs) != count:
                raise RuntimeError(f"batch c={conc}: {graded}/{count} graded, {len(reqs)} requests")
            x = run_record(r, reqs, conc, count, latency)
            results.append(x)
            log(f"  batch c={conc} n={count}: {r.wall:.2f} s wall, {x['grading_span_s']:.2f} s grading")
    server.latency(0.0)
    by_c: dict[int, list[dict]] = defaultdict(list)
    for x in results:
        by_c[x["concurrency"]].append(x)
    # the median run (by wall time) of each concurrency
    summary = {c: sorted(xs, key=lambda x: x["wall_s"])[len(xs) // 2] for c, xs in by_c.items()}
    return {"latency_s": latency, "runs": results, "summary": summary}
