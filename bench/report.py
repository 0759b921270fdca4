"""BENCHMARKS.md from the results: each figure is a row (figure, measured, baseline from the same run, target,
met?) of one table renderer, under a short note per section; the summary gathers the rows with a target."""

from __future__ import annotations

from . import diagnose
from .common import table

TARGETS = {"startup_s": 0.15, "overhead_p50_ms": 5.0, "pipeline_s": 1.5, "batch_efficiency": 0.85,
           "offline_per_s": 200.0, "prompt_max_tokens": 1500, "scale_ratio": 2.0,
           "scale_mib": 80.0, "batch_mib_growth": 20.0}  # fmt: skip
TYPER, LITELLM = '`python -c "import typer"`', "bare `import litellm`"
START = {"help": "`interviewer --help`", "bank_list": "`interviewer bank list`",
         "first_question": "first question of `interviewer start --answers FILE`, offline"}  # fmt: skip
SCALE = {"stats": "`interviewer stats`", "stats_json": "`interviewer stats --json`",
         "report": "`interviewer report -o FILE`"}  # fmt: skip
LABELS = {"help": "start-up of `--help`", "bank_list": "start-up of `bank list`", "pipeline": "pipeline",
          "first_question": "time to the first question", "overhead": "grading overhead",
          "batch_end": "batch end to end", "batch_gra": "batch grading phase", "offline": "offline grader",
          "prompt": "prompt size", "offline_batch": "offline batch memory"}  # fmt: skip
LABELS |= {f"{k}_{m}": f"{k.replace('_', ' --')} {m} at scale" for k in SCALE for m in ("time", "memory")}


def fig(figure, measured, baseline="—", target="—", ok=None, key=None) -> dict:
    return dict(figure=figure, measured=measured, baseline=baseline, target=target, ok=ok, key=key)


def ms(s: float) -> str:
    return f"{s * 1000:.0f} ms"


def mib(kb: float) -> str:
    return f"{kb / 1024:.1f} MiB"


def pp(x: dict) -> str:
    return f"{x['p50_ms']:.1f} ms ({x['p95_ms']:.1f} ms)"


