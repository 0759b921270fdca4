"""The local OpenAI-protocol server of tests/openai_server.py in its own process, and its control.

`python -m bench.server` runs that file (nothing is imported from tests/) and answers every chat completion
with a valid grade for the rubric the request carries, timing its handling of each request on the monotonic
clock, which all processes share. It prints `URL <base_url>`, then answers each line on stdin with one:
`latency SECONDS` and `nagle on|off` (Nagle's algorithm on new connections) -> ok; `log` -> the [start, end]
of each request since the last `log`, as JSON; `quit` -> bye.
"""

from __future__ import annotations

import contextlib
import json
import re
import runpy
import subprocess
import sys
import threading

from .common import PY, ROOT, TMP, base_env, now


def grade_reply(request: dict) -> str:
    """A valid grade (every criterion met, 9/10) for the criterion ids of the request's schema or prompt."""
    try:
        ids = request["response_format"]["json_schema"]["schema"]["properties"]["criteria"]["items"]
        ids = ids["properties"]["id"]["enum"]
    except (KeyError, TypeError):
        text = "\n".join(m.get("content", "") for m in request["messages"])
        ids = re.findall(r"^- ([a-z][a-z0-9_]*) \| ", text, flags=re.M)
    crits = [{"id": i, "evidence": "quoted", "verdict": "met", "score": 9.0, "comment": "ok"} for i in ids]
    return json.dumps({
        "criteria": crits, "wrong_claims": [], "strengths": ["clear"], "missing": [], "feedback": "Good.",
        "better_answer": "An outline.", "follow_up": "Why?", "injection_suspected": False, "off_topic": False,
        "holistic_score": 9.0,
    })  # fmt: skip


def serve() -> None:
    ns = runpy.run_path(str(ROOT / "tests" / "openai_server.py"))
    handler, timings, lock = ns["_Handler"], [], threading.Lock()
    post = handler.do_POST

    def timed_post(self) -> None:
        started = now()
        try:
            post(self)
        finally:
            with lock:
                timings.append((started, now()))

    handler.do_POST, handler.disable_nagle_algorithm = timed_post, True
    server = ns["FakeOpenAI"](default=ns["Reply"](grade_reply)).start()
    print(f"URL {server.base_url}", flush=True)
    for line in sys.stdin:
        (cmd, _, arg), reply = line.strip().partition(" "), "ok"
        if cmd == "quit":
            break
        if cmd == "latency":
            server.latency = float(arg)
        elif cmd == "nagle":
            handler.disable_nagle_algorithm = arg == "off"
        elif cmd == "log":
            with lock:
                reply, timings[:] = json.dumps(timings), []
        print(reply, flush=True)
    server.stop()
    print("bye", flush=True)


class Server:
    """The server process: replies are valid grades; request handling times are logged."""

    def __init__(self):
        cmd, io = [PY, "-m", "bench.server"], subprocess.PIPE
        self.p = subprocess.Popen(cmd, stdin=io, stdout=io, text=True, env=base_env(TMP), cwd=ROOT)
        if not (first := self.p.stdout.readline().strip()).startswith("URL "):
            raise RuntimeError(f"the local server did not start: {first!r}")
        self.url = first[4:]

    def ask(self, line: str) -> str:
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def latency(self, seconds: float) -> None:
        assert self.ask(f"latency {seconds}") == "ok"

    def nagle(self, on: bool) -> None:
        assert self.ask(f"nagle {'on' if on else 'off'}") == "ok"

    def log(self) -> list[tuple[float, float]]:
        """(start, end) of each chat request handled since the last call, on the monotonic clock."""
        return [tuple(x) for x in json.loads(self.ask("log"))]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ask("quit")
            self.p.wait(timeout=10)
        self.p.kill()
        self.p.wait()


def request_span(requests: list[tuple[float, float]]) -> tuple[float, float]:
    """When the first of these requests reached the server, and when the last reply was sent."""
    return min(s for s, _ in requests), max(e for _, e in requests)


if __name__ == "__main__":
    serve()
