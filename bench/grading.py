"""4. The LLM grader's overhead per grade, in-process, beyond the server's own handling of the request; the same
request through the bare OpenAI SDK and httpx as baselines; the grader's steps timed alone and profiled."""

from __future__ import annotations

import contextlib
import os
import pstats
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import MODEL, log, now, p50_p95, time_calls
from inputs import answer_300, seed_questions
from local_server import Server
from profiles import own_time_by_package, top_cumulative

PHASES = {  # (file suffix, function name) -> label, for the profile of LLMGrader.grade
    ("interviewer/grading/prompt.py", "build_prompt"): "build_prompt (Jinja2 render, version hash)",
    ("interviewer/grading/litellm_chat.py", "_mode"): "LiteLLMModel._mode (litellm.supports_response_schema)",
    ("interviewer/grading/litellm_chat.py", "complete"): "LiteLLMModel.complete (whole model call)",
    ("litellm/utils.py", "wrapper"): "  litellm.completion incl. its wrapper/logging",
    ("openai/_base_client.py", "request"): "    openai SDK request (HTTP round trip incl. server)",
    ("litellm/cost_calculator.py", "completion_cost"): "  litellm.completion_cost",
    ("interviewer/grading/reply.py", "parse_reply"): "parse_reply",
    ("interviewer/grading/reply.py", "grade_from_reply"): "grade_from_reply",
    ("interviewer/grading/signals.py", "has_injection"): "has_injection",
}


def server_times(log_: list[tuple[float, float]], n: int) -> list[float]:
    if len(log_) != n:
        raise RuntimeError(f"expected {n} server requests, got {len(log_)} (a retry or a stray request)")
    return [e - s for s, e in sorted(log_)]


def minus_server_ms(times: list[float], server_s: list[float]) -> list[float]:
    """Each call's wall time less the server's handling of its request, in ms."""
    return [(a - b) * 1000 for a, b in zip(times, server_s, strict=True)]


def net_of_server(server: Server, call: Callable[[int], Any], n: int, warmup: int) -> dict:
    """p50, p95 and the samples of `call`'s time beyond the server's handling, after `warmup` calls."""
    for i in range(warmup):
        call(i)
    server.log()
    times, _ = time_calls(call, n)
    net = minus_server_ms(times, server_times(server.log(), n))
    return p50_p95(net) | {"samples_ms": net}


def grade_request(q, rubric, text: str, home: Path) -> tuple[list[dict], dict]:
    """The messages and the JSON schema the grader sends to grade `text`."""
    from interviewer.grading.prompt import build_prompt, response_schema

    p = build_prompt(q.id, q.text, q.hint, rubric, text, home=home)
    messages = [{"role": "system", "content": p.system}, {"role": "user", "content": p.user}]
    return messages, {"name": "grade", "schema": response_schema(rubric), "strict": True}


def bench_overhead(server: Server, n: int, warmup: int) -> dict:
    from interviewer.content.rubric import rubric_for
    from interviewer.grading.litellm_chat import LiteLLMModel
    from interviewer.grading.llm import LLMGrader
    from interviewer.grading.models import Answer

    home = Path(os.environ["INTERVIEWER_HOME"])
    server.latency(0.0)
    qs = seed_questions()
    items = [(q, rubric_for(q, home)) for q in qs]
    text = answer_300()
    grader = LLMGrader(LiteLLMModel(MODEL, server.url, None, 30), home=home)

    def grade(i: int):
        q, rubric = items[i % len(items)]
        return grader.grade(q, rubric, Answer(text))

    t = now()
    first = grade(0)
    first_s = now() - t  # includes importing litellm
    assert first.status == "graded", first.error
    for i in range(1, warmup):
        grade(i)
    server.log()
    raw, grades = time_calls(grade, n)
    for i, g in enumerate(grades):
        if g.status != "graded":
            raise RuntimeError(f"grade {i} not graded: {g.error}")
    srv = server_times(server.log(), n)
    net = minus_server_ms(raw, srv)

    # baselines: the same request without the grader, through the OpenAI SDK and through bare httpx
    import httpx
    import openai

    messages, schema = grade_request(*items[0], text, home)
    body = {
        "model": "fake-model",
        "messages": messages,
        "temperature": 0,
        "response_format": {"type": "json_schema", "json_schema": schema},
    }
    client = openai.OpenAI(base_url=server.url, api_key="bench", max_retries=0, timeout=30)
    hx = httpx.Client(base_url=server.url, timeout=30)
    baselines = {
        "openai_sdk": net_of_server(server, lambda _i: client.chat.completions.create(**body), n, warmup),
        "httpx": net_of_server(
            server, lambda _i: hx.post("/chat/completions", json=body).raise_for_status(), n, warmup
        ),
    }
    hx.close()
    client.close()
    # the test server as shipped (Nagle's algorithm on): the reply's body waits for the client's delayed ACK
    server.nagle(True)
    with httpx.Client(base_url=server.url, timeout=30) as hx_nagle:
        baselines["httpx_nagle_on"] = net_of_server(
            server, lambda _i: hx_nagle.post("/chat/completions", json=body).raise_for_status(), 20, 3
        )
    server.nagle(False)

    steps = time_steps(grader, items, text, home, n)
    profile = profile_grader(grade, min(n, 100), server)
    return {
        "n": n,
        "warmup": warmup,
        "first_grade_s": first_s,
        **p50_p95([x * 1000 for x in raw], "raw_"),
        **p50_p95([x * 1000 for x in srv], "server_"),
        **p50_p95(net),
        "mean_ms": statistics.fmean(net),
        "samples_ms": net,
        "baselines": baselines,
        "steps": steps,
        "profile": profile,
    }


