"""The local OpenAI-protocol server (tests/openai_server.py) in its own process, for the benchmark.

Every chat completion is answered with a valid grade for the rubric the request carries
(tests/conftest.py: grade_reply). The handling time of each request is recorded on the monotonic clock,
which is shared by all processes on the machine, so the benchmark can line it up with its own timings.

Control on stdin, one command a line; each gets one line of reply on stdout:
    latency SECONDS   set the reply latency                 -> ok
    nagle on|off      Nagle's algorithm on new connections   -> ok
    log               timings since the last `log`, as JSON  -> [[start, end], ...]
    quit              stop the server and exit               -> bye
The first line printed is `URL <base_url>`.

TCP_NODELAY is set on every connection by default (`nagle off`), as production servers do: http.server sends
a reply's headers and body in two writes, and with Nagle's algorithm the body then waits for the client's
delayed ACK (about 40 ms on Linux), which would be counted as client overhead.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

import openai_server  # noqa: E402
from conftest import grade_reply  # noqa: E402

_log: list[tuple[float, float]] = []
_log_lock = threading.Lock()
_original_post = openai_server._Handler.do_POST


def _timed_post(self) -> None:
    started = time.clock_gettime(time.CLOCK_MONOTONIC)
    try:
        _original_post(self)
    finally:
        ended = time.clock_gettime(time.CLOCK_MONOTONIC)
        with _log_lock:
            _log.append((started, ended))


def main() -> None:
    openai_server._Handler.do_POST = _timed_post
    openai_server._Handler.disable_nagle_algorithm = True
    latency = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    server = openai_server.FakeOpenAI(default=openai_server.Reply(grade_reply()), latency=latency)
    server.start()
    print(f"URL {server.base_url}", flush=True)
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "latency":
            server.latency = float(arg)
            print("ok", flush=True)
        elif cmd == "nagle" and arg in ("on", "off"):
            openai_server._Handler.disable_nagle_algorithm = arg == "off"
            print("ok", flush=True)
        elif cmd == "log":
            with _log_lock:
                out = list(_log)
                _log.clear()
            print(json.dumps(out), flush=True)
        elif cmd == "quit":
            break
        else:
            print(f"unknown command {cmd!r}", flush=True)
    server.stop()
    print("bye", flush=True)


if __name__ == "__main__":
    main()
