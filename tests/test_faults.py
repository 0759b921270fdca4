"""Provider faults during a scripted session, through the real CLI and the LLM grader against the local server.

Each fault hits the first grade: once (transient: the retry recovers and every answer is graded) or on every
attempt (persistent: that answer is left `ungraded` with the error kept, never 0, and the user gets one clear
line about it, naming the problem and what to do, with no Python internals). A closed port refuses every
grade. The session always finishes with exit code 0, with every answer committed, and nothing on the terminal
looks like a traceback.

The sessions run in-process through `interviewer.cli.main` (the `cli` fixture; pytest's fd capture catches
anything written around it); the last test runs a real `python -m interviewer` process to check its
terminal output as a whole.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import pytest
from conftest import ROOT, grade_reply
from openai_server import Hang, Raw, Reply, Status

RETRIES = 1
TIMEOUT = 1.0

ANSWERS = [
    "Transformer 可以并行计算，任意两个位置直接交互，有全局感受野，梯度路径短。",
    "Encoder-Decoder 用交叉注意力对齐输入输出，适合翻译；Decoder-only 适合生成。",
    "残差连接 y = x + F(x) 让梯度直接回传，LayerNorm 控制激活尺度，训练更稳定。",
]

HTML_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n"
)
# A chat.completion body cut off half-way.
TRUNCATED_BODY = (
    '{"id": "chatcmpl-cut", "object": "chat.completion", "created": 1700000000, "model": "fake-model", '
    '"choices": [{"index": 0, "message": {"role": "assistant", "content": "{\\"criteria\\": [{\\"id'
)

# What the user must be told, per error kind (the grader's ERROR_POLICY hints).
HINTS = {
    "rate_limit": "rate-limiting",
    "server": "server error",
    "timeout": "did not answer in time",
    "connection": "cannot reach the model endpoint",
    "bad_reply": "not a valid grade",
}


def _wrong_ids(req):
    body = json.loads(grade_reply()(req))
    body["criteria"][0]["id"] = "invented_criterion"
    return json.dumps(body)


def _truncated_content(req):
    text = grade_reply()(req)
    return text[: text.index('"verdict"', text.index('"verdict"') + 1)]  # cut inside the second criterion


@dataclass(frozen=True)
class Fault:
    name: str
    step: object  # a server step
    kinds: tuple[str, ...]  # error kinds that describe it fairly (the first is the most precise)


FAULTS = [
    Fault("429-retry-after", Status(429, headers={"Retry-After": "1"}), ("rate_limit",)),
    Fault("500", Status(500), ("server",)),
    Fault("503", Status(503), ("server",)),
    Fault("timeout", Hang(TIMEOUT + 2.5, then=Reply(grade_reply())), ("timeout",)),
    Fault("html-error-page", Status(502, body=HTML_PAGE), ("server",)),
    Fault(
        "non-json-body", Raw(b"upstream said no", content_type="application/json"), ("bad_reply", "server")
    ),
    Fault("truncated-json-body", Raw(TRUNCATED_BODY), ("bad_reply", "server")),
    Fault("truncated-json-reply", Reply(_truncated_content), ("bad_reply",)),
    Fault("wrong-criterion-ids", Reply(_wrong_ids), ("bad_reply",)),
    Fault("out-of-range-values", Reply(grade_reply(score=42, holistic=99)), ("bad_reply",)),
    Fault("empty-content", Reply(""), ("bad_reply",)),
]
# The inner loop tries one fault of each kind (a server error, a body that is not a completion, a reply that is
# not a grade); the full suite tries them all, with those that wait for a real clock (a Retry-After, a timeout).
FAST_FAULTS = {"500", "non-json-body", "wrong-criterion-ids"}
FAULT_PARAMS = [
    pytest.param(f, id=f.name, marks=[] if f.name in FAST_FAULTS else [pytest.mark.slow]) for f in FAULTS
]


@dataclass
class Plan:
    """The server's default: the fault for the first grade (once, or on every attempt), else a valid grade."""

    fault: Fault
    persistent: bool
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: list[tuple[float, bool]] = field(default_factory=list)  # (arrival time, was it the first grade)

    def __call__(self, req):
        first_grade = ANSWERS[0] in json.dumps(req, ensure_ascii=False)
        with self.lock:
            n = len(self.calls)
            self.calls.append((time.monotonic(), first_grade))
        if (self.persistent and first_grade) or (not self.persistent and n == 0):
            return self.fault.step
        return Reply(grade_reply())