def sections(res: dict) -> list[tuple[str, str, list[dict]]]:
    """(title, note, figure rows) of each section."""
    # fmt: off
    T, su, tax, ov, pl, bt, off, pr, sc = TARGETS, *(res[k] for k in (
        "startup", "litellm_tax", "overhead", "pipeline", "batch", "offline", "prompt", "scale"))
    base, bs, med = su["baseline"], ov["baselines"], res["pipeline"]["median"]
    i1, typer_rss, lit = med["interview_1"], f"{mib(base['rss_median_kb'])} ({TYPER})", f" ({LITELLM})"
    startup = [fig(f"Start-up: {label}", f"{ms(su[k]['median_s'])} ({ms(su[k]['min_s'])} – "
                   f"{ms(su[k]['max_s'])})", f"{ms(base['median_s'])} ({TYPER})", f"≤ baseline + "
                   f"{ms(T['startup_s'])}", su[k]["minus_baseline_s"] <= T["startup_s"], k)
               for k, label in START.items()]
    startup += [fig("the same with the LLM grader set", ms(su["first_question_llm"]["median_s"]),
                    ms(su["first_question"]["median_s"]) + " (offline)"),
                fig("offline 5-question session, to exit", ms(su["first_question"]["wall_median_s"]))]
    startup += [fig(f"peak RSS: {START[k]}", mib(su[k]["rss_median_kb"]), typer_rss) for k in START]
    litellm = [fig(f"{LITELLM}, whole process", f"{tax['wall_s']:.2f} s",
                   f"{base['median_s']:.2f} s ({TYPER})"),
               fig("↳ the import, then the interpreter's teardown",
                   f"{tax['import_s']:.2f} s, {tax['teardown_s']:.2f} s"),
               fig("peak RSS, CPU", f"{mib(tax['rss_kb'])}, {tax['cpu_s']:.2f} CPU-s", typer_rss)]
    overhead = [
        fig("Grading overhead per LLM grade beyond the server's handling, p50 (p95)", pp(ov),
            f"{pp(bs['openai_sdk'])}: bare OpenAI SDK", f"p50 ≤ {T['overhead_p50_ms']:.0f} ms",
            ov["p50_ms"] <= T["overhead_p50_ms"], "overhead"),
        fig("the same request, bare OpenAI SDK", pp(bs["openai_sdk"]), pp(bs["httpx"]) + ": bare httpx"),
        fig("grade wall time (raw)", f"{ov['raw_p50_ms']:.1f} ms ({ov['raw_p95_ms']:.1f} ms)",
            f"server handling {ov['server_p50_ms']:.2f} ms ({ov['server_p95_ms']:.2f} ms)"),
        fig("bare httpx, Nagle's algorithm on in the server", pp(bs["httpx_nagle_on"]),
            pp(bs["httpx"]) + ": off"),
        fig("first grade (imports litellm)", f"{ov['first_grade_s']:.2f} s",
            f"{tax['import_s']:.2f} s" + lit)]
    d10 = med["interview_10"]["wall"] - i1["wall"]
    pipeline = [
        fig("Pipeline: 10-question interview mode, 1 s latency", f"{med['interview_10']['wall']:.2f} s",
            f"{i1['wall']:.2f} s (1 question)", f"≤ baseline + {T['pipeline_s']} s", d10 <= T["pipeline_s"],
            "pipeline"),
        fig("10-question practice mode", f"{med['practice_10']['wall']:.2f} s",
            f"{i1['wall']:.2f} s (1 question)"),
        fig("1 question: first request after launch, exit after the last reply",
            f"{i1['first_request_at']:.2f} s, {i1['exit_after_last_reply']:.2f} s",
            f"{tax['import_s']:.2f} s, {tax['teardown_s']:.2f} s" + lit),
        fig("1 question: peak RSS", mib(i1["rss_kb"]), mib(tax["rss_kb"]) + lit)]
    batch = []
    for c, x in sorted(bt["summary"].items(), key=lambda kv: -int(kv[0])):
        ideal, top = f"ideal {x['n'] / x['ideal_s']:.1f}/s ({x['ideal_s']:.2f} s)", c == "32"
        for part, secs, eff, floor in (
                ("end to end", x["wall_s"], x["efficiency_end_to_end"], ""),
                ("grading phase", x["grading_span_s"], x["efficiency_grading"],
                 f"; floor {x['rounds_floor_s']} s")):
            batch.append(fig(f"Batch: {x['n']} answers, concurrency {c}, {part}",
                             f"{x['n'] / secs:.1f}/s ({secs:.2f} s): {eff:.0%} of ideal", ideal + floor,
                             f"≥ {T['batch_efficiency']:.0%} of ideal" if top else "—",
                             eff >= T["batch_efficiency"] if top else None,
                             "batch_" + part[:3] if top else None))
        batch.append(fig("↳ before the first request, after the last reply; CPU, peak RSS",
                         f"{x['first_request_at_s']:.2f} s, {x['exit_after_last_reply_s']:.2f} s; "
                         f"{x['cpu_s']:.2f} CPU-s, {mib(x['rss_kb'])}",
                         f"{tax['import_s']:.2f} s, {tax['teardown_s']:.2f} s; {tax['cpu_s']:.2f} CPU-s, "
                         f"{mib(tax['rss_kb'])}" + lit))
    offline = [
        fig("Offline grader on calibration.jsonl (in-process)", f"{off['answers_per_s']:.0f} answers/s",
            f"{off['cold_answers_per_s']:.0f}/s (cold pass)", f"≥ {T['offline_per_s']:.0f}/s",
            off["answers_per_s"] >= T["offline_per_s"], "offline"),
        fig("per answer: p50, p95, max", f"{off['p50_ms']:.2f}, {off['p95_ms']:.2f}, {off['max_ms']:.1f} ms")]
    prompt = [fig("Prompt size", "not measured: " + pr["error"])] if "error" in pr else [
        fig("Prompt size per grade, system + user (cl100k_base)", f"mean {pr['mean']:.0f}, max {pr['max']} "
            f"tokens (question {pr['max_id']})", f"min {pr['min']}", f"max ≤ {T['prompt_max_tokens']:,}",
            pr["max"] <= T["prompt_max_tokens"], "prompt"),
        fig("the JSON schema sent beside it (not counted above)", f"mean {pr['schema_mean']:.0f} tokens"),
        fig(f"fitted to build_prompt's own budget ({pr['budget']} by its estimate)",
            f"'partial' texts left out in {pr['partial_dropped']}, reference trimmed in "
            f"{pr['reference_trimmed']}", f"of {pr['questions']} prompts")]
    (ns, small), (nb, big) = ((n, sc["by_size"][str(n)]) for n in sc["sizes"])
    scale = [fig(f"Scale: {nb:,} sessions, written through the store",
                 f"{big['build_s']:.1f} s, {big['db_mib']:.0f} MiB",
                 f"{small['build_s']:.2f} s ({ns} sessions)")]
    for k, label in SCALE.items():
        b, s, r = big[k], small[k], big[k]["median_s"] / small[k]["median_s"]
        scale += [fig(f"Scale: {label} over {nb:,} sessions", f"{b['median_s']:.2f} s: {r:.1f}×",
                      f"{s['median_s']:.2f} s ({ns} sessions)", f"≤ {T['scale_ratio']:.0f}× baseline",
                      r <= T["scale_ratio"], f"{k}_time"),
                  fig(f"Scale: {label} over {nb:,} sessions, peak RSS", f"{b['rss_mib']:.0f} MiB",
                      f"{s['rss_mib']:.0f} MiB ({ns} sessions)", f"≤ {T['scale_mib']:.0f} MiB",
                      b["rss_mib"] <= T["scale_mib"], f"{k}_memory")]
    ob = res.get("offline_batch")
    if ob:
        (n1, b1), (n2, b2) = ((n, ob["by_size"][str(n)]) for n in ob["sizes"])
        grow = b2["rss_mib"] - b1["rss_mib"]
        scale.append(fig(f"Scale: `grade --batch` of {n2:,} lines, offline, peak RSS",
                         f"{b2['rss_mib']:.0f} MiB ({n2 / b2['wall_s']:.0f} lines/s)",
                         f"{b1['rss_mib']:.0f} MiB ({n1:,} lines)", f"≤ baseline + {T['batch_mib_growth']:.0f} MiB",
                         grow <= T["batch_mib_growth"], "offline_batch"))  # fmt: skip
    runs32 = sum(x["concurrency"] == 32 for x in bt["runs"])
    return [
        ("Start-up", f"Median of {su['runs']} runs after a warm-up round, the commands taking turns, each "
         "with a fresh `INTERVIEWER_HOME`; the target is on the median of the per-round differences from "
         f"{TYPER}. The console script `{su['cli']}` is run itself; the first question is timed until "
         "`Question 1/` is read from the pipe (the LLM case is stopped there). Peak RSS is GNU time's, as "
         "for every command.", startup),
        ("litellm's fixed cost per process", "Every command grading with the LLM grader pays it.", litellm),
        ("Grading overhead (LLM grader, in-process)", f"`LLMGrader.grade` {ov['n']} times after "
         f"{ov['warmup']} warm-up grades over the seed questions and a 300-character answer, at 0 latency; "
         "p50 (p95). The server's handling of each request (timed in its process) is subtracted from each "
         "call, the grader's and the baselines', which send the same messages and JSON schema. The server "
         "sets TCP_NODELAY, as production servers do.", overhead),
        (f"Pipeline ({pl['latency_s']:.0f} s server latency)", "`interviewer start --mode M --answers FILE` "
         f"with the LLM grader, median of {pl['runs']} runs a case, taking turns (practice: 1 run). "
         f"Interview mode grades in the background, {pl['session_concurrency']} at a time; practice mode "
         "waits for each.", pipeline),
        (f"Batch ({bt['latency_s']} s server latency)", "`interviewer grade --batch FILE --grader llm "
         "--concurrency C`. Ideal = n × latency / C; the floor = ⌈n / C⌉ rounds of latency. End to end "
         "includes start-up, litellm's import and teardown; the grading phase runs from the first request's "
         f"arrival to the last reply. Concurrency 32: the median of {runs32} runs.", batch),
        ("Offline grader", f"`grade_offline` over the {off['answers']} calibration answers, median of "
         f"{off['passes']} passes after a cold one.", offline),
        ("Prompt size", "`build_prompt` for each seed question with its rubric and a 300-character answer, "
         f"counted with tiktoken cl100k_base ({pr.get('encoding_source', 'not loaded')}).", prompt),
        ("Scale", f"Histories of {ns} and {nb:,} finished sessions of 10 graded answers, one every 3 hours, "
         "written through the store's own methods; each command in a fresh process, median of "
         f"{sc['runs']}, the largest peak RSS.", scale),
    ]
    # fmt: on


