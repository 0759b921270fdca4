"""Two `interviewer` processes at once on the same database (same INTERVIEWER_HOME).

Each runs a scripted 5-question session, one in practice mode and one in interview mode (grades on several
threads): with the offline grader (three rounds), with both migrating an old database at the same time, and
with the LLM grader against the local server with latency, so that their grading and writes overlap. Both
finish with all their answers and grades, and `PRAGMA integrity_check` is ok.

The database is created before the pair starts (by `interviewer sessions`); creating it while another process
is writing it has its own test at the end.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, grade_reply
from openai_server import Reply

ANSWERS = [
    "Transformer 可以并行计算，任意两个位置直接交互，有全局感受野，梯度路径短。",
    "Encoder-Decoder 用交叉注意力对齐输入输出，适合翻译；Decoder-only 适合生成。",
    "残差连接 y = x + F(x) 让梯度直接回传，LayerNorm 控制激活尺度，训练更稳定。",
    "位置编码给注意力加入顺序信息：正弦编码、可学习编码、RoPE 旋转位置编码。",
    "GELU 和 SiLU 更平滑，负半轴有非零梯度，训练更稳定。",
]
PROCESSES = {"A": "practice", "B": "interview"}  # name: mode


def answers_for(name: str) -> list[str]:
    return [f"[{name}{i}] {a}" for i, a in enumerate(ANSWERS)]


def run_pair(
    tmp_path, home, extra_env: dict[str, str], round_: int = 0
) -> dict[str, subprocess.CompletedProcess]:
    """Start both processes back to back and wait for both."""
    env = {**os.environ, "INTERVIEWER_HOME": str(home), "NO_COLOR": "1", **extra_env}
    procs = {}
    for name, mode in PROCESSES.items():
        path = tmp_path / f"answers-{name}-{round_}.txt"
        path.write_text("\n---\n".join(answers_for(name)) + "\n", encoding="utf-8")
        procs[name] = subprocess.Popen(
            [sys.executable, "-m", "interviewer", "start", "-n", "5", "--order", "bank", "--mode", mode,
             "--answers", str(path)],
            env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    results = {}
    try:
        for name, p in procs.items():
            out, err = p.communicate(timeout=120)
            results[name] = subprocess.CompletedProcess(p.args, p.returncode, out, err)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    return results


def create_database(cli, home):
    assert cli("sessions").exit_code == 0
    assert (home / "interviewer.db").exists()


def check_sessions(home, results, grader_kind: str, sessions_expected: int):
    for name, r in results.items():
        assert r.returncode == 0, f"{name}: {r.stderr}"
        assert "Traceback" not in r.stdout + r.stderr and "locked" not in r.stderr, r.stderr
    db = sqlite3.connect(home / "interviewer.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        sessions = db.execute("SELECT id, status, mode FROM sessions ORDER BY rowid").fetchall()
        assert len(sessions) == sessions_expected, sessions
        assert len({s[0] for s in sessions}) == sessions_expected  # distinct ids
        assert all(status == "finished" for _, status, _ in sessions), sessions
        for name, r in results.items():
            mine = [sid for sid, *_ in sessions[-len(results) :] if sid in r.stdout]
            assert len(mine) == 1, f"{name} names no single session of its own: {r.stdout[-500:]}"
            sid = mine[0]
            turns = db.execute(
                "SELECT id, idx, answer FROM turns WHERE session_id=? ORDER BY idx", (sid,)
            ).fetchall()
            assert [(idx, answer) for _, idx, answer in turns] == list(enumerate(answers_for(name))), name
            assert db.execute("SELECT mode FROM sessions WHERE id=?", (sid,)).fetchone() == (PROCESSES[name],)
            for turn_id, idx, _ in turns:
                grades = db.execute(
                    "SELECT status, score, grader_kind FROM grades WHERE turn_id=? ORDER BY id", (turn_id,)
                ).fetchall()
                assert len(grades) == 1, (name, idx, grades)  # graded once, by its own process
                status, score, kind = grades[0]
                assert (status, kind) == ("graded", grader_kind) and score is not None, (name, idx, grades)
        assert db.execute("SELECT COUNT(*) FROM turns").fetchone() == (5 * sessions_expected,)
        assert db.execute("SELECT COUNT(*) FROM grades").fetchone() == (5 * sessions_expected,)
    finally:
        db.close()


@pytest.mark.slow
def test_two_offline_sessions_at_once(cli, tmp_path, home):
    create_database(cli, home)
    for i in range(3):
        results = run_pair(tmp_path, home, {"INTERVIEWER_GRADER": "offline"}, round_=i)
        check_sessions(home, results, "offline", sessions_expected=2 * (i + 1))


# The first schema (migration 001_initial), as databases made by the first release have it.
SCHEMA_001 = """
CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL);
INSERT INTO migrations VALUES ('001_initial', '2026-01-01T00:00:00+00:00');
CREATE TABLE sessions (id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL,
    mode TEXT NOT NULL, settings_json TEXT NOT NULL, plan_json TEXT NOT NULL);
CREATE TABLE turns (id INTEGER PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id),
    idx INTEGER NOT NULL, question_ref TEXT NOT NULL, question_json TEXT NOT NULL, answer TEXT NOT NULL,
    answered_at TEXT NOT NULL, duration_s REAL, hint_used INTEGER NOT NULL DEFAULT 0, UNIQUE (session_id, idx));