def answers_file(tmp_path):
    p = tmp_path / "answers.txt"
    p.write_text("\n---\n".join(ANSWERS) + "\n", encoding="utf-8")
    return p


def db_rows(home, sql, params=()):
    db = sqlite3.connect(home / "interviewer.db")
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def latest_grades(home) -> list[dict]:
    rows = db_rows(
        home,
        """SELECT t.idx, (SELECT grade_json FROM grades g WHERE g.turn_id = t.id ORDER BY g.id DESC LIMIT 1)
           FROM turns t ORDER BY t.idx""",
    )
    return [json.loads(g) if g else None for _, g in rows]


def assert_session_kept_every_answer(home):
    assert db_rows(home, "SELECT idx, answer FROM turns ORDER BY idx") == list(enumerate(ANSWERS))
    assert db_rows(home, "SELECT status FROM sessions") == [("finished",)]
    # never a 0 for a grade that could not be obtained: ungraded rows carry no score
    assert db_rows(home, "SELECT COUNT(*) FROM grades WHERE status != 'graded' AND score IS NOT NULL") == [
        (0,)
    ]
    assert db_rows(home, "PRAGMA integrity_check") == [("ok",)]


def explained(text: str) -> list[str]:
    """The terminal lines that tell the user a grade failed and what to do: they carry the error kind's hint."""
    return [ln for ln in text.splitlines() if any(h in ln for h in HINTS.values())]


def assert_clear(line: str, kinds: tuple[str, ...]):
    assert any(HINTS[k] in line for k in kinds), f"expected a hint for {kinds}: {line}"
    assert len(line) < 600, line
    for internal in ("<class '", "<APIResponse", "object at 0x", "Traceback"):
        assert internal not in line, f"Python internals on the user's terminal: {line}"


def assert_no_traceback(*texts: str):
    for text in texts:
        assert "Traceback" not in text, text
        assert 'File "' not in text, text
        assert "--- Logging error ---" not in text, text
        assert "Give Feedback / Get Help" not in text, text


@pytest.fixture
def fault_env(llm_env, llm_client, monkeypatch):
    """Each session runs once through litellm, once through the openai SDK: the same faults, the same outcomes."""
    monkeypatch.setenv("INTERVIEWER_RETRIES", str(RETRIES))
    monkeypatch.setenv("INTERVIEWER_TIMEOUT", str(TIMEOUT))
    monkeypatch.setenv("INTERVIEWER_CLIENT", llm_client)
    return llm_env


def run_session(cli, tmp_path, *extra: str):
    return cli("start", "-n", "3", "--order", "bank", "--answers", str(answers_file(tmp_path)), *extra)


@pytest.mark.parametrize("fault", FAULT_PARAMS)
def test_transient_fault_is_retried_and_every_answer_graded(cli, tmp_path, home, fault_env, capfd, fault):
    plan = Plan(fault, persistent=False)
    fault_env.default = plan
    r = run_session(cli, tmp_path)
    out, err = capfd.readouterr()
    assert r.exit_code == 0, r
    assert_session_kept_every_answer(home)
    grades = latest_grades(home)
    assert [g["status"] for g in grades] == ["graded"] * 3, grades[0].get("error")
    assert all(g["grader"]["kind"] == "llm" and g["score"] is not None for g in grades)
    # one failed attempt, its retry, then one call for each later answer
    assert [first for _, first in plan.calls] == [True, True, False, False]
    if fault.name.startswith("429"):  # Retry-After: 1 is honoured before the retry
        assert plan.calls[1][0] - plan.calls[0][0] >= 0.9
    assert explained(r.stdout + r.stderr) == []  # recovered: no grade is reported missing
    assert "3 graded, 0 ungraded" in r.stdout
    assert_no_traceback(r.stdout, r.stderr, out, err)


