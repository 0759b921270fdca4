"""The figures. As processes: start-up against `python -c "import typer"`, litellm's fixed cost, whole
scripted sessions with the LLM grader (the pipeline), `grade --batch` against the ideal, and `stats` and
`report` over 10 and 5,000 sessions. In-process: the LLM grader's overhead per grade beyond the server's
handling against the bare OpenAI SDK and httpx, the offline grader's speed, and the prompt's size."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.util
import json
import math
import os
import re
import sqlite3
import statistics
from collections import defaultdict
from pathlib import Path
from unittest import mock

import httpx
import openai

from interviewer import config, core, store
from interviewer.content import bank, rubric
from interviewer.grading import batch, llm, models, offline, prompt
from interviewer.practice import engine

from . import common as c
from . import diagnose
from .server import request_span


def seed_questions() -> list:
    return list(bank.load_bank(c.ROOT / "bank" / "llm-basics.md").questions)


def calibration_items() -> list:
    settings = config.load_settings()
    questions = core.load_questions(settings)
    return [item for item, _, _ in batch.read_calibration(c.CALIBRATION, questions, settings.home)]


def startup(server, runs: int, answers5: Path) -> dict:
    """Each command's time to exit (or to the first question), round by round after a warm-up round."""
    cli, mark, start = c.cli_path(), b"Question 1/", ["start", "--answers", str(answers5)]
    cases = {  # name: (command, marker, LLM grader set); the LLM case is stopped once the question is shown
        "baseline": ([c.PY, "-c", "import typer"], None, False), "help": ([cli, "--help"], None, False),
        "bank_list": ([cli, "bank", "list"], None, False), "first_question": ([cli, *start], mark, False),
        "first_question_llm": ([cli, *start], mark, True),
    }  # fmt: skip
    samples: dict[str, list[dict]] = {k: [] for k in cases}
    for rnd in range(runs + 1):
        for name, (cmd, marker, use_llm) in cases.items():
            env = c.llm_env(c.fresh_home(), server.url) if use_llm else c.base_env(c.fresh_home())
            r = c.run(cmd, env, marker, kill_at_marker=use_llm, check=not use_llm)
            if marker is not None and r.marker_at is None:
                raise RuntimeError(f"{name}: 'Question 1/' never appeared on stdout")
            if name == "first_question" and ("Question 5/5" not in r.stdout or c.ungraded(r.stdout)):
                raise RuntimeError(f"{name}: the session did not ask and grade all 5:\n{r.stdout[-800:]}")
            if rnd:
                samples[name].append({"t": r.marker_at or r.wall, "wall": r.wall, "rss_kb": r.rss_kb or 0})
        server.log()
    base, out = [s["t"] for s in samples["baseline"]], {"runs": runs, "cli": cli, "samples": samples}
    for name, xs in samples.items():
        ts, med = [s["t"] for s in xs], c.medians(xs)
        diff = statistics.median(a - b for a, b in zip(ts, base, strict=True))  # of the per-round differences
        out[name] = {"median_s": med["t"], "min_s": min(ts), "max_s": max(ts), "minus_baseline_s": diff,
                     "rss_median_kb": med["rss_kb"], "wall_median_s": med["wall"]}  # fmt: skip
    return out


TAX = """import atexit, time
T = lambda: time.clock_gettime(time.CLOCK_MONOTONIC)
atexit.register(lambda: print("ATEXIT", T(), flush=True))  # registered first, so it runs last
t = T()
import litellm
print("IMPORTED", t, T(), flush=True)"""


def litellm_tax(runs: int) -> dict:
    """A bare `import litellm` in a fresh interpreter: the import, and the teardown after the last atexit."""
    samples = []
    for _ in range(runs):
        r = c.run([c.PY, "-c", TAX], c.base_env(c.fresh_home()))
        v = {ln.split()[0]: [float(x) for x in ln.split()[1:]] for ln in r.stdout.splitlines()}
        samples.append({"wall_s": r.wall, "import_s": v["IMPORTED"][1] - v["IMPORTED"][0], "cpu_s": r.cpu_s,
                        "teardown_s": r.end - v["ATEXIT"][0], "rss_kb": r.rss_kb})  # fmt: skip
    return {"runs": runs} | c.medians(samples)


