"""Control of the local OpenAI-protocol server (bench/serve.py), which runs in its own process."""

from __future__ import annotations

import contextlib
import json
import subprocess

from common import BENCH, PY, ROOT, TMP, base_env


class Server:
    """bench/serve.py in its own process: replies are valid grades; request handling times are logged."""

    def __init__(self, latency: float = 0.0):
        env = base_env(TMP)
        self.p = subprocess.Popen(
            [PY, str(BENCH / "serve.py"), str(latency)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        first = self.p.stdout.readline().strip()
        if not first.startswith("URL "):
            raise RuntimeError(f"the local server did not start: {first!r}")
        self.url = first[4:]

    def _ask(self, line: str) -> str:
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def latency(self, seconds: float) -> None:
        assert self._ask(f"latency {seconds}") == "ok"

    def nagle(self, on: bool) -> None:
        assert self._ask(f"nagle {'on' if on else 'off'}") == "ok"

    def log(self) -> list[tuple[float, float]]:
        """(start, end) of each chat request handled since the last call, on the monotonic clock."""
        return [tuple(x) for x in json.loads(self._ask("log"))]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._ask("quit")
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def request_span(requests: list[tuple[float, float]]) -> tuple[float, float]:
    """When the first of these requests reached the server, and when the last reply was sent."""
    return min(s for s, _ in requests), max(e for _, e in requests)
