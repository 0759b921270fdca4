"""Long work reports progress (done/total, rate, ETA) on stderr in a terminal, and says nothing elsewhere."""

import io
import json
import os
import subprocess
import sys

import pexpect
import pytest
from conftest import ROOT

from interviewer.progressbar import Progress, duration, final_line, progress_line

ANSWER = "Transformer 可以并行计算，任意两个位置直接交互，有全局感受野。"


def test_progress_line_shows_done_total_share_rate_and_time_left():
    assert progress_line("grading", 12, 50, 4.0) == (
        "grading 12/50 █████░░░░░░░░░░░░░░░  24%  3.0/s  ETA 0:13"
    )
    assert progress_line("grading", 0, 50, 0.0).endswith("  0%  -/s  ETA --:--")
    assert progress_line("grading", 1, 10, 30.0).endswith("2.0/min  ETA 4:30")
    assert final_line("grading", 50, 50, 12.4) == "grading 50/50 in 0:12 (4.0/s)"
    assert [duration(s) for s in (None, 7, 750, 3723)] == ["--:--", "0:07", "12:30", "1:02:03"]


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_draws_in_place_on_a_terminal_and_nothing_elsewhere():
    clock = iter(range(100)).__next__
    tty = FakeTerminal()
    with Progress("grading", tty, clock=lambda: float(clock())) as p:
        p.start(3)
        for _ in range(3):
            p.advance()
        p.write("line\n", out := io.StringIO())
    assert out.getvalue() == "line\n"
    drawn = tty.getvalue()
    assert "\r" in drawn and "grading 3/3 " in drawn and drawn.endswith("\n")
    assert "grading 3/3 in " in drawn.rsplit("\r", 1)[1]

    pipe = io.StringIO()
    with Progress("grading", pipe) as p:
        p.start(3)
        p.advance()
        p.write("line\n", out := io.StringIO())
    assert pipe.getvalue() == "" and out.getvalue() == "line\n"


def batch_file(tmp_path, n):
    p = tmp_path / "batch.jsonl"
    lines = [json.dumps({"id": i, "question_id": "1.1", "answer": f"{ANSWER} {i}"}) for i in range(n)]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def spawn(home, command, **env):
    full = {**os.environ, "INTERVIEWER_HOME": str(home), "NO_COLOR": "1", "TERM": "xterm", **env}
    return pexpect.spawn(
        "sh", ["-c", command], env=full, cwd=str(ROOT), encoding="utf-8", timeout=60, dimensions=(24, 120)
    )


def finished(child):
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before


@pytest.mark.slow
def test_batch_grading_regrading_and_calibration_show_progress_in_a_terminal(cli, tmp_path, home):
    py = f"{sys.executable} -m interviewer"
    out = tmp_path / "out.jsonl"
    child = spawn(home, f"{py} grade --batch {batch_file(tmp_path, 40)} > {out}")  # stderr is the terminal
    child.expect(r"grading 40/40 in \d+:\d\d \(")
    finished(child)
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == list(range(40))

    answers = tmp_path / "a.txt"
    answers.write_text(f"{ANSWER}\n---\n{ANSWER}\n---\n不知道\n", encoding="utf-8")
    assert cli("start", "-n", "3", "--order", "bank", "--answers", str(answers)).exit_code == 0
    child = spawn(home, f"{py} regrade last")
    child.expect(r"regrading 3/3 in ")
    child.expect("Regraded 3 answer")
    finished(child)

    child = spawn(home, f"{py} calibrate {ROOT / 'tests' / 'data' / 'calibration.jsonl'}")
    child.expect(r"grading \d+/227 [█░]+ +\d+%  \S+/(s|min)  ETA ")  # drawn while it runs
    child.expect(r"grading 227/227 in ")
    child.expect("Spearman")
    finished(child)


@pytest.mark.slow
def test_llm_calibration_shows_progress_in_a_terminal(tmp_path, home, llm_env):
    examples = tmp_path / "cal.jsonl"
    examples.write_text(
        "".join(
            json.dumps({"question_id": "1.1", "answer": f"{ANSWER} {i}", "score": 7}) + "\n" for i in range(4)
        ),
        encoding="utf-8",
    )
    child = spawn(home, f"{sys.executable} -m interviewer calibrate {examples} --grader llm")
    child.expect(r"grading 4/4 in ")
    child.expect("grader: llm")
    finished(child)
    assert len(llm_env.requests) == 4


def test_nothing_is_drawn_when_stderr_is_not_a_terminal(cli, tmp_path, home):
    env = {**os.environ, "INTERVIEWER_HOME": str(home)}
    r = subprocess.run(
        [sys.executable, "-m", "interviewer", "grade", "--batch", str(batch_file(tmp_path, 5))],
        capture_output=True, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 5
    assert "\r" not in r.stderr and r.stderr.startswith("batch run ") and len(r.stderr.splitlines()) == 1
    answers = tmp_path / "a.txt"
    answers.write_text(f"{ANSWER}\n", encoding="utf-8")
    assert cli("start", "-n", "1", "--answers", str(answers)).exit_code == 0
    r = cli("regrade", "last")  # CliRunner's stderr is not a terminal either
    assert r.exit_code == 0 and "regrading" not in r.stderr and "\r" not in r.stderr
