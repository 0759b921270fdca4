"""The interactive loop in a real pseudo-terminal: hint, skip, retry, follow-up, time limit, Ctrl-C and resume."""

import json
import os
import sqlite3
import sys

import pexpect
import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow

SUBMIT = "\x1b\r"  # Esc+Enter
PROMPT = "to submit"


@pytest.fixture
def spawn(home):
    children = []

    def run(*args, colour=False):
        env = {**os.environ, "INTERVIEWER_HOME": str(home), "NO_COLOR": "1", "TERM": "xterm"}
        if colour:
            env.pop("NO_COLOR")
        child = pexpect.spawn(
            sys.executable, ["-m", "interviewer", *args], env=env, cwd=str(ROOT), encoding="utf-8", timeout=30,
            dimensions=(40, 160),
        )  # fmt: skip
        children.append(child)
        return child

    yield run
    for c in children:
        c.terminate(force=True)


def rows(home, sql):
    with sqlite3.connect(home / "interviewer.db") as db:
        return db.execute(sql).fetchall()


def test_hint_retry_skip_ctrl_c_and_resume(spawn, home):
    child = spawn("start", "-n", "3", "--order", "bank", "--follow-ups", "0")
    child.expect("Question 1/3")
    child.expect(PROMPT)
    child.send(":hint\r")
    child.expect("Hint: 从并行化")
    child.expect(PROMPT)
    child.send("Transformer 可以并行计算。" + SUBMIT)
    child.expect("Score:")
    child.expect(":retry")
    child.send(":retry\r")
    child.expect("Question 1/3")
    child.expect(PROMPT)
    child.send(
        "RNN 依赖上一步隐藏状态只能串行，Transformer 可以并行；任意两个位置直接交互，因此有全局感受野。"
        + SUBMIT
    )
    child.expect("Before: ")  # the new grade beside the old one
    child.expect("practice after the reference")  # the reference answer was shown with the first grade
    child.expect(":retry")
    child.send("\r")
    child.expect("Question 2/3")
    child.expect(PROMPT)
    child.send(":skip\r")
    child.expect(":retry")
    child.send("\r")
    child.expect("Question 3/3")
    child.expect(PROMPT)
    child.sendintr()
    child.expect("interviewer resume")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    turns = rows(home, "SELECT idx, attempt, answer, hint_used FROM turns ORDER BY idx, attempt")
    assert [(i, a, h) for i, a, _, h in turns] == [(0, 1, 1), (0, 2, 0), (1, 1, 0)]
    assert turns[2][2] == ""  # skipped
    first, second = (
        json.loads(g)["score"] for (g,) in rows(home, "SELECT grade_json FROM grades ORDER BY turn_id")[:2]
    )
    assert second > first  # the better retry
    # ...made after the reference was shown: practice, so the first try, with its hint penalty, still counts
    counted = rows(home, "SELECT idx, attempt, final, after_reference FROM turns ORDER BY idx, attempt")
    assert counted == [(0, 1, 1, 0), (0, 2, 0, 1), (1, 1, 1, 0)]

    child = spawn("resume")
    child.expect("Question 3/3")
    child.expect(PROMPT)
    child.send("残差连接让梯度直接回传，LayerNorm 控制尺度。" + SUBMIT)
    child.expect(":retry")
    child.send("\r")
    child.expect("finished")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert rows(home, "SELECT status FROM sessions") == [("finished",)]


def test_follow_up_is_asked_and_graded_with_the_answer(spawn, home):
    child = spawn("start", "-n", "1", "--order", "bank")
    child.expect("Question 1/1")
    child.expect(PROMPT)
    child.send("Transformer 可以并行计算。" + SUBMIT)
    child.expect("Follow-up")  # asked before the verdict, so the feedback cannot give it away
    child.expect(PROMPT)
    child.send(
        "RNN 的梯度要经过很多步连乘，容易梯度消失；Transformer 路径短，所以长程依赖更容易学。" + SUBMIT
    )
    child.expect("Before: ")
    child.expect(":retry")
    child.send("\r")
    child.expect(pexpect.EOF)
    ((fq, fa),) = rows(home, "SELECT question, answer FROM follow_ups")
    assert "追问" in fq or "?" in fq or "？" in fq
    assert "梯度" in fa
    scores = [json.loads(g)["score"] for (g,) in rows(home, "SELECT grade_json FROM grades ORDER BY id")]
    assert len(scores) == 2 and scores[1] > scores[0]