@pytest.mark.parametrize("fault", FAULT_PARAMS)
def test_persistent_fault_leaves_the_answer_ungraded_with_one_clear_line(
    cli, tmp_path, home, fault_env, capfd, fault
):
    plan = Plan(fault, persistent=True)
    fault_env.default = plan
    r = run_session(cli, tmp_path)
    out, err = capfd.readouterr()
    assert r.exit_code == 0, r
    assert_session_kept_every_answer(home)
    first, *rest = latest_grades(home)
    assert first["status"] == "ungraded" and first["score"] is None, first
    assert first["error"].split(":")[0] in fault.kinds, first["error"]  # the error is kept, with its kind
    assert [g["status"] for g in rest] == ["graded", "graded"]  # later answers are not affected
    assert sum(first for _, first in plan.calls) == RETRIES + 1  # every attempt was made, and no more
    lines = explained(r.stdout + r.stderr)
    assert len(lines) == 1, r
    assert_clear(lines[0], fault.kinds)
    assert "1 ungraded" in r.stdout and "interviewer regrade" in r.stdout
    assert_no_traceback(r.stdout, r.stderr, out, err)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_leaves_every_answer_ungraded_and_stops_waiting_after_two(
    cli, tmp_path, home, fault_env, capfd
):
    r = run_session(cli, tmp_path, "--api-base", f"http://127.0.0.1:{closed_port()}/v1")
    out, err = capfd.readouterr()
    assert r.exit_code == 0, r
    assert_session_kept_every_answer(home)
    grades = latest_grades(home)
    assert [(g["status"], g["score"]) for g in grades] == [("ungraded", None)] * 3
    # two answers in a row could not reach the model: the third is not sent, and regrading is said once
    assert [g["error"].split(":")[0] for g in grades] == ["connection", "connection", "not sent"]
    lines = explained(r.stdout + r.stderr)
    assert len(lines) == 2, r
    for line in lines:
        assert_clear(line, ("connection",))
    assert r.stderr.count("regrade") == 1 and "--only-ungraded" in r.stderr
    assert "0 graded, 3 ungraded" in r.stdout
    assert fault_env.requests == []
    assert_no_traceback(r.stdout, r.stderr, out, err)


@pytest.mark.slow
def test_faults_in_a_real_process_print_one_line_each_and_no_traceback(
    tmp_path, home, llm_server, llm_client
):
    """The same checks on a real `python -m interviewer` process: whatever reaches its stdout/stderr counts."""
    steps = {
        ANSWERS[0]: (Status(503), ("server",)),
        ANSWERS[1]: (Status(502, body=HTML_PAGE), ("server",)),
        ANSWERS[2]: (Reply(_wrong_ids), ("bad_reply",)),
    }

    def by_answer(req):
        text = json.dumps(req, ensure_ascii=False)
        return next(step for answer, (step, _) in steps.items() if answer in text)

    llm_server.default = by_answer
    env = {
        **os.environ,
        "INTERVIEWER_HOME": str(home),
        "INTERVIEWER_MODEL": "openai/fake-model",
        "INTERVIEWER_API_BASE": llm_server.base_url,
        "INTERVIEWER_RETRIES": str(RETRIES),
        "INTERVIEWER_TIMEOUT": str(TIMEOUT),
        "INTERVIEWER_CLIENT": llm_client,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "interviewer", "start", "-n", "3", "--order", "bank",
         "--answers", str(answers_file(tmp_path))],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert_session_kept_every_answer(home)
    grades = latest_grades(home)
    assert [g["status"] for g in grades] == ["ungraded"] * 3
    lines = explained(out + err)
    assert len(lines) == 3, out + err
    for line, (_, kinds) in zip(lines, steps.values(), strict=True):
        assert_clear(line, kinds)
    assert_no_traceback(out, err)
    assert err.strip() == "", err  # a scripted session writes nothing else to stderr
    assert len(llm_server.requests) == 3 * (RETRIES + 1)
