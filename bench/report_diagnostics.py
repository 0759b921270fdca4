"""The last section of BENCHMARKS.md: where the time goes, for the missed targets."""

from __future__ import annotations

from diagnose import TYPER_STEPS
from grading import PHASES
from report_sections import STARTUP_LABELS, batch_exit_after, head, own_steps_ms


def startup_diagnosis(st: dict) -> list[str]:
    L = [
        "### Start-up\n\n`python -X importtime` (imports at top level, those `import typer` does not load) and "
        "cProfile (own time by package, imports included; the profiler adds overhead) of each missed command. "
        f"`import typer` imports {st['baseline_import_ms']:.0f} ms of modules.\n"
    ]
    for name, c in st["commands"].items():
        L.append(
            f"**{STARTUP_LABELS[name]}**: {c['import_ms']:.0f} ms of imports, {c['modules_beyond_baseline']} "
            "modules beyond the baseline.\n"
        )
        L += head("top-level import", "time of the modules under it that the baseline lacks")
        L += [f"| `{mod}` | {t:.1f} ms |" for mod, t in c["top_imports_beyond_baseline_ms"][:10]]
        L += ["", *head("package (import self time beyond the baseline)", "ms")]
        L += [f"| {k} | {v:.1f} |" for k, v in c["self_import_ms_by_package"].items()]
        L += ["", *head("package (cProfile own time)", "ms")]
        L += [f"| {k} | {v:.1f} |" for k, v in c["profile_own_ms_by_package"].items()]
        L += [
            "",
            *head(
                "function (cProfile cumulative over the whole command: the project's functions and two typer steps)",
                "ms",
            ),
        ]
        for f, v in c["profile_top_cumulative_ms"][:12]:
            note = next((f" ({d})" for k, d in TYPER_STEPS.items() if f.endswith(f"({k})")), "")
            L.append(f"| `{f}`{note} | {v:.1f} |")
        L.append("")
    return L


def overhead_diagnosis(ov: dict) -> list[str]:
    p, sdk = ov["profile"], ov["baselines"]["openai_sdk"]
    hx = ov["baselines"]["httpx"]["p50_ms"]
    L = [
        f"### Grading overhead\n\nOf the {ov['p50_ms']:.1f} ms p50, {hx:.1f} ms is what bare httpx needs for the "
        f"same request and response, {sdk['p50_ms'] - hx:.1f} ms more what the OpenAI SDK adds, and "
        f"{ov['p50_ms'] - sdk['p50_ms']:.1f} ms litellm and the grader on top. cProfile over {p['n']} grades "
        f"({p['profiled_ms_per_grade']:.1f} ms per grade under the profiler, which inflates Python-heavy code; "
        f"{p['server_ms_per_grade']:.2f} ms of it is the server's handling), cumulative time per grade:\n",
        *head("step", "ms per grade (profiled)"),
    ]
    for label in PHASES.values():
        if label in p["phases_ms_per_grade"]:
            shown = label.strip() if label == label.lstrip() else "↳ " + label.strip()
            L.append(f"| {shown} | {p['phases_ms_per_grade'][label]:.2f} |")
    L += ["", *head("package (own time)", "ms per grade (profiled)")]
    L += [f"| {k} | {v:.2f} |" for k, v in list(p["packages_ms_per_grade"].items())[:10]]
    L += ["", *head("function (cumulative, litellm and project)", "ms per grade (profiled)")]
    L += [f"| `{f}` | {v:.2f} |" for f, v in p["top_cumulative_ms_per_grade"][:15]]
    L += [
        "\nThe grader's own steps around the model call, each timed alone without the profiler (median of "
        f"{min(ov['n'], 100)}):\n",
        *head("step", "ms"),
    ]
    L += [f"| {'↳ ' + k.strip() if k.startswith(' ') else k} | {v:.2f} |" for k, v in ov["steps"].items()]
    own = own_steps_ms(ov)
    L.append(
        f"\nThe grader's own steps add up to {own:.1f} ms, so the overhead is litellm's: its `completion` wrapper, "
        "logging, response conversion and a cost calculation of its own, on top of the OpenAI SDK it calls. "
        f"The same request through the OpenAI SDK plus these steps would be about {sdk['p50_ms'] + own:.1f} ms.\n"
    )
    return L


def batch_diagnosis(res: dict) -> list[str]:
    ov, tax = res["overhead"], res["litellm_tax"]
    x = res["batch"]["summary"][32]
    sdk = ov["baselines"]["openai_sdk"]
    excess = x["grading_span_s"] - x["rounds_floor_s"]
    own_steps = own_steps_ms(ov)
    rest = x["cpu_s"] - tax["cpu_s"]
    busy = x["grading_throughput_per_s"] * rest / x["n"]
    return [
        f"### Batch and pipeline\n\nAt concurrency 32 the process spends {x['first_request_at_s']:.2f} s before "
        f"the first request (interpreter start, imports and litellm's import: {tax['import_s']:.2f} s bare), "
        f"{x['grading_span_s']:.2f} s grading (rounds floor {x['rounds_floor_s']:.2f} s) and "
        f"{batch_exit_after(x):.2f} s after the last reply (interpreter teardown with litellm loaded: "
        f"{tax['teardown_s']:.2f} s bare). The fixed cost alone is larger than the whole ideal time, so the "
        "end-to-end figure cannot reach the target while every command imports litellm and lets the interpreter "
        "tear it down.\n",
        f"The grading phase itself is {excess:.2f} s over the rounds floor. The process used {x['cpu_s']:.2f} "
        f"CPU-seconds (rusage); a bare `import litellm` with its teardown uses {tax['cpu_s']:.2f}, which leaves "
        f"{rest:.2f} s for the CLI's start-up, litellm's set-up on its first call and {x['n']} grades: at most "
        f"{rest / x['n'] * 1000:.1f} ms per answer. In-process, the grading overhead is {ov['p50_ms']:.1f} ms p50 "
        f"per grade: {own_steps:.1f} ms the grader's own steps, {sdk['p50_ms']:.1f} ms the OpenAI SDK and httpx, "
        f"the rest litellm. At {x['grading_throughput_per_s']:.0f} grades/s that client-side Python keeps one "
        f"interpreter busy up to {busy:.0%} of the time, and the {x['concurrency']} threads share its GIL, so "
        "a thread whose reply has arrived often waits before it can finish the grade and send the next request. "
        "This is the likely cause of the gap; the benchmark does not isolate it further.\n",
    ]


def prompt_diagnosis(pr: dict) -> list[str]:
    biggest = sorted(pr["parts_mean"].items(), key=lambda kv: -kv[1])[:4]
    return [
        f"### Prompt size\n\nOn average the prompt is {pr['mean']:.0f} tokens; the largest parts are "
        + ", ".join(f"{k} ({v:.0f})" for k, v in biggest)
        + '. The table in "Prompt size" gives every part.\n'
    ]


def diagnostics_section(res: dict) -> list[str]:
    missed = res["missed"]
    L = ["## Where the time goes (missed targets)\n"]
    if not missed:
        L.append("Every target was met.\n")
    st = res.get("diagnostics", {}).get("startup")
    if st:
        L += startup_diagnosis(st)
    if "overhead" in missed or res["diagnose_all"]:
        L += overhead_diagnosis(res["overhead"])
    if "batch_end_to_end" in missed or "batch_grading" in missed or "pipeline" in missed:
        L += batch_diagnosis(res)
    if "prompt" in missed and "error" not in res["prompt"]:
        L += prompt_diagnosis(res["prompt"])
    return L