def pipeline(server, runs: int) -> dict:
    """`start --mode M --answers FILE` at 1 s latency: 10 answers against 1, taking turns; then practice."""
    cli, files, samples = c.cli_path(), {10: c.answers_file(10), 1: c.answers_file(1)}, defaultdict(list)
    server.latency(1.0)
    server.log()
    plan = [("interview_10", "interview", 10), ("interview_1", "interview", 1)] * runs
    for name, mode, n in [*plan, ("practice_10", "practice", 10)]:
        cmd = [cli, "start", "--mode", mode, "--answers", str(files[n])]
        r = c.run(cmd, c.llm_env(c.fresh_home(), server.url))
        # one request checks the model before the first question (`INTERVIEWER_CHECK`), then one per answer
        if c.ungraded(r.stdout) or len(reqs := server.log()) != n + 1:
            raise RuntimeError(f"{name}: expected {n} graded answers and {n + 1} requests, got {len(reqs)}")
        first, last = request_span(reqs[1:])
        samples[name].append({"wall": r.wall, "first_request_at": first - r.t0, "last_reply_at": last - r.t0,
                              "exit_after_last_reply": r.end - last, "rss_kb": r.rss_kb})  # fmt: skip
    server.latency(0.0)
    med = {k: c.medians(v) for k, v in samples.items()}
    conc = config.FIELDS["concurrency"][1]
    return {"latency_s": 1.0, "runs": runs, "session_concurrency": conc, "median": med}


