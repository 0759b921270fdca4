"""What every part of the benchmark shares: paths, the clock, statistics, the environment each command runs
in (a fresh INTERVIEWER_HOME in a temporary folder, no keys, no way off the machine) and timed processes."""

from __future__ import annotations

import atexit
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PY = sys.executable
MODEL = "openai/fake-model"


def now() -> float:
    """The monotonic clock, shared with the server process (bench/serve.py)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ statistics


def pct(values: list[float], q: float) -> float:
    """Percentile with linear interpolation (q in 0..100)."""
    s = sorted(values)
    if not s:
        return math.nan
    k = (len(s) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def p50_p95(values_ms: list[float], prefix: str = "") -> dict[str, float]:
    """{prefix}p50_ms and {prefix}p95_ms of values already in milliseconds."""
    return {f"{prefix}p50_ms": pct(values_ms, 50), f"{prefix}p95_ms": pct(values_ms, 95)}


def medians(samples: list[dict], keys: Iterable[str] | None = None) -> dict[str, float]:
    """The median of each field (by default every field of the first sample) over a list of samples."""
    return {k: statistics.median(s[k] for s in samples) for k in (keys or samples[0])}


def time_calls(fn: Callable[[int], Any], n: int) -> tuple[list[float], list[Any]]:
    """fn(0), ..., fn(n - 1), each timed alone on the monotonic clock: the durations in seconds, the results."""
    times, results = [], []
    for i in range(n):
        t = now()
        r = fn(i)
        times.append(now() - t)
        results.append(r)
    return times, results


# ------------------------------------------------------------------ environment


def cli_path() -> str:
    """The console script next to this interpreter (a pyenv shim would add its own start-up to every run)."""
    beside = Path(PY).parent / "interviewer"
    if beside.exists():
        return str(beside)
    found = shutil.which("interviewer")
    if not found:
        sys.exit("interviewer is not installed: pip install -e '.[test]'")
    return found


TMP = Path(tempfile.mkdtemp(prefix="interviewer-bench-"))
atexit.register(shutil.rmtree, TMP, True)
_homes = iter(range(1, 10**9))


def fresh_home() -> Path:
    home = TMP / f"home{next(_homes)}"
    home.mkdir()
    return home


def base_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("INTERVIEWER_")
        and not k.endswith("_API_KEY")
        and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
        # bytecode is written and read as in a normal install (some sandboxes set PYTHONDONTWRITEBYTECODE)
        and k not in ("VISUAL", "EDITOR", "PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE")
    }
    closed = "http://127.0.0.1:9"  # any attempt to leave the machine fails at once
    env |= {
        "INTERVIEWER_HOME": str(home),
        "NO_COLOR": "1",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "HTTP_PROXY": closed,
        "HTTPS_PROXY": closed,
        "ALL_PROXY": closed,
        "http_proxy": closed,
        "https_proxy": closed,
        "all_proxy": closed,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    return env | extra


def llm_env(home: Path, url: str, **extra: str) -> dict[str, str]:
    return base_env(
        home, INTERVIEWER_MODEL=MODEL, INTERVIEWER_API_BASE=url, INTERVIEWER_TIMEOUT="30", **extra
    )


# ------------------------------------------------------------------ processes


@dataclass
class Proc:
    cmd: list[str]
    rc: int
    wall: float
    marker_at: float | None
    rss_kb: int
    stdout: str
    stderr: str
    t0: float
    cpu_s: float | None = None

    @property
    def end(self) -> float:
        """When the process was reaped, on the monotonic clock."""
        return self.t0 + self.wall

    def check(self) -> Proc:
        if self.rc != 0:
            raise RuntimeError(
                f"{' '.join(self.cmd)} exited {self.rc}\nstderr: {self.stderr[-1500:]}\nstdout: {self.stdout[-500:]}"
            )
        return self


def run_proc(
    cmd: list[str],
    env: dict[str, str],
    marker: bytes | None = None,
    timeout: float = 300,
    kill_at_marker: bool = False,
) -> Proc:
    """Run a command; wall time to exit, time until `marker` first appears on stdout, peak RSS (wait4)."""
    with tempfile.TemporaryFile() as err:
        t0 = now()
        p = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=ROOT
        )
        timer = threading.Timer(timeout, p.kill)
        timer.start()
        fd = p.stdout.fileno()
        buf = bytearray()
        marker_at = None
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buf += chunk
            if marker is not None and marker_at is None and marker in buf:
                marker_at = now() - t0
                if kill_at_marker:
                    p.kill()
        _, status, usage = os.wait4(p.pid, 0)
        wall = now() - t0
        timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        p.stdout.close()
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    out = buf.decode("utf-8", "replace")
    cpu = usage.ru_utime + usage.ru_stime
    return Proc(cmd, p.returncode, wall, marker_at, usage.ru_maxrss, out, stderr, t0, cpu)


def ungraded(stdout: str) -> bool:
    """The session summary reports an answer left ungraded."""
    return re.search(r"\b[1-9]\d* ungraded", stdout) is not None
