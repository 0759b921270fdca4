"""Where the start-up time goes, for the missed start-up targets (or all with --diagnose): `python -X importtime`
and cProfile of each command, against `import typer`."""

from __future__ import annotations

import io
import pstats
import re
import subprocess
from collections import defaultdict
from pathlib import Path

from common import PY, ROOT, TMP, base_env, fresh_home
from profiles import own_time_by_package, top_cumulative

IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
TYPER_STEPS = {  # typer's own steps worth naming in a start-up profile
    "get_command": "builds the click command tree from the functions",
    "get_runtime_param": "builds pydantic TypeAdapters to coerce the given parameters",
}
CLI_PROBE = (
    "import sys\nfrom interviewer.cli import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
)


def new_import_cost(lines: list[tuple[int, int, int, str]], known: set[str]) -> list[tuple[float, str]]:
    """Per top-level import: the self time of the modules under it that `known` (the baseline) lacks, in ms.

    `-X importtime` prints a module after everything it imports, one indent deeper per level."""
    pending: list[tuple[int, int]] = []  # (depth, new microseconds of a finished subtree)
    out = []
    for self_us, _cum, depth, name in lines:
        total = 0 if name in known else self_us
        while pending and pending[-1][0] > depth:
            total += pending.pop()[1]
        if depth == 0:
            out.append((total / 1000, name))
        else:
            pending.append((depth, total))
    return sorted(out, reverse=True)


def importtime(code: str, env: dict[str, str]) -> list[tuple[int, int, int, str]]:
    """(self µs, cumulative µs, depth, module) of each import `python -X importtime -c code` reports."""
    r = subprocess.run(
        [PY, "-X", "importtime", "-c", code], capture_output=True, text=True, env=env, cwd=ROOT
    )
    out = []
    for line in r.stderr.splitlines():
        m = IMPORT_LINE.match(line)
        if m:
            out.append((int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2, m.group(4)))
    return out


def top_level_ms(lines: list[tuple[int, int, int, str]]) -> float:
    """The cumulative time of the top-level imports, in ms."""
    return sum(c for _, c, d, _ in lines if d == 0) / 1000


def profile_command(name: str, args: list[str]) -> pstats.Stats | None:
    """cProfile of the CLI run in-process with `args` in a fresh interpreter (None if it wrote no profile)."""
    stats_file = TMP / f"profile-{name}.prof"
    prof_code = (
        f"import cProfile, sys\nsys.argv = ['interviewer', *{args!r}]\n"
        f"cProfile.run({CLI_PROBE.format(args=args)!r}, {str(stats_file)!r})\n"
    )
    subprocess.run(
        [PY, "-c", prof_code], capture_output=True, env=base_env(fresh_home()), cwd=ROOT, check=False
    )
    if not stats_file.exists():
        return None
    return pstats.Stats(str(stats_file), stream=io.StringIO())


def ours_or_typer_step(fn: str, func: str) -> bool:
    """The project's own functions, and typer's steps named in TYPER_STEPS."""
    ours = "/interviewer/" in fn and func not in ("<module>", "main")
    return ours or ("site-packages/typer" in fn and func in TYPER_STEPS)


def diagnose_startup(names: list[str], answers5: Path) -> dict:
    """python -X importtime and cProfile of each missed start-up command, against `import typer`."""
    argv = {
        "help": ["--help"],
        "bank_list": ["bank", "list"],
        "first_question": ["start", "--answers", str(answers5)],
    }
    env = base_env(fresh_home())
    base = importtime("import typer", env)
    base_mods = {m for *_, m in base}
    out = {"baseline_import_ms": top_level_ms(base), "commands": {}}
    for name in names:
        if name not in argv:
            continue
        it = importtime(CLI_PROBE.format(args=argv[name]), base_env(fresh_home()))
        top = [(t, m) for t, m in new_import_cost(it, base_mods) if t >= 0.1][:12]
        extra_mods = [m for *_, m in it if m not in base_mods]
        self_by_pkg: dict[str, int] = defaultdict(int)
        for s, _, _, m in it:
            if m not in base_mods:
                self_by_pkg[m.split(".")[0]] += s
        # cProfile of the same run, grouped by package (own time, imports included)
        st = profile_command(name, argv[name])
        by_pkg = own_time_by_package(st) if st is not None else []
        funcs = top_cumulative(st, ours_or_typer_step, 15) if st is not None else []
        out["commands"][name] = {
            "import_ms": top_level_ms(it),
            "modules_beyond_baseline": len(extra_mods),
            "top_imports_beyond_baseline_ms": [(m, t) for t, m in top],
            "self_import_ms_by_package": {
                k: v / 1000 for k, v in sorted(self_by_pkg.items(), key=lambda kv: -kv[1])[:10]
            },
            "profile_own_ms_by_package": {k: v * 1000 for k, v in by_pkg[:10]},
            "profile_top_cumulative_ms": [(f, c * 1000) for c, f in funcs],
        }
    return out