CREATE TABLE grades (id INTEGER PRIMARY KEY, turn_id INTEGER NOT NULL REFERENCES turns(id),
    created_at TEXT NOT NULL, status TEXT NOT NULL, score REAL, grader_kind TEXT, model TEXT,
    grade_json TEXT NOT NULL);
CREATE INDEX grades_turn ON grades(turn_id);
CREATE INDEX turns_question ON turns(question_ref);
INSERT INTO sessions VALUES ('20260101-000000-old0', '2026-01-01T00:00:00+00:00', '2026-01-01T00:10:00+00:00',
    'finished', 'practice', '{}', '["1.1"]');
INSERT INTO turns VALUES (7, '20260101-000000-old0', 0, '1.1',
    '{"id": "1.1", "section": "基础原理与架构", "text": "old question"}', 'old answer',
    '2026-01-01T00:05:00+00:00', 12.0, 0);
INSERT INTO grades VALUES (3, 7, '2026-01-01T00:06:00+00:00', 'graded', 6.5, 'offline', NULL,
    '{"question_id": "1.1", "status": "graded", "score": 6.5}');
"""


def test_two_sessions_at_once_upgrade_an_old_database(tmp_path, home):
    """Both processes find a database at the first schema and migrate it at the same time."""
    db = sqlite3.connect(home / "interviewer.db")
    db.execute("PRAGMA journal_mode=WAL")  # as the first release left it
    db.executescript(SCHEMA_001)
    db.close()
    results = run_pair(tmp_path, home, {"INTERVIEWER_GRADER": "offline"})
    db = sqlite3.connect(home / "interviewer.db")
    try:
        assert db.execute("SELECT id, session_id, idx, answer FROM turns WHERE id=7").fetchone() == (
            7, "20260101-000000-old0", 0, "old answer",
        )  # fmt: skip
        assert db.execute("SELECT turn_id, status, score FROM grades WHERE id=3").fetchone() == (
            7,
            "graded",
            6.5,
        )
        assert [n for (n,) in db.execute("SELECT name FROM migrations ORDER BY name")][0] == "001_initial"
        db.execute("DELETE FROM grades WHERE id=3")  # the old session aside, the rest is checked as usual
        db.execute("DELETE FROM turns WHERE id=7")
        db.execute("DELETE FROM sessions WHERE id='20260101-000000-old0'")
        db.commit()
    finally:
        db.close()
    check_sessions(home, results, "offline", sessions_expected=2)


@pytest.mark.slow
def test_two_llm_sessions_at_once(cli, tmp_path, home, llm_server):
    create_database(cli, home)
    lock = threading.Lock()
    seen: dict[str, list[float]] = {name: [] for name in PROCESSES}
    arrived = {name: threading.Event() for name in PROCESSES}
    met = {name: False for name in PROCESSES}

    def reply(req):
        text = json.dumps(req, ensure_ascii=False)
        with lock:
            name = next(n for n in PROCESSES if f"[{n}" in text)
            seen[name].append(time.monotonic())
        arrived[name].set()
        # hold each process's grades until the other process is grading too: the two really overlap
        others = [arrived[n] for n in PROCESSES if n != name]
        met[name] = all(e.wait(30) for e in others)
        return Reply(grade_reply())

    llm_server.default = reply
    llm_server.latency = 0.3
    results = run_pair(
        tmp_path,
        home,
        {
            "INTERVIEWER_MODEL": "openai/fake-model",
            "INTERVIEWER_API_BASE": llm_server.base_url,
            "INTERVIEWER_TIMEOUT": "60",
        },
    )
    check_sessions(home, results, "llm", sessions_expected=2)
    assert {name: len(times) for name, times in seen.items()} == {"A": 5, "B": 5}
    assert all(met.values()), met  # each process was grading while the other one was


def wait_until_it_waits_for_the_lock(proc: subprocess.Popen, db, timeout: float = 60.0) -> None:
    """Return once `proc` has `db` open and is asleep (in SQLite's busy handler or the store's retry), as
    /proc tells: another process has no event to wait on, so its state is polled until the deadline."""
    fds = Path(f"/proc/{proc.pid}/fd")
    if not fds.is_dir():
        pytest.skip("needs /proc to see another process's open files")
    target = os.path.realpath(db)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            opened = any(os.path.realpath(fd) == target for fd in fds.iterdir())
            wchan = Path(f"/proc/{proc.pid}/wchan").read_text()
        except OSError:  # a file closed while it was read
            opened = False
        if opened and ("sleep" in wchan or wchan in ("", "0")):  # "0": the kernel does not say
            return
        time.sleep(0.01)
    raise AssertionError(f"the process did not reach {db} within {timeout} s")


def test_a_process_waits_while_another_writes_the_new_database(tmp_path, home):
    """Another process is writing the brand-new database (as a first run does while it switches it to WAL and
    migrates it): a second process waits for it (busy timeout), it does not fail at once."""
    path = tmp_path / "answers.txt"
    path.write_text("\n---\n".join(answers_for("A")) + "\n", encoding="utf-8")
    other = sqlite3.connect(home / "interviewer.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a write transaction on the new, empty database
    env = {**os.environ, "INTERVIEWER_HOME": str(home), "INTERVIEWER_GRADER": "offline"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "interviewer", "start", "-n", "5", "--order", "bank", "--answers", str(path)],
        env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until_it_waits_for_the_lock(proc, home / "interviewer.db")
        other.execute("ROLLBACK")
        other.close()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    check_sessions(home, {"A": subprocess.CompletedProcess(proc.args, 0, out, err)}, "offline", 1)