def time_steps(grader, items, text: str, home: Path, n: int) -> dict[str, float]:
    """Median time of the grader's own steps around the model call, timed one by one without a profiler."""
    from interviewer.grading.litellm_chat import load_litellm
    from interviewer.grading.prompt import build_prompt, prompt_version
    from interviewer.grading.reply import grade_from_reply, parse_reply
    from interviewer.grading.signals import has_injection

    lit = load_litellm()
    q, rubric = items[0]
    messages, schema = grade_request(q, rubric, text, home)
    resp = lit.completion(
        model=MODEL, messages=messages, api_base=grader.chat.api_base, api_key="not-needed", temperature=0,
        max_retries=0, num_retries=0, response_format={"type": "json_schema", "json_schema": schema},
    )  # fmt: skip
    reply_text = resp.choices[0].message.content

    def reply_steps(_i: int) -> None:
        from interviewer.grading.models import GraderInfo

        reply = parse_reply(reply_text, rubric)
        grade_from_reply(q.id, rubric, reply, GraderInfo(kind="llm"), injection_in_text=has_injection(text))

    def cost(_i: int) -> None:
        with contextlib.suppress(Exception):
            lit.completion_cost(completion_response=resp)

    steps = {
        "build_prompt (whole)": lambda _i: build_prompt(q.id, q.text, q.hint, rubric, text, home=home),
        "  of which prompt_version (reads and hashes the templates)": lambda _i: prompt_version(home),
        "LiteLLMModel._mode (litellm.supports_response_schema)": lambda _i: grader.chat._mode(),
        "litellm.completion_cost on the reply (no price for this model)": cost,
        "parse_reply + grade_from_reply + has_injection": reply_steps,
    }
    out = {}
    for name, fn in steps.items():
        try:
            fn(0)
        except Exception as exc:  # the project changed under the benchmark: say so, keep going
            log(f"  step {name!r} not timed: {type(exc).__name__}: {exc}")
            continue
        for i in range(5):
            fn(i)
        ts, _ = time_calls(fn, min(n, 100))
        out[name] = statistics.median(ts) * 1000
    return out


def profile_grader(grade, n: int, server: Server) -> dict:
    """cProfile over n grades: share of time per phase and per package (the profiler inflates absolute times)."""
    import cProfile

    server.log()
    prof = cProfile.Profile()
    t = now()
    prof.enable()
    for i in range(n):
        grade(i)
    prof.disable()
    total = now() - t
    srv = sum(e - s for s, e in server.log())
    st = pstats.Stats(prof)
    phases = {}
    for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in st.stats.items():
        for (suffix, name), label in PHASES.items():
            if func == name and filename.endswith(suffix):
                phases[label] = max(phases.get(label, 0.0), ct)
    top = top_cumulative(
        st, lambda fn, func: ("litellm" in fn or "/interviewer/" in fn) and func not in ("<module>",), 25
    )
    return {
        "n": n,
        "profiled_ms_per_grade": total / n * 1000,
        "server_ms_per_grade": srv / n * 1000,
        "phases_ms_per_grade": {k: v / n * 1000 for k, v in phases.items()},
        "packages_ms_per_grade": {k: v / n * 1000 for k, v in own_time_by_package(st) if v / n > 5e-5},
        "top_cumulative_ms_per_grade": [(name, ct / n * 1000) for ct, name in top],
    }
