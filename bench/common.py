"""What the benchmark's parts share: paths, the clock, statistics, the inputs, the environment of each command
(a fresh INTERVIEWER_HOME in a temporary folder, no keys, no way off the machine) and timed processes."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
PY, MODEL = sys.executable, "openai/fake-model"
CALIBRATION = ROOT / "tests" / "data" / "calibration.jsonl"  # read as data
TMP = Path(tempfile.mkdtemp(prefix="interviewer-bench-"))
atexit.register(shutil.rmtree, TMP, True)
_ids = iter(range(1, 10**9))
# A child's peak RSS as wait4 reports it is at least this process's own at the fork (the child keeps its
# memory until it execs), so each command runs under GNU time, a small process, which reports the command's.
TIME = ["/usr/bin/time", "-f", "%M", "-o"] if Path("/usr/bin/time").exists() else None


def now() -> float:
    """The monotonic clock, which the server process shares."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def p50_p95(values_ms: list[float], prefix: str = "") -> dict[str, float]:
    p95 = statistics.quantiles(values_ms, n=20, method="inclusive")[18]  # linear interpolation
    return {f"{prefix}p50_ms": statistics.median(values_ms), f"{prefix}p95_ms": p95}


def medians(samples: list[dict]) -> dict[str, float]:
    return {k: statistics.median(s[k] for s in samples) for k in samples[0]}


def time_calls(fn, n: int) -> tuple[list[float], list]:
    """fn(0), ..., fn(n - 1), each timed alone: the durations in seconds, and the results."""
    times, results = [], []
    for i in range(n):
        t = now()
        results.append(fn(i))
        times.append(now() - t)
    return times, results


def calibration() -> list[dict]:
    return [json.loads(x) for x in CALIBRATION.read_text(encoding="utf-8").splitlines() if x.strip()]


def answers_file(n: int) -> Path:
    """An --answers file: a real answer (the first in the calibration file) to n distinct questions."""
    seen: dict[str, dict] = {}
    for o in calibration():
        seen.setdefault(o["question_id"], {"question_id": o["question_id"], "answer": o["answer"]})
    assert len(seen) >= n, "not enough distinct questions in the calibration file"
    return write_jsonl(TMP / f"answers{n}.jsonl", list(seen.values())[:n])


def answer_300() -> str:
    """A 300-character Chinese answer: the first calibration answer that long, cut to 300 characters."""
    return next(o["answer"][:300] for o in calibration() if len(o["answer"]) >= 300)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def cli_path() -> str:
    """The console script beside this interpreter (a pyenv shim would add its own start-up to every run)."""
    beside = Path(PY).parent / "interviewer"
    if found := str(beside) if beside.exists() else shutil.which("interviewer"):
        return found
    sys.exit("interviewer is not installed: pip install -e '.[test]'")


def fresh_home() -> Path:
    (home := TMP / f"home{next(_ids)}").mkdir()
    return home


def base_env(home: Path, **extra: str) -> dict[str, str]:
    drop = ("VISUAL", "EDITOR", "PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE")  # .pyc as installed
    proxies = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
    env = {k: v for k, v in os.environ.items() if k not in drop and k.upper() not in proxies}
    env = {k: v for k, v in env.items() if not k.startswith("INTERVIEWER_") and not k.endswith("_API_KEY")}
    env |= {k: "http://127.0.0.1:9" for p in proxies[:3] for k in (p, p.lower())}  # leaving the machine fails
    env |= {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", "NO_COLOR": "1"}
    return env | {"INTERVIEWER_HOME": str(home), "LITELLM_LOCAL_MODEL_COST_MAP": "True"} | extra


def llm_env(home: Path, url: str) -> dict[str, str]:
    return base_env(home, INTERVIEWER_MODEL=MODEL, INTERVIEWER_API_BASE=url, INTERVIEWER_TIMEOUT="30")


def run(cmd: list[str], env: dict, marker: bytes | None = None, kill_at_marker=False, check=True):
    """Run a command: wall time to exit, time until `marker` first appears on stdout (`marker_at`), peak RSS,
    CPU time (wait4), stdout, and when it started (`t0`) and was reaped (`end`) on the monotonic clock."""
    rss_file, pipe = TMP / f"rss{next(_ids)}", subprocess.PIPE
    with tempfile.TemporaryFile() as err:
        t0 = now()
        full = [*TIME, str(rss_file), *cmd] if TIME else cmd
        p = subprocess.Popen(full, stdout=pipe, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=ROOT,
                             start_new_session=True)  # fmt: skip

        def kill() -> None:  # the command and GNU time: the whole process group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)

        timer, buf, marker_at = threading.Timer(300, kill), bytearray(), None
        timer.start()
        while chunk := os.read(p.stdout.fileno(), 65536):
            buf += chunk
            if marker is not None and marker_at is None and marker in buf:
                marker_at = now() - t0
                if kill_at_marker:
                    kill()
        _, status, usage = os.wait4(p.pid, 0)
        wall = now() - t0
        timer.cancel()
        p.stdout.close()
        err.seek(0)
        stderr, out = err.read().decode("utf-8", "replace"), buf.decode("utf-8", "replace")
    if check and (rc := os.waitstatus_to_exitcode(status)) != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {rc}\n{stderr[-1500:]}\n{out[-500:]}")
    rss = (rss_file.read_text().split() if rss_file.exists() else []) if TIME else [str(usage.ru_maxrss)]
    rss_kb = int(rss[-1]) if rss and rss[-1].isdigit() else None  # none if the command was killed
    cpu, end = usage.ru_utime + usage.ru_stime, t0 + wall
    return SimpleNamespace(
        wall=wall, marker_at=marker_at, rss_kb=rss_kb, cpu_s=cpu, stdout=out, t0=t0, end=end
    )


def table(head: tuple[str, ...], rows: list) -> list[str]:
    """A Markdown table, and the blank line after it."""
    return ["| " + " | ".join(map(str, r)) + " |" for r in [head, ["---"] * len(head), *rows]] + [""]


def ungraded(stdout: str) -> bool:
    """The session summary reports an answer left ungraded."""
    return re.search(r"\b[1-9]\d* ungraded", stdout) is not None