def details(res: dict) -> list[str]:
    """The tables behind the figures: where the time goes, and where the prompt's tokens go."""
    out, pr = ["## Where the time goes\n", *diagnose.tables(res, START)], res["prompt"]
    if "error" not in pr:
        top, parts = max(pr["rows"], key=lambda r: r["total"]), pr["parts_mean"]
        rows = [(k, f"{v:.0f}", top["parts"][k]) for k, v in sorted(parts.items(), key=lambda kv: -kv[1])]
        out += ["### Where the prompt's tokens go\n", *table(("part", "mean", f"question {top['id']}"), rows)]
    return out


def render(res: dict) -> str:
    m, nz, secs, verdict = res["machine"], res["noise"], sections(res), {True: "**met**", False: "**missed**"}
    other = "" if nz["other_cpu_s"] is None else f"; other processes used {nz['other_cpu_s']:.0f} CPU-seconds"
    head = ("figure", "measured", "baseline (same run)", "target", "")
    cells = lambda rows: [[*list(r.values())[:4], verdict.get(r["ok"], "—")] for r in rows]  # noqa: E731
    key_rows = [r for _, _, rows in secs for r in rows if r["ok"] is not None]
    met, missed = ([LABELS[r["key"]] for r in key_rows if r["ok"] is ok] for ok in (True, False))
    out = [
        "# Benchmarks\n",
        f"Measured {res['date']} with `python -m bench{' --quick' if res['quick'] else ''}` in "
        f"{res['duration_s']:.0f} s; raw results in `bench/results.json`.\n",
        f"- Machine: {m['cpu']}, {m['cpus'][0]} logical CPUs ({m['cpus'][1]} usable), "
        f"{m['memory_gib']:.1f} GiB; Python {m['python']}, {m['os']}",
        "- Packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()),
        f"- Load average {nz['loadavg_start'][0]:.2f} at the start, {nz['loadavg_end'][0]:.2f} at the end"
        f"{other} (figures compare only between runs on an otherwise idle machine)\n",
        "## Summary\n", *table(head, cells(key_rows)),
        f"Met: {', '.join(met) or 'none'}. Missed: {', '.join(missed) or 'none'}.\n",
    ]  # fmt: skip
    for title, note, rows in secs:
        out += [f"## {title}\n", note + "\n", *table(head, cells(rows))]
    return "\n".join(out + details(res))


def missed_keys(res: dict) -> list[str]:
    return [r["key"] for _, _, rows in sections(res) for r in rows if r["ok"] is False]
