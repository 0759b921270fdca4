"""The detailed sections of BENCHMARKS.md, one per measurement, and the formatting they share."""

from __future__ import annotations

import math

from common import MODEL
from targets import TARGETS

STARTUP_LABELS = {
    "baseline": '`python -c "import typer"` (baseline)',
    "help": "`interviewer --help`",
    "bank_list": "`interviewer bank list`",
    "first_question": "`interviewer start --answers FILE` → Question 1/ (offline grader)",
    "first_question_llm": "the same with the LLM grader set (litellm's import starts in a thread)",
}

# ------------------------------------------------------------------ formatting


def yes(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def ms(x: float) -> str:
    return f"{x * 1000:.0f} ms"


def dms(x: float) -> str:
    """A signed difference in ms."""
    return f"{'+' if x >= 0 else '−'}{abs(x) * 1000:.0f} ms"


def head(*cells: str) -> list[str]:
    """A table's header row and the row under it."""
    return ["|" + "".join(f" {c} |" if c else " |" for c in cells), "|" + "---|" * len(cells)]


def rss_mib(res: dict, key: str) -> float:
    """The median peak RSS of a start-up command, in MiB."""
    return res["startup"][key]["rss_median_kb"] / 1024


def batch_exit_after(x: dict) -> float:
    """The time a batch run spent after its last reply."""
    return x["wall_s"] - x["first_request_at_s"] - x["grading_span_s"]


def own_steps_ms(ov: dict) -> float:
    """The grader's own steps around the model call, added up (the indented ones are parts of others)."""
    return sum(v for k, v in ov["steps"].items() if not k.startswith(" "))


# ------------------------------------------------------------------ sections


def startup_section(res: dict) -> list[str]:
    su = res["startup"]
    L = [
        "## Start-up\n",
        f"Median of {su['runs']} runs each, after one warm-up round; the commands take turns, round by round, "
        "and each run gets a fresh `INTERVIEWER_HOME` (so the session runs create their database). "
        '"− baseline" is the median of the per-round differences. The command is the console script '
        f"`{su['cli']}` itself, not a pyenv shim in front of it. The first question is timed until "
        '`Question 1/` is read from the pipe; "to exit" is the whole 5-question scripted session. The run with '
        "the LLM grader set is stopped once the question is shown.\n",
        *head("command", "median", "min – max", "− baseline", "ratio", "to exit", "peak RSS"),
    ]
    for k, label in STARTUP_LABELS.items():
        x = su[k]
        stopped = k == "first_question_llm"
        peak = "—" if stopped else f"{x['rss_median_kb'] / 1024:.1f} MiB"
        L.append(
            f"| {label} | {ms(x['median_s'])} | {ms(x['min_s'])} – {ms(x['max_s'])} | "
            f"{'—' if k == 'baseline' else dms(x['minus_baseline_s'])} | {x['ratio']:.2f}× | "
            f"{'—' if stopped else ms(x['wall_median_s'])} | {peak} |"
        )
    L.append("")
    return L


def overhead_section(res: dict) -> list[str]:
    ov = res["overhead"]
    L = [
        "## Grading overhead (LLM grader, in-process)\n",
        f"`LLMGrader(LiteLLMModel('{MODEL}', <local server>)).grade(...)` {ov['n']} times after {ov['warmup']} "
        "warm-up grades (the first grade, which imports litellm, took "
        f"{ov['first_grade_s']:.2f} s), cycling through the 50 seed questions with their curated rubrics and a "
        "300-character answer; the server answers at 0 latency from its own process. The server's handling "
        "time of each request (from `do_POST` entry to the reply flushed, timed in the server) is subtracted "
        "from each grade's wall time. The baselines send the same request (same messages and JSON schema) "
        "through the OpenAI SDK and through bare httpx, with the same subtraction.\n",
        *head("", "p50", "p95"),
        f"| grade wall time (raw) | {ov['raw_p50_ms']:.1f} ms | {ov['raw_p95_ms']:.1f} ms |",
        f"| server handling time | {ov['server_p50_ms']:.2f} ms | {ov['server_p95_ms']:.2f} ms |",
        f"| **grader overhead** (raw − server) | **{ov['p50_ms']:.1f} ms** | **{ov['p95_ms']:.1f} ms** |",
    ]
    for name, label in (
        ("openai_sdk", "baseline: OpenAI SDK, same request"),
        ("httpx", "baseline: bare httpx POST, same request"),
        (
            "httpx_nagle_on",
            "for reference: bare httpx against the server with Nagle's algorithm on (20 calls)",
        ),
    ):
        b = ov["baselines"][name]
        L.append(f"| {label} (− server) | {b['p50_ms']:.1f} ms | {b['p95_ms']:.1f} ms |")
    L.append(
        "\nThe benchmark's server sets TCP_NODELAY (bench/serve.py). As shipped, `tests/openai_server.py` sends a "
        "reply's headers and body in two writes without it, so every reply waits for the client's delayed ACK "
        "(the last row); a production server (uvicorn, vLLM) does not, so that wait is left out of every figure "
        "here.\n"
    )
    return L


def pipeline_section(res: dict) -> list[str]:
    pl, tax, T = res["pipeline"], res["litellm_tax"], TARGETS
    L = [
        f"## Pipeline ({pl['latency_s']:.0f} s server latency)\n",
        f"`interviewer start --mode M --answers FILE` with the LLM grader, {pl['runs']} runs per interview case "
        f"(median, taking turns) and {pl['practice_runs']} practice run; the scripted answers are real answers to "
        '10 (or 1) distinct seed questions. "first request" is when the first grade request reached the server, '
        'after launch; "exit after last reply" is the time from the last reply to the process exit.\n',
        *head("case", "wall", "first request", "last reply", "exit after last reply", "peak RSS"),
    ]
    for k, label in (
        ("interview_1", "interview mode, 1 question"),
        ("interview_10", "interview mode, 10 questions"),
        ("practice_10", "practice mode, 10 questions"),
    ):
        x = pl["median"][k]
        L.append(
            f"| {label} | {x['wall']:.2f} s | +{x['first_request_at']:.2f} s | +{x['last_reply_at']:.2f} s | "
            f"{x['exit_after_last_reply']:.2f} s | {x['rss_kb'] / 1024:.0f} MiB |"
        )
    sc = pl["session_concurrency"]
    rounds = f"{math.ceil(10 / sc)} round{'s' if math.ceil(10 / sc) > 1 else ''}" if sc else "rounds"
    i1 = pl["median"]["interview_1"]
    L.append(
        f"\n10 questions vs 1 in interview mode: +{pl['interview10_minus_interview1_s']:.2f} s (target ≤ "
        f"+{T['pipeline_s']} s): interview mode grades in the background with the session's default concurrency "
        f"of {sc}, so 10 grades take {rounds} of the 1 s latency. Practice mode waits for each grade: "
        f"+{pl['practice10_minus_interview1_s']:.2f} s over the 1-question interview. In every case most of the "
        f"wall time is litellm's fixed cost: the first request reaches the server {i1['first_request_at']:.1f} s "
        f"after launch, and the process exits {i1['exit_after_last_reply']:.1f} s after the last reply (a bare "
        f"`import litellm` takes {tax['import_s']:.2f} s and the interpreter's teardown after it "
        f"{tax['teardown_s']:.2f} s on this machine).\n"
    )
    return L


def batch_section(res: dict) -> list[str]:
    bt = res["batch"]
    L = [
        f"## Batch ({bt['latency_s']} s server latency)\n",
        "`interviewer grade --batch FILE --grader llm --concurrency C`, 300-character answers cycling through "
        'the seed questions. Ideal = n × latency / C; "rounds floor" = ⌈n / C⌉ × latency, the best a pool of C '
        "workers can do (at 200 / 32 that is 7 rounds, 3.5 s: 89% of the ideal even with no overhead at all). End "
        "to end includes the process start-up, litellm's import and the interpreter's teardown; the grading phase "
        "runs from the first request's arrival at the server to the last reply.\n",
        *head(
            "C",
            "n",
            "wall",
            "first request",
            "grading phase",
            "exit after last reply",
            "ideal",
            "rounds floor",
            "throughput: end to end / grading",
            "of ideal: end to end / grading",
        ),  # fmt: skip
    ]
    for c in sorted(bt["summary"], reverse=True):
        x = bt["summary"][c]
        L.append(
            f"| {c} | {x['n']} | {x['wall_s']:.2f} s | +{x['first_request_at_s']:.2f} s | "
            f"{x['grading_span_s']:.2f} s | {batch_exit_after(x):.2f} s | {x['ideal_s']:.2f} s | "
            f"{x['rounds_floor_s']:.2f} s | "
            f"{x['throughput_per_s']:.1f} / {x['grading_throughput_per_s']:.1f} per s | "
            f"{x['efficiency_end_to_end']:.0%} / {x['efficiency_grading']:.0%} |"
        )
    n32 = [x for x in bt["runs"] if x["concurrency"] == 32]
    n_full = bt["summary"][32]["n"]
    L.append(
        f"\nConcurrency 32: the median of {len(n32)} runs (by wall time). Concurrency 1 uses "
        f"n = {bt['summary'][1]['n']} instead of {n_full}: the full batch would spend "
        f"{n_full * bt['latency_s']:.0f} s in server latency alone, and the per-answer cost is the same.\n"
    )
    return L


def offline_section(res: dict) -> list[str]:
    off = res["offline"]
    return [
        "## Offline grader\n",
        f"`grade_offline` in-process over the {off['answers']} answers of `tests/data/calibration.jsonl`: "
        f"median of {off['passes']} passes after a cold pass ({off['cold_answers_per_s']:.0f} answers/s cold). "
        f"Per answer: p50 {off['p50_ms']:.2f} ms, p95 {off['p95_ms']:.2f} ms, max {off['max_ms']:.1f} ms.\n",
    ]


def prompt_section(res: dict) -> list[str]:
    pr = res["prompt"]
    if "error" in pr:
        return ["## Prompt size\n", f"Not measured: {pr['error']}\n"]
    L = [
        "## Prompt size\n",
        f"`build_prompt` (system + user) for each of the {pr['questions']} seed questions with its rubric and "
        f"a {pr['answer_chars']}-character Chinese answer ({pr['answer_tokens']} tokens), counted with "
        f"tiktoken cl100k_base loaded offline from {pr['encoding_source']}. Mean {pr['mean']:.0f}, min "
        f"{pr['min']}, max {pr['max']} tokens (question {pr['max_id']}). Not counted: the chat format's few "
        f"tokens per message, and the JSON schema sent as `response_format` (mean {pr['schema_mean']:.0f} "
        "tokens when serialised), which providers also bill as input.\n",
    ]
    if pr.get("project_budget"):
        L.append(
            f"`build_prompt` keeps each prompt within its own budget of {pr['project_budget']:,} tokens (by its "
            "`estimate_tokens`): over it, it leaves out the 'partial' descriptions, then trims the reference "
            f"answer. Here it left out the 'partial' descriptions in {pr['partial_dropped']} of the "
            f"{pr['questions']} prompts and trimmed the reference answer in {pr['reference_trimmed']}.\n"
        )
    big = sorted(pr["rows"], key=lambda r: -r["total"])[:5]
    L += head("largest prompts", "system", "user", "total")
    L += [f"| {r['id']} | {r['system']} | {r['user']} | {r['total']} |" for r in big]
    top = big[0]
    L.append(
        "\nWhere the tokens go: the tokens of each piece of content the prompt shows (the rubric's fields "
        "appear only as the template chooses); the rest is the template's own text:\n"
    )
    L += head("part", f"mean over {pr['questions']} questions", f"question {top['id']}")
    for k, v in sorted(pr["parts_mean"].items(), key=lambda kv: -kv[1]):
        if v or top["parts"][k]:
            L.append(f"| {k} | {v:.0f} | {top['parts'][k]} |")
    L += [f"| total | {pr['mean']:.0f} | {top['total']} |", ""]
    return L


def memory_section(res: dict) -> list[str]:
    pl, tax = res["pipeline"], res["litellm_tax"]
    return [
        "## Memory\n",
        "Peak RSS of each process (`os.wait4` rusage, the same figure as `/usr/bin/time -f %M`), medians: "
        f'`python -c "import typer"` {rss_mib(res, "baseline"):.1f} MiB, '
        f"`interviewer --help` {rss_mib(res, 'help'):.1f} MiB, "
        f"`interviewer bank list` {rss_mib(res, 'bank_list'):.1f} MiB, offline 5-question scripted session "
        f"{rss_mib(res, 'first_question'):.1f} MiB; with the LLM grader a 1-question session peaks at "
        f"{pl['median']['interview_1']['rss_kb'] / 1024:.0f} MiB and a bare `import litellm` at "
        f"{tax['rss_kb'] / 1024:.0f} MiB.\n",
    ]
