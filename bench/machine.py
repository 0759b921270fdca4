"""The machine the benchmark runs on, and how busy other work kept it during the run."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
from pathlib import Path
from typing import Any

PACKAGES = ("interviewer", "typer", "litellm", "openai", "httpx", "pydantic", "tiktoken", "jinja2")


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 1024**2, 1)
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "usable_cpus": affinity,
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "python_impl": platform.python_implementation(),
        "os": platform.platform(),
        "packages": versions,
    }


def cpu_busy_s() -> float | None:
    """CPU time used by the whole machine so far (all cores), from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class Noise:
    """The load average and the CPU time other processes use, from creation to `result()`."""

    def __init__(self) -> None:
        self.busy0, self.own0, self.load0 = cpu_busy_s(), own_cpu_s(), os.getloadavg()

    def result(self) -> dict[str, Any]:
        busy1, own1 = cpu_busy_s(), own_cpu_s()
        return {
            "loadavg_start": self.load0,
            "loadavg_end": os.getloadavg(),
            "other_cpu_s": None
            if self.busy0 is None
            else max(0.0, (busy1 - self.busy0) - (own1 - self.own0)),
        }
