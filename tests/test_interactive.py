"""The interactive loop in a real pseudo-terminal: hint, skip, answer, Ctrl-C, resume."""

import os
import sqlite3
import sys

import pexpect
import pytest
from conftest import ROOT

SUBMIT = "\x1b\r"  # Esc+Enter


@pytest.fixture
def spawn(home):
    children = []

    def run(*args):
        env = {**os.environ, "INTERVIEWER_HOME": str(home), "NO_COLOR": "1", "TERM": "xterm"}
        child = pexpect.spawn(
            sys.executable, ["-m", "interviewer", *args], env=env, cwd=str(ROOT), encoding="utf-8", timeout=30,
            dimensions=(40, 160),
        )  # fmt: skip
        children.append(child)
        return child

    yield run
    for c in children:
        c.terminate(force=True)


def turns(home):
    with sqlite3.connect(home / "interviewer.db") as db:
        return db.execute("SELECT idx, answer, hint_used FROM turns ORDER BY idx").fetchall()


def test_hint_skip_answer_ctrl_c_and_resume(spawn, home):
    child = spawn("start", "-n", "3", "--order", "bank")
    child.expect("Question 1/3")
    child.expect("to submit")
    child.send(":hint\r")
    child.expect("Hint: 从并行化")
    child.expect("to submit")
    child.send("Transformer 可以并行计算，因为不依赖上一个时间步；任意两个位置直接交互。" + SUBMIT)
    child.expect("Score:")
    child.expect("Question 2/3")
    child.expect("to submit")
    child.send(":skip\r")
    child.expect("Question 3/3")
    child.expect("to submit")
    child.sendintr()
    child.expect("interviewer resume")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    rows = turns(home)
    assert [(i, h) for i, _, h in rows] == [(0, 1), (1, 0)]
    assert rows[1][1] == ""  # skipped

    child = spawn("resume")
    child.expect("Question 3/3")
    child.expect("to submit")
    child.send("残差连接让梯度直接回传，LayerNorm 控制尺度。" + SUBMIT)
    child.expect("finished")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert [i for i, _, _ in turns(home)] == [0, 1, 2]
