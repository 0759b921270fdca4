"""Reading cProfile statistics: own time by package, the largest cumulative times by function."""

from __future__ import annotations

import pstats
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path


def package_of(filename: str) -> str:
    if filename.startswith("<") or filename == "~":
        return "C functions (I/O, sockets, json, re, marshal, ...)"
    m = re.search(r"site-packages/([^/]+)", filename)
    if m:
        return m.group(1).removesuffix(".py")
    if "/interviewer/" in filename:
        return "interviewer"
    return "stdlib"


def own_time_by_package(st: pstats.Stats) -> list[tuple[str, float]]:
    """Own (not cumulative) seconds per package, largest first."""
    by_pkg: dict[str, float] = defaultdict(float)
    for (filename, _line, _func), (_cc, _nc, tt, _ct, _callers) in st.stats.items():
        by_pkg[package_of(filename)] += tt
    return sorted(by_pkg.items(), key=lambda kv: -kv[1])


def top_cumulative(st: pstats.Stats, keep: Callable[[str, str], bool], limit: int) -> list[tuple[float, str]]:
    """(cumulative seconds, `folder/file.py:line(function)`) of the functions `keep(filename, function)`
    accepts, largest first."""
    found = [
        (ct, f"{Path(fn).parent.name}/{Path(fn).name}:{ln}({func})")
        for (fn, ln, func), (_cc, _nc, _tt, ct, _callers) in st.stats.items()
        if keep(fn, func)
    ]
    return sorted(found, reverse=True)[:limit]
