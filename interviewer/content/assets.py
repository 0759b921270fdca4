"""Where the shipped assets (bank/, rubrics/, prompts/) are: inside the wheel, or beside the package in a checkout."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path


@cache
def asset_dir(name: str) -> Path:
    packaged = resources.files("interviewer") / "_assets" / name
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / name