def test_time_limit_submits_the_answer_so_far(spawn, home):
    child = spawn("start", "-n", "1", "--order", "bank", "--follow-ups", "0", "--time-limit", "10")
    child.expect("Question 1/1")
    child.expect(PROMPT)
    child.expect("left")  # the countdown
    child.send("Transformer 可以并行计算")
    child.expect("Time is up", timeout=20)
    child.expect(":retry")
    child.send("\r")
    child.expect(pexpect.EOF)
    ((answer, duration),) = rows(home, "SELECT answer, duration_s FROM turns")
    assert answer == "Transformer 可以并行计算" and duration == 10


def test_a_live_session_in_a_terminal_shows_colour(spawn):
    child = spawn("start", "-n", "1", "--order", "bank", "--follow-ups", "0", colour=True)
    child.expect("1/1")
    child.expect("submit")
    child.send("RNN 只能串行，Transformer 可以并行计算，任意两个位置直接交互。" + SUBMIT)
    child.expect("Score:")
    child.expect(r"\x1b\[1;3[123]m\d+\.\d/10")  # the score in bold colour
    child.expect("retry")
    child.send("\r")
    child.expect(pexpect.EOF)


def test_a_half_typed_answer_survives_ctrl_c_and_is_offered_back_on_resume(spawn, home):
    child = spawn("start", "-n", "2", "--order", "bank", "--follow-ups", "0")
    child.expect("Question 1/2")
    child.expect(PROMPT)
    child.send("RNN 只能串行，\rTransformer")  # half an answer, over two lines
    child.expect("Transformer")
    child.sendintr()
    child.expect("what you were typing, is saved")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert rows(home, "SELECT idx, text FROM drafts") == [(0, "RNN 只能串行，\nTransformer")]
    assert rows(home, "SELECT COUNT(*) FROM turns") == [(0,)]

    child = spawn("resume")
    child.expect(
        r"Resuming session \d{8}-\d{6}-\w+ \(practice, started [^)]+\): 0 of 2 answered; next: question 1/2"
    )
    child.expect("Question 1/2")
    child.expect("draft of this answer is back")
    child.expect(PROMPT)
    child.expect("Transformer")  # in the editor, to be finished
    child.send(" 可以并行计算，任意两个位置直接交互。" + SUBMIT)
    child.expect("Score:")
    child.expect(":retry")
    child.send("\r")
    child.expect("Question 2/2")
    child.expect(PROMPT)
    child.send(":quit\r")
    child.expect(pexpect.EOF)
    ((answer,),) = rows(home, "SELECT answer FROM turns")
    assert answer == "RNN 只能串行，\nTransformer 可以并行计算，任意两个位置直接交互。"
    assert rows(home, "SELECT COUNT(*) FROM drafts") == [(0,)]  # committed with the answer


def test_a_draft_is_saved_as_it_is_typed_so_even_a_kill_keeps_it(spawn, home):
    import signal
    import time

    child = spawn("start", "-n", "1", "--order", "bank", "--follow-ups", "0")
    child.expect("Question 1/1")
    child.expect(PROMPT)
    child.send("Transformer 可以并行")
    child.expect("并行")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:  # the database is what is waited on: a save within a few seconds
        if rows(home, "SELECT text FROM drafts") == [("Transformer 可以并行",)]:
            break
        time.sleep(0.1)
    child.kill(signal.SIGKILL)
    child.close()
    assert rows(home, "SELECT text FROM drafts") == [("Transformer 可以并行",)]

    child = spawn("resume")
    child.expect("draft of this answer is back")
    child.expect("Transformer 可以并行")


def test_ctrl_c_before_the_first_answer_leaves_no_session_behind(spawn, home):
    child = spawn("start", "-n", "2", "--order", "bank")
    child.expect("Question 1/2")
    child.expect(PROMPT)
    child.sendintr()
    child.expect("the session is not kept")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert rows(home, "SELECT COUNT(*) FROM sessions") == [(0,)]
