"""`python bench/run.py ...` is `python -m bench ...`, run from the repository root."""

import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path[0] = str(Path(__file__).resolve().parent.parent)  # the repository root, not bench/
    runpy.run_module("bench", run_name="__main__", alter_sys=True)