def batches(server, n: int, n_c1: int, repeats32: int) -> dict:
    """`grade --batch FILE --grader llm` at 0.5 s latency, concurrency 32, 8 and 1; the median run of each."""
    cli, latency, qids, text, runs = c.cli_path(), 0.5, [q.id for q in seed_questions()], c.answer_300(), []
    server.latency(latency)
    for conc, count, reps in ((32, n, repeats32), (8, n, 1), (1, n_c1, 1)):
        rows = [{"id": i, "question_id": qids[i % len(qids)], "answer": text} for i in range(count)]
        path = c.write_jsonl(c.TMP / f"batch{count}.jsonl", rows)
        cmd = [cli, "grade", "--batch", str(path), "--grader", "llm", "--model", c.MODEL, "--api-base"]
        for _ in range(reps):
            r = c.run([*cmd, server.url, "--concurrency", str(conc)], c.base_env(c.fresh_home()))
            graded = sum(json.loads(x).get("status") == "graded" for x in r.stdout.splitlines() if x.strip())
            if graded != count or len(reqs := server.log()) != count:
                raise RuntimeError(f"batch c={conc}: {graded}/{count} graded, {len(reqs)} requests")
            (first, last), ideal = request_span(reqs), count * latency / conc
            runs.append({
                "concurrency": conc, "n": count, "wall_s": r.wall, "grading_span_s": last - first,
                "first_request_at_s": first - r.t0, "exit_after_last_reply_s": r.end - last, "ideal_s": ideal,
                "rounds_floor_s": math.ceil(count / conc) * latency, "cpu_s": r.cpu_s, "rss_kb": r.rss_kb,
                "efficiency_end_to_end": ideal / r.wall, "efficiency_grading": ideal / (last - first),
            })  # fmt: skip
            c.log(f"  batch c={conc} n={count}: {r.wall:.2f} s wall, {last - first:.2f} s grading")
    server.latency(0.0)
    by_c = defaultdict(list)
    for x in runs:
        by_c[str(x["concurrency"])].append(x)
    summary = {k: sorted(xs, key=lambda x: x["wall_s"])[len(xs) // 2] for k, xs in by_c.items()}
    return {"latency_s": latency, "runs": runs, "summary": summary}


def net_of_server(server, call, n: int, warmup: int) -> tuple[list, list, list, list]:
    """n calls after `warmup`: each one's wall time, the server's handling of its request, the wall time less
    that (in ms), and the results."""
    for i in range(warmup):
        call(i)
    server.log()
    times, results = c.time_calls(call, n)
    if len(srv := sorted(server.log())) != n:
        raise RuntimeError(f"expected {n} server requests, got {len(srv)} (a retry or a stray request)")
    raw, srv_ms = [t * 1000 for t in times], [(e - s) * 1000 for s, e in srv]
    return raw, srv_ms, [t - s for t, s in zip(raw, srv_ms, strict=True)], results


def overhead(server, n: int, warmup: int) -> dict:
    """The LLM grader `--grader llm` makes, in-process at 0 latency; the same request through the bare OpenAI
    SDK and httpx."""
    home, text = Path(os.environ["INTERVIEWER_HOME"]), c.answer_300()
    items = [(q, rubric.rubric_for(q, home)) for q in seed_questions()]
    with mock.patch.dict(os.environ, c.llm_env(home, server.url)):
        grader = llm.make(config.load_settings())
    grade = lambda i: grader.grade(*items[i % len(items)], models.Answer(text))  # noqa: E731
    t = c.now()
    assert grade(0).status == "graded"
    first_s = c.now() - t  # includes importing litellm
    raw, srv, net, grades = net_of_server(server, grade, n, warmup)
    if bad := [g.error for g in grades if g.status != "graded"]:
        raise RuntimeError(f"{len(bad)} grades not graded: {bad[0]}")
    q, rb = items[0]
    p, schema = prompt.build_prompt(q.id, q.text, q.hint, rb, text, home=home), prompt.response_schema(rb)
    body = {"model": "fake-model", "temperature": 0, "messages": [{"role": "system", "content": p.system},
            {"role": "user", "content": p.user}], "response_format": {"type": "json_schema",
            "json_schema": {"name": "grade", "schema": schema, "strict": True}}}  # fmt: skip
    sdk = openai.OpenAI(base_url=server.url, api_key="bench", max_retries=0, timeout=30)
    base = {"openai_sdk": c.p50_p95(net_of_server(server, lambda _: sdk.chat.completions.create(**body),
                                                  n, warmup)[2])}  # fmt: skip
    for name, nagle, calls, warm in (("httpx", False, n, warmup), ("httpx_nagle_on", True, 20, 3)):
        server.nagle(nagle)  # on: each reply's body waits for the client's delayed ACK
        with httpx.Client(base_url=server.url, timeout=30) as hx:
            post = lambda _: hx.post("/chat/completions", json=body).raise_for_status()  # noqa: E731, B023
            base[name] = c.p50_p95(net_of_server(server, post, calls, warm)[2])
    server.nagle(False)
    out = {"n": n, "warmup": warmup, "first_grade_s": first_s, "baselines": base} | c.p50_p95(net)
    out |= c.p50_p95(raw, "raw_") | c.p50_p95(srv, "server_")
    out["steps_ms"] = diagnose.steps(grader, q, rb, text, home, body, server.url)
    return out | {"profile": diagnose.profile(grade, min(n, 100), server)}


def offline_grader(passes: int) -> dict:
    """grade_offline over the calibration answers: a cold pass, then the median of `passes`."""
    items, per_pass, per_answer = [(x.question.id, x.question.text, x.rubric, x.answer) for x in
                                   calibration_items()], [], []  # fmt: skip
    for p in range(passes + 1):
        per_pass.append(sum(times := c.time_calls(lambda i: offline.grade_offline(*items[i]), len(items))[0]))
        per_answer += [t * 1000 for t in times] if p else []
    aps, cold = len(items) / statistics.median(per_pass[1:]), len(items) / per_pass[0]
    out = {"answers": len(items), "passes": passes, "answers_per_s": aps, "cold_answers_per_s": cold}
    return out | {"max_ms": max(per_answer)} | c.p50_p95(per_answer)


def cl100k():
    """tiktoken's cl100k_base from litellm's bundled copy (no download), and where it came from."""
    folder = Path(importlib.util.find_spec("litellm").origin).parent / "litellm_core_utils" / "tokenizers"
    url = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
    if not (folder / hashlib.sha1(url.encode()).hexdigest()).exists():
        raise RuntimeError(f"cl100k_base is not bundled in {folder}; tiktoken would need the network")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)
    import tiktoken

    return tiktoken.get_encoding("cl100k_base"), f"litellm's bundled file in {folder}"


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def shown_prefix(text: str, flat: str) -> str:
    """The longest start of `text` found in `flat` (whitespace ignored): what is left of a trimmed text."""
    squeezed, lo, hi = squeeze(text), 0, len(squeeze(text))
    while lo < hi:  # a shorter start is shown whenever a longer one is
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if squeezed[:mid] in flat else (lo, mid - 1)
    ends = [i for i, ch in enumerate(text) if not ch.isspace()]  # where each non-space character is
    return text[: ends[lo - 1] + 1] if lo else ""


def prompt_row(enc, q, rb, text: str, home: Path) -> dict:
    """One question's prompt: its tokens, those of each piece of content it shows (the rest is the template's
    own text), and whether build_prompt left out or trimmed parts to keep within its budget."""
    p = prompt.build_prompt(q.id, q.text, q.hint, rb, text, tag="0123456789abcdef", home=home)
    flat, crits, ntok = squeeze(p.user), rb.all_criteria, lambda s: len(enc.encode(s))
    tok = lambda *xs: sum(ntok(x) for x in xs if x and squeeze(x) in flat)  # noqa: E731
    reference, total = shown_prefix(rb.reference_answer, flat), ntok(p.system) + ntok(p.user)
    parts = {
        "system prompt (fixed)": ntok(p.system), "reference answer": ntok(reference.replace("\n", "")),
        f"candidate answer ({len(text)} characters)": tok(text), "question": tok(q.text), "hint": tok(q.hint),
        "criterion 'met' descriptions": tok(*(x.met for x in crits)),
        "criterion 'partial' descriptions": tok(*(x.partial for x in crits)),
        "criterion descriptions": tok(*(x.description for x in crits)),
        "criterion key points": tok(*(k.text for x in crits for k in x.key_points)),
        "common mistakes": tok(*(m.text for m in rb.mistakes)),
    }  # fmt: skip
    rest = "the rest: template text, criterion ids, names and weights, output format"
    parts[rest] = total - sum(parts.values())
    shown = [squeeze(x.partial) in flat for x in crits if x.partial]
    dropped = bool(shown) and not any(shown)  # every 'partial' text left out
    schema = ntok(json.dumps(prompt.response_schema(rb), ensure_ascii=False))
    return {"id": q.id, "system": ntok(p.system), "user": ntok(p.user), "total": total, "parts": parts,
            "schema": schema, "partial_dropped": dropped,
            "reference_trimmed": len(reference.strip()) < len(rb.reference_answer.strip())}  # fmt: skip


def prompt_size() -> dict:
    try:
        enc, source = cl100k()
    except Exception as exc:  # reported, not hidden
        return {"error": f"{type(exc).__name__}: {exc}"}
    home, text = c.fresh_home(), c.answer_300()
    rows = [prompt_row(enc, q, rubric.rubric_for(q, home), text, home) for q in seed_questions()]
    totals, top = [r["total"] for r in rows], max(rows, key=lambda r: r["total"])
    means = {k: statistics.fmean(r["parts"][k] for r in rows) for k in top["parts"]}
    return {"encoding_source": source, "questions": len(rows), "mean": statistics.fmean(totals), "rows": rows,
            "min": min(totals), "max": max(totals), "max_id": top["id"], "parts_mean": means,
            "schema_mean": statistics.fmean(r["schema"] for r in rows),
            "budget": getattr(prompt, "PROMPT_BUDGET", None),
            "reference_trimmed": sum(r["reference_trimmed"] for r in rows),
            "partial_dropped": sum(r["partial_dropped"] for r in rows)}  # fmt: skip


def build_home(sessions: int, pool: list[list[tuple]]):
    """A data home of finished sessions, one every 3 hours up to now, each of 10 graded answers to distinct
    questions, written as a session writes them: the store's methods in its order, on the benchmark's clock
    (the store's session ids change once a second). Returns the home and the seconds it took."""
    t0, home = c.now(), c.fresh_home()
    db = store.Store(home / "interviewer.db")
    db.db.execute("PRAGMA synchronous=OFF")  # the build's own durability; the rows are the store's
    settings = {k: v for k, v in config.load_settings().public().items() if k != "api_key"}
    settings |= {"grader_kind": "offline", "n": 10, "order": "random", "seed": None, "follow_ups": 0}
    clock = {"t": dt.datetime.now(dt.UTC) - dt.timedelta(hours=3 * (sessions + 1)), "i": 0}
    fakes = {"now": lambda: clock["t"].isoformat(timespec="seconds"),
             "new_session_id": lambda: f"{clock['t']:%Y%m%d-%H%M%S}-{clock['i']:04x}"}  # fmt: skip
    with contextlib.ExitStack() as stack:
        for name in (name for name in fakes if hasattr(store, name)):
            stack.enter_context(mock.patch.object(store, name, fakes[name]))
        for i in range(sessions):
            clock["t"], clock["i"] = clock["t"] + dt.timedelta(hours=3), i
            picks = [pool[(i * 10 + k) % len(pool)] for k in range(10)]  # 10 distinct questions
            picks = [answers[i % len(answers)] for answers in picks]
            sid = db.create_session(("interview", "practice")[i % 2], settings, [ref for ref, *_ in picks])
            for idx, (ref, question, answer, grade) in enumerate(picks):
                clock["t"] += dt.timedelta(seconds=90)
                db.add_grade(db.add_turn(sid, idx, ref, question, answer, 80.0 + idx), grade)
            db.finish_session(sid)
    db.close()
    return home, c.now() - t0


def scale(sizes: tuple[int, int], runs: int) -> dict:
    """`stats`, `stats --json` and `report -o FILE` over each history in turn, `runs` rounds after a warm-up
    round over the smallest; the answers are the calibration file's, with their offline grades."""
    pool = defaultdict(list)
    for x in calibration_items():
        grade = offline.grade_offline(x.question.id, x.question.text, x.rubric, x.answer).to_dict()
        pool[x.question.id].append((x.question.ref, engine.question_snapshot(x.question), x.answer, grade))
    cli, homes, samples, out = c.cli_path(), {}, defaultdict(list), {"sizes": sizes, "runs": runs}
    out["by_size"] = {}
    for n in sizes:
        homes[n], build_s = build_home(n, list(pool.values()))
        with contextlib.closing(sqlite3.connect(homes[n] / "interviewer.db")) as db:
            answers = db.execute("SELECT COUNT(*) FROM turns").fetchone()[0]
        size = (homes[n] / "interviewer.db").stat().st_size / 2**20
        out["by_size"][str(n)] = {"build_s": build_s, "answers": answers, "db_mib": size}
        c.log(f"  {n} sessions ({answers} answers, {size:.0f} MiB) written in {build_s:.1f} s")
    for rnd in range(runs + 1):
        for n, home in list(homes.items())[: None if rnd else 1]:
            for name, args in {"stats": [], "stats_json": ["--json"], "report": ["-o", "REPORT"]}.items():
                report = c.TMP / f"report-{n}.html"
                cmd = [cli, name.split("_")[0], *(str(report) if a == "REPORT" else a for a in args)]
                r = c.run(cmd, c.base_env(home))
                if name == "stats_json" and (got := json.loads(r.stdout)["answers"]) != n * 10:
                    raise RuntimeError(f"stats --json over {n} sessions counts {got} answers, not {n * 10}")
                if name == "report" and not report.stat().st_size:
                    raise RuntimeError(f"report over {n} sessions wrote an empty file")
                samples[n, name] += [(r.wall, r.rss_kb / 1024)] if rnd else []
    for (n, name), xs in samples.items():
        rss = max(m for _, m in xs)
        out["by_size"][str(n)][name] = {"median_s": statistics.median(w for w, _ in xs), "rss_mib": rss}
    return out


def offline_batch(sizes: tuple[int, int]) -> dict:
    """`grade --batch FILE --grader offline` over `sizes` lines (the calibration answers, repeated), each in a
    fresh home: wall time and peak RSS, to show memory flat in the input's size."""
    rows = [{"question_id": o["question_id"], "answer": o["answer"]} for o in c.calibration()]
    out = {"sizes": sizes, "by_size": {}}
    for n in sizes:
        f = c.write_jsonl(c.TMP / f"batch{n}.jsonl", [rows[i % len(rows)] | {"id": i} for i in range(n)])
        r = c.run(
            [c.cli_path(), "grade", "--batch", str(f), "--grader", "offline"], c.base_env(c.fresh_home())
        )
        lines = r.stdout.count(b"\n") if isinstance(r.stdout, bytes) else r.stdout.count("\n")
        if lines != n:
            raise RuntimeError(f"grade --batch over {n} lines wrote {lines}")
        out["by_size"][str(n)] = {"wall_s": r.wall, "rss_mib": r.rss_kb / 1024}
        c.log(f"  {n} offline lines in {r.wall:.1f} s, peak {r.rss_kb / 1024:.0f} MiB")
    return out
