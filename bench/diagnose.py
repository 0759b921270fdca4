"""Where the time goes: `python -X importtime` and cProfile of the missed start-up commands (all of them with
--diagnose), and the LLM grader's own steps, timed alone, and its profile; and the tables that show them."""

from __future__ import annotations

import contextlib
import cProfile
import pstats
import re
import statistics
import subprocess
from collections import defaultdict
from pathlib import Path

from interviewer.grading import litellm_chat, models, prompt, reply, signals

from . import common as c

ARGV = {"help": ["--help"], "bank_list": ["bank", "list"], "first_question": ["start", "--answers"]}


def steps(grader, q, rb, text: str, home: Path, body: dict, url: str) -> dict[str, float]:
    """The median time of the grader's own steps around the model call, each timed alone, no profiler."""
    lit, rf = litellm_chat.load_litellm(), body["response_format"]
    resp = lit.completion(model=c.MODEL, messages=body["messages"], api_base=url, api_key="x", temperature=0,
                          response_format=rf, max_retries=0, num_retries=0)  # fmt: skip
    answer, info = resp.choices[0].message.content, models.GraderInfo(kind="llm")

    def cost() -> None:
        with contextlib.suppress(Exception):
            lit.completion_cost(completion_response=resp)

    def from_reply() -> None:
        injected = signals.has_injection(text)
        reply.grade_from_reply(q.id, rb, reply.parse_reply(answer, rb), info, injection_in_text=injected)

    todo = {
        "build_prompt (whole)": lambda: prompt.build_prompt(q.id, q.text, q.hint, rb, text, home=home),
        "↳ of which prompt_version (reads and hashes the templates)": lambda: prompt.prompt_version(home),
        "LiteLLMModel._mode (litellm.supports_response_schema)": lambda: grader.chat._mode(),
        "litellm.completion_cost on the reply (no price for this model)": cost,
        "parse_reply + grade_from_reply + has_injection": from_reply,
    }  # fmt: skip
    out = {}
    for name, fn in todo.items():
        try:
            out[name] = statistics.median(c.time_calls(lambda _: fn(), 105)[0][5:]) * 1000  # noqa: B023
        except Exception as exc:  # the project changed under the benchmark: say so, keep going
            c.log(f"  step {name!r} not timed: {type(exc).__name__}: {exc}")
    return out


PHASES = {  # (file suffix, function name) -> label, for the profile of LLMGrader.grade
    ("interviewer/grading/prompt.py", "build_prompt"): "build_prompt (Jinja2 render, version hash)",
    ("interviewer/grading/litellm_chat.py", "_mode"): "LiteLLMModel._mode (litellm.supports_response_schema)",
    ("interviewer/grading/litellm_chat.py", "complete"): "LiteLLMModel.complete (whole model call)",
    ("litellm/utils.py", "wrapper"): "↳ litellm.completion incl. its wrapper/logging",
    ("openai/_base_client.py", "request"): "↳ openai SDK request (HTTP round trip incl. server)",
    ("litellm/cost_calculator.py", "completion_cost"): "↳ litellm.completion_cost",
    ("interviewer/grading/reply.py", "parse_reply"): "parse_reply",
    ("interviewer/grading/reply.py", "grade_from_reply"): "grade_from_reply",
    ("interviewer/grading/signals.py", "has_injection"): "has_injection",
}


def package_of(filename: str) -> str:
    if filename.startswith("<") or filename == "~":
        return "C functions (I/O, sockets, json, re, marshal, ...)"
    if m := re.search(r"site-packages/([^/]+)", filename):
        return m.group(1).removesuffix(".py")
    return "interviewer" if "/interviewer/" in filename else "stdlib"


def profile_tables(st: pstats.Stats, keep, limit: int, per: int = 1) -> tuple[dict, dict]:
    """Own ms per package, and cumulative ms of the largest functions `keep(file, function)` accepts."""
    by: dict[str, float] = defaultdict(float)
    funcs = []
    for (fn, ln, func), (_cc, _nc, tt, ct, _callers) in st.stats.items():
        by[package_of(fn)] += tt * 1000 / per
        if keep(fn, func):
            funcs.append((ct * 1000 / per, f"{Path(fn).parent.name}/{Path(fn).name}:{ln}({func})"))
    top = {f: v for v, f in sorted(funcs, reverse=True)[:limit]}
    return dict(sorted(by.items(), key=lambda kv: -kv[1])[:10]), top


