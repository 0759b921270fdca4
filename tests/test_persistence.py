"""A killed process loses no answer; `resume` finishes the session without duplicates."""

import os
import signal
import sqlite3
import subprocess
import sys

import pytest
from conftest import ROOT, grade_reply
from openai_server import Hang, Reply

pytestmark = pytest.mark.slow


def test_kill_during_grading_then_resume(tmp_path, home, llm_server):
    answers = tmp_path / "a.txt"
    answers.write_text("第一个回答：并行、全局感受野\n---\n第二个回答\n---\n第三个回答\n", encoding="utf-8")
    env = {
        **os.environ,
        "INTERVIEWER_HOME": str(home),
        "INTERVIEWER_MODEL": "openai/fake-model",
        "INTERVIEWER_API_BASE": llm_server.base_url,
        "INTERVIEWER_TIMEOUT": "60",
    }
    llm_server.script(Hang(60))  # the first grade never arrives
    proc = subprocess.Popen(
        [sys.executable, "-m", "interviewer", "start", "-n", "3", "--order", "bank", "--answers", str(answers)],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert llm_server.wait_for_requests(1, timeout=60)  # the answer was committed before this request
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    db = sqlite3.connect(home / "interviewer.db")
    assert db.execute("SELECT answer FROM turns").fetchall() == [("第一个回答：并行、全局感受野",)]
    assert db.execute("SELECT COUNT(*) FROM grades").fetchone() == (0,)

    llm_server.default = Reply(grade_reply())
    rest = tmp_path / "rest.txt"
    rest.write_text("第二个回答\n---\n第三个回答\n", encoding="utf-8")
    r = subprocess.run(
        [sys.executable, "-m", "interviewer", "resume", "--answers", str(rest)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = db.execute("SELECT idx, answer FROM turns ORDER BY idx").fetchall()
    assert rows == [(0, "第一个回答：并行、全局感受野"), (1, "第二个回答"), (2, "第三个回答")]
    assert db.execute("SELECT COUNT(DISTINCT turn_id) FROM grades WHERE status='graded'").fetchone() == (3,)
    assert db.execute("SELECT status FROM sessions").fetchall() == [("finished",)]
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
