"""litellm's fixed cost per process: a bare `import litellm`, and the interpreter's teardown after it."""

from __future__ import annotations

from common import PY, base_env, fresh_home, medians, run_proc

TAX_CODE = """
import atexit, time
T = lambda: time.clock_gettime(time.CLOCK_MONOTONIC)
atexit.register(lambda: print("ATEXIT", T(), flush=True))  # registered first, so it runs last
t = T()
import litellm
print("IMPORTED", t, T(), flush=True)
"""


def bench_litellm_tax(runs: int) -> dict:
    """`import litellm` in a fresh interpreter: the import, and the interpreter's teardown after the last atexit."""
    samples = []
    for _ in range(runs):
        r = run_proc([PY, "-c", TAX_CODE], base_env(fresh_home())).check()
        vals = {ln.split()[0]: [float(x) for x in ln.split()[1:]] for ln in r.stdout.splitlines()}
        start, end = vals["IMPORTED"]
        samples.append(
            {
                "wall_s": r.wall,
                "import_s": end - start,
                "teardown_s": r.end - vals["ATEXIT"][0],
                "rss_kb": r.rss_kb,
                "cpu_s": r.cpu_s,
            }
        )
    return {"runs": runs, "samples": samples} | medians(samples)
