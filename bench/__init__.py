"""The benchmarks of `interviewer`: `python -m bench [--quick]` (see bench/__main__.py)."""
