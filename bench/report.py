"""BENCHMARKS.md from the results, and bench/results.json itself."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from report_diagnostics import diagnostics_section
from report_sections import (
    batch_section,
    dms,
    head,
    memory_section,
    ms,
    offline_section,
    overhead_section,
    pipeline_section,
    prompt_section,
    rss_mib,
    startup_section,
    yes,
)
from targets import TARGETS

VERDICTS = {
    "help": "start-up of `--help`",
    "bank_list": "start-up of `bank list`",
    "first_question": "time to the first question",
    "overhead": "grading overhead",
    "pipeline": "pipeline",
    "batch_end_to_end": "batch end to end at concurrency 32",
    "batch_grading": "batch grading phase at concurrency 32",
    "offline": "offline grader throughput",
    "prompt": "prompt size",
}


# ------------------------------------------------------------------ results.json


def load_results(path: Path) -> dict:
    res = json.loads(path.read_text(encoding="utf-8"))
    res["batch"]["summary"] = {int(k): v for k, v in res["batch"]["summary"].items()}
    return res


def save_results(path: Path, res: dict) -> None:
    summary = {str(k): v for k, v in res["batch"]["summary"].items()}
    out = res | {"batch": res["batch"] | {"summary": summary}}
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# ------------------------------------------------------------------ the report


def header_section(res: dict) -> list[str]:
    m, nz = res["machine"], res["noise"]
    other = nz["other_cpu_s"]
    busy = "" if other is None else f"; other processes used {other:.0f} CPU-seconds during the run"
    return [
        "# Benchmarks\n",
        f"Measured {res['date']} with `python bench/run.py` ({res['duration_s']:.0f} s for the whole run).\n",
        f"- Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs ({m['usable_cpus']} usable), "
        f"{m['memory_gib']} GiB memory",
        f"- Python {m['python']} ({m['python_impl']}), {m['os']}",
        "- Packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v),
        f"- Load average {nz['loadavg_start'][0]:.2f} at the start, {nz['loadavg_end'][0]:.2f} at the end{busy} "
        "(figures are only comparable between runs on an otherwise idle machine)",
        f"- Raw results: `bench/results.json`{' (quick mode: fewer runs)' if res['quick'] else ''}\n",
    ]


def summary_section(res: dict) -> list[str]:
    su, pl, bt, ov, off, pr, tax = (
        res[k] for k in ("startup", "pipeline", "batch", "overhead", "offline", "prompt", "litellm_tax")
    )
    T = TARGETS
    base_t = su["baseline"]["median_s"]
    rows = []
    for key, label in (
        ("help", "`interviewer --help`"),
        ("bank_list", "`interviewer bank list`"),
        ("first_question", "first question of `interviewer start --answers FILE` (offline)"),
    ):
        x = su[key]
        rows.append((
            f"Start-up: {label}", ms(x["median_s"]), f"{ms(base_t)} (`python -c \"import typer\"`)",
            dms(x["minus_baseline_s"]), f"≤ +{ms(T['startup_s'])}", yes(x["minus_baseline_s"] <= T["startup_s"]),
        ))  # fmt: skip
    sdk = ov["baselines"]["openai_sdk"]
    rows.append((
        "Grading overhead per LLM grade (beyond the server's handling), p50 (p95)",
        f"{ov['p50_ms']:.1f} ms ({ov['p95_ms']:.1f} ms)",
        f"{sdk['p50_ms']:.1f} ms ({sdk['p95_ms']:.1f} ms): same request, bare OpenAI SDK",
        f"+{ov['p50_ms'] - sdk['p50_ms']:.1f} ms over the SDK", f"p50 ≤ {T['overhead_p50_ms']:.0f} ms",
        yes(ov["p50_ms"] <= T["overhead_p50_ms"]),
    ))  # fmt: skip
    i10, i1 = pl["median"]["interview_10"]["wall"], pl["median"]["interview_1"]["wall"]
    d = pl["interview10_minus_interview1_s"]
    rows.append((
        "Pipeline: 10-question interview mode, 1 s latency", f"{i10:.2f} s", f"{i1:.2f} s (1 question)",
        f"+{d:.2f} s", f"≤ +{T['pipeline_s']} s", yes(d <= T["pipeline_s"]),
    ))  # fmt: skip
    p10 = pl["median"]["practice_10"]["wall"]
    rows.append((
        "Pipeline: 10-question practice mode, 1 s latency", f"{p10:.2f} s", f"{i1:.2f} s (1 question)",
        f"+{pl['practice10_minus_interview1_s']:.2f} s", "—", "—",
    ))  # fmt: skip
    for c in sorted(bt["summary"], reverse=True):
        x = bt["summary"][c]
        target = f"≥ {T['batch_efficiency']:.0%} of ideal" if c == 32 else "—"
        ideal = f"ideal {x['ideal_throughput_per_s']:.1f}/s ({x['ideal_s']:.2f} s)"
        for label, measured, eff in (
            (f"Batch: {x['n']} answers, 0.5 s latency, concurrency {c}, end to end",
             f"{x['throughput_per_s']:.1f}/s ({x['wall_s']:.2f} s)", x["efficiency_end_to_end"]),
            ("Batch: the same, grading phase only (first request → last reply)",
             f"{x['grading_throughput_per_s']:.1f}/s ({x['grading_span_s']:.2f} s)", x["efficiency_grading"]),
        ):  # fmt: skip
            verdict = yes(eff >= T["batch_efficiency"]) if c == 32 else "—"
            rows.append((label, measured, ideal, f"{eff:.0%} of ideal", target, verdict))
    rows.append((
        "Offline grader on calibration.jsonl (in-process)", f"{off['answers_per_s']:.0f} answers/s", "—",
        f"p50 {off['p50_ms']:.2f} ms per answer", f"≥ {T['offline_per_s']:.0f}/s",
        yes(off["answers_per_s"] >= T["offline_per_s"]),
    ))  # fmt: skip
    if "error" in pr:
        rows.append(("Prompt size (cl100k_base)", "not measured", "—", pr["error"], "max ≤ 1,500", "n/a"))
    else:
        rows.append((
            "Prompt size per grade, system + user (cl100k_base)", f"mean {pr['mean']:.0f}, max {pr['max']} tokens",
            "—", f"max is question {pr['max_id']}", f"max ≤ {T['prompt_max_tokens']:,}",
            yes(pr["max"] <= T["prompt_max_tokens"]),
        ))  # fmt: skip
    base_rss = rss_mib(res, "baseline")
    for key, label in (
        ("help", "`interviewer --help`"),
        ("first_question", "offline 5-question scripted session"),
    ):
        rows.append((
            f"Peak RSS: {label}", f"{rss_mib(res, key):.1f} MiB", f"{base_rss:.1f} MiB (`import typer`)",
            f"+{rss_mib(res, key) - base_rss:.1f} MiB", "—", "—",
        ))  # fmt: skip
    rows.append((
        "litellm's fixed cost per process (bare `import litellm`)",
        f"import {tax['import_s']:.2f} s + teardown {tax['teardown_s']:.2f} s", "—",
        f"{tax['rss_kb'] / 1024:.0f} MiB peak RSS", "—", "—",
    ))  # fmt: skip
    met = [v for k, v in VERDICTS.items() if k not in res["missed"]]
    missed = [VERDICTS[k] for k in res["missed"]]
    return [
        "## Summary\n",
        *head("figure", "measured", "baseline (same run)", "difference / ratio", "target", ""),
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
        f"Met: {', '.join(met) or 'none'}. Missed: {', '.join(missed) or 'none'}.\n",
    ]


SECTIONS: tuple[Callable[[dict], list[str]], ...] = (
    header_section, summary_section, startup_section, overhead_section, pipeline_section, batch_section,
    offline_section, prompt_section, memory_section, diagnostics_section,
)  # fmt: skip


def render(res: dict) -> str:
    """BENCHMARKS.md from the results (with the batch summary keyed by concurrency as int)."""
    return "\n".join(line for section in SECTIONS for line in section(res))