def profile(grade, n: int, server) -> dict:
    """cProfile over n grades, per grade: each phase, each package, the largest functions (the profiler
    inflates Python-heavy code, so the shares mean more than the times)."""
    server.log()
    prof, t = cProfile.Profile(), c.now()
    prof.runcall(lambda: [grade(i) for i in range(n)])
    total, srv, st = c.now() - t, sum(e - s for s, e in server.log()), pstats.Stats(prof)
    phases = {}
    for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in st.stats.items():
        if label := next((v for (sfx, f), v in PHASES.items() if func == f and filename.endswith(sfx)), None):
            phases[label] = max(phases.get(label, 0.0), ct * 1000 / n)
    keep = lambda fn, func: ("litellm" in fn or "/interviewer/" in fn) and func != "<module>"  # noqa: E731
    packages, top = profile_tables(st, keep, 15, n)
    return {"n": n, "profiled_ms_per_grade": total / n * 1000, "server_ms_per_grade": srv / n * 1000,
            "phases_ms_per_grade": {v: phases[v] for v in PHASES.values() if v in phases},
            "packages_ms_per_grade": packages, "top_cumulative_ms_per_grade": top}  # fmt: skip


PROBE = "from interviewer.cli import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+\d+ \|( *)(\S+)")


def importtime(code: str) -> list[tuple[int, int, str]]:
    """(self µs, depth, module) of each import that `python -X importtime -c code` reports, in its order."""
    cmd = [c.PY, "-X", "importtime", "-c", code]
    r = subprocess.run(cmd, capture_output=True, text=True, env=c.base_env(c.fresh_home()), cwd=c.ROOT)
    found = (IMPORT_LINE.match(line) for line in r.stderr.splitlines())
    return [(int(m.group(1)), len(m.group(2)) // 2, m.group(3)) for m in found if m]


def ours(fn: str, func: str) -> bool:
    """The project's functions, and typer's two costly steps (building the commands and their parameters)."""
    typer = "site-packages/typer" in fn and func in ("get_command", "get_runtime_param")
    return typer or "/interviewer/" in fn and func not in ("<module>", "main")


def startup(names: list[str], answers5: Path) -> dict:
    """For each command: the import time of the modules `import typer` does not load, by top-level import and
    by package, and cProfile's own time by package and the largest functions (imports included)."""
    known, out = {m for *_, m in importtime("import typer")}, {}
    for name in names:
        code = PROBE.format(args=ARGV[name] + ([str(answers5)] if name == "first_question" else []))
        lines, pending, top, by_pkg = importtime(code), [], {}, defaultdict(float)
        for self_us, depth, mod in lines:  # a module is printed after its imports, one indent deeper a level
            new = 0 if mod in known else self_us
            by_pkg[mod.split(".")[0]] += new / 1000
            while pending and pending[-1][0] > depth:
                new += pending.pop()[1]
            if depth:
                pending.append((depth, new))
            elif new >= 100:
                top[mod] = new / 1000
        prof = c.TMP / f"profile-{name}.prof"
        profile = f"import cProfile\ncProfile.run({code!r}, {str(prof)!r})\n"
        subprocess.run([c.PY, "-c", profile], capture_output=True, env=c.base_env(c.fresh_home()), cwd=c.ROOT)
        own, cum = profile_tables(pstats.Stats(str(prof)), ours, 12) if prof.exists() else ({}, {})
        out[name] = {"modules_beyond_baseline": sum(m not in known for *_, m in lines),
                     "top_imports_beyond_baseline_ms": dict(sorted(top.items(), key=lambda kv: -kv[1])[:10]),
                     "import_self_ms_by_package": dict(sorted(by_pkg.items(), key=lambda kv: -kv[1])[:8]),
                     "profile_own_ms_by_package": own, "profile_top_cumulative_ms": cum}  # fmt: skip
    return out


def tables(res: dict, title: dict[str, str]) -> list[str]:
    """Those figures as tables: for each missed start-up command, and for the grading overhead when missed."""
    heads = {"top_imports_beyond_baseline_ms": "top-level import: ms of its modules `import typer` lacks",
             "import_self_ms_by_package": "package: import self time of those modules, ms",
             "profile_own_ms_by_package": "package: cProfile own time, ms",
             "profile_top_cumulative_ms": "function: cProfile cumulative, ms"}  # fmt: skip
    out = []
    for k, d in res["diagnostics"].items():
        out.append(f"### {title[k]}: {d['modules_beyond_baseline']} modules beyond the baseline\n")
        for key, head in heads.items():
            out += c.table(tuple(head.split(": ")), [(n, f"{v:.1f}") for n, v in d[key].items()])
    if "overhead" in res["missed"] or res["diagnose_all"]:
        p, ov = res["overhead"]["profile"], res["overhead"]
        out.append(f"### Grading overhead\n\ncProfile over {p['n']} grades: {p['profiled_ms_per_grade']:.1f} "
                   f"ms a grade under the profiler, {p['server_ms_per_grade']:.2f} ms of it the server's. "
                   "Last, the steps timed alone, without the profiler.\n")  # fmt: skip
        for key, head in (("phases_ms_per_grade", "step"), ("packages_ms_per_grade", "package (own time)"),
                          ("top_cumulative_ms_per_grade", "function (cumulative)")):  # fmt: skip
            out += c.table((head, "ms per grade, profiled"), [(n, f"{v:.2f}") for n, v in p[key].items()])
        out += c.table(("step, timed alone", "ms"), [(n, f"{v:.2f}") for n, v in ov["steps_ms"].items()])
    return out
