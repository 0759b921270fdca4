"""kill -9 at 20 random points of scripted sessions, then `interviewer resume`: nothing committed is lost.

Each scenario runs `interviewer start -n 4 --order bank --answers FILE` with the LLM grader against the local
server (with latency), kills it with SIGKILL when an observable event is reached (a number of server requests,
of committed turns or of stored grades, plus a small random delay, or a random moment of start-up), then runs
`interviewer resume --answers REST` with the answers still missing, computed from the turns in the database.
Some scenarios kill the first `resume` too. Afterwards: the session is finished, every answer committed before
a kill is intact, no question has two turns, every turn ends graded, and `PRAGMA integrity_check` is ok.

The plan comes from a seeded random generator (`CRASH_SEED` overrides the seed), so a run is repeatable up to
the timing of the kills. `import litellm` takes seconds, more than a whole scenario: most processes are forked
from a server process that has imported `interviewer` and litellm once and runs `interviewer.cli.main(argv)`
in the child, the console script's own entry point, with its own environment, cwd and stdout/stderr files.
Two scenarios use a real `python -m interviewer` process for the killed run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import ROOT, grade_reply
from openai_server import FakeOpenAI, Reply

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("CRASH_SEED", "20261129"))
SCENARIOS = 20
PARALLEL = 4
LATENCY = 0.25  # seconds per grade request
ANSWERS = [
    "Transformer 可以并行计算，任意两个位置直接交互，有全局感受野，梯度路径短。",
    "Encoder-Decoder 用交叉注意力对齐输入输出，适合翻译；Decoder-only 适合生成。",
    "残差连接 y = x + F(x) 让梯度直接回传，LayerNorm 控制激活尺度，训练更稳定。",
    "位置编码给注意力加入顺序信息：正弦编码、可学习编码、RoPE 旋转位置编码。",
]
PLACEHOLDER = "(placeholder: never asked)"

# Runs in a separate process: preload once, then fork one child per command. Protocol: JSON lines.
FORK_SERVER = r"""
import importlib, json, os, sys, traceback
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import interviewer.cli
from interviewer.grading.litellm_chat import load_litellm
load_litellm()
for name in ("interviewer.core", "interviewer.practice.engine", "interviewer.store", "interviewer.ui",
             "interviewer.practice.answers", "interviewer.results.summary", "interviewer.practice.select", "interviewer.practice.review",
             "interviewer.results.export", "interviewer.grading.graders", "interviewer.grading.prompt",
             "interviewer.grading.reply", "interviewer.grading.offline", "tenacity", "jinja2", "json_repair"):
    try:
        importlib.import_module(name)
    except ImportError:
        pass
reply = sys.stdout
reply.write(json.dumps({"ready": os.getpid()}) + "\n"); reply.flush()
statuses = {}
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "spawn":
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.chdir(cmd["cwd"])
                os.environ.clear(); os.environ.update(cmd["env"])
                fd_in = os.open(os.devnull, os.O_RDONLY)
                fd_out = os.open(cmd["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                fd_err = os.open(cmd["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(fd_in, 0); os.dup2(fd_out, 1); os.dup2(fd_err, 2)
                sys.stdin = open(os.devnull)
                try:
                    interviewer.cli.main(cmd["argv"])
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:
                traceback.print_exc()
            finally:
                try:
                    sys.stdout.flush(); sys.stderr.flush()
                finally:
                    os._exit(code)
        reply.write(json.dumps({"pid": pid}) + "\n")
    elif cmd["op"] == "poll":
        pid = cmd["pid"]
        if pid not in statuses:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                statuses[pid] = os.waitstatus_to_exitcode(status)
        reply.write(json.dumps({"status": statuses.get(pid)}) + "\n")
    reply.flush()
"""


class ForkServer:
    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", FORK_SERVER],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        )  # fmt: skip
        self.lock = threading.Lock()
        line = self.proc.stdout.readline()
        assert line and "ready" in json.loads(line), "the fork server did not start"

    def _ask(self, cmd: dict) -> dict:
        with self.lock:
            self.proc.stdin.write(json.dumps(cmd) + "\n")
            self.proc.stdin.flush()
            return json.loads(self.proc.stdout.readline())

    def spawn(self, argv, env, out: Path, err: Path) -> Child:
        pid = self._ask(
            {"op": "spawn", "argv": argv, "env": env, "cwd": str(ROOT), "out": str(out), "err": str(err)}
        )
        return Child(
            pid["pid"], lambda pid=pid["pid"]: self._ask({"op": "poll", "pid": pid})["status"], out, err
        )

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Child:
    """A running `interviewer` process: a forked child, or a real subprocess."""

    pid: int
    status_fn: object  # () -> exit code (negative: killed by that signal) or None while it runs
    out: Path
    err: Path
    returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.status_fn()
        return self.returncode

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"process {self.pid} still running after {timeout}s; killed")
            time.sleep(0.02)
        return self.returncode

    def kill(self):
        if self.poll() is None:  # not reaped yet, so the pid is still ours
            os.kill(self.pid, signal.SIGKILL)

    def output(self) -> str:
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")


def real_process(argv, env, out: Path, err: Path) -> Child:
    with open(out, "w") as fo, open(err, "w") as fe:
        proc = subprocess.Popen(
            [sys.executable, "-m", "interviewer", *argv],
            env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe,
        )  # fmt: skip
    return Child(proc.pid, proc.poll, out, err)


# ---------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Kill:
    event: str  # requests | turns | grades | startup
    count: int  # how many of them (since the run began) before the kill
    delay: float  # extra seconds after the event


@dataclass(frozen=True)
class Scenario:
    n: int
    kills: tuple[Kill, ...]  # the first kills `start`, a second one kills the first `resume`
    real: bool  # the killed `start` is a real `python -m interviewer` process

    def __str__(self):
        ks = ", ".join(f"{k.event}>={k.count}+{k.delay:.2f}s" for k in self.kills)
        return f"scenario {self.n} ({'python -m interviewer' if self.real else 'forked'}): kill at {ks}"


def random_kill(rng: random.Random, resume: bool = False) -> Kill:
    event = rng.choice(["requests", "requests", "turns", "grades"] + ([] if resume else ["startup"]))
    if event == "startup":
        return Kill(event, 0, rng.uniform(0.0, 0.25))
    if event == "requests":  # during a request (its latency) or just after its reply
        return Kill(event, rng.randint(1, 4 if not resume else 2), rng.uniform(0.0, LATENCY * 1.3))
    return Kill(event, rng.randint(1, 4 if not resume else 2), rng.uniform(0.0, 0.05))


def make_plan(seed: int) -> list[Scenario]:
    rng = random.Random(seed)
    plan = []
    for n in range(SCENARIOS):
        real = n in (0, 1)
        if real:  # kill while the real process imports litellm, with its first answer committed
            kills = (Kill("turns", 1, rng.uniform(0.0, 2.0)),)
        else:
            kills = (random_kill(rng),)
            if rng.random() < 0.25:
                kills += (random_kill(rng, resume=True),)
        plan.append(Scenario(n, kills, real))
    return plan


PLAN = make_plan(SEED)


# ---------------------------------------------------------------- running a scenario


def counts(db_path: Path) -> dict[str, int]:
    if not db_path.exists():
        return {"turns": 0, "grades": 0}
    try:
        db = sqlite3.connect(db_path, timeout=5)
        try:
            return {
                "turns": db.execute("SELECT COUNT(*) FROM turns").fetchone()[0],
                "grades": db.execute("SELECT COUNT(*) FROM grades").fetchone()[0],
            }
        finally:
            db.close()
    except sqlite3.Error:  # created but not migrated yet
        return {"turns": 0, "grades": 0}


def kill_when(child: Child, kill: Kill, server: FakeOpenAI, db_path: Path, base: dict[str, int]) -> str:
    """Wait for the event (or the process's end), wait the delay, SIGKILL. Returns what happened."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and child.poll() is None:
        if kill.event == "startup":
            break
        if kill.event == "requests":
            reached = len(server.requests) - base["requests"] >= kill.count
        else:
            reached = counts(db_path)[kill.event] - base[kill.event] >= kill.count
        if reached:
            break
        time.sleep(0.005)
    time.sleep(kill.delay)
    if child.poll() is not None:
        return f"exited {child.returncode} before the kill"
    child.kill()
    code = child.wait(10)
    assert code in (-signal.SIGKILL, 0), f"unexpected exit {code}: {child.output()[-1500:]}"
    return "killed" if code == -signal.SIGKILL else "exited 0 before the kill"


def snapshot(db_path: Path) -> tuple[list[tuple], list[tuple]]:
    if not db_path.exists():
        return [], []
    db = sqlite3.connect(db_path, timeout=5)
    try:
        sessions = db.execute("SELECT id, status FROM sessions").fetchall()
        turns = db.execute(
            "SELECT id, session_id, idx, answer, answered_at FROM turns ORDER BY idx"
        ).fetchall()
        return sessions, turns
    except sqlite3.Error:
        return [], []
    finally:
        db.close()


@dataclass
class Outcome:
    scenario: Scenario
    home: Path
    events: list[str] = field(default_factory=list)
    committed: list[tuple] = field(default_factory=list)  # every turn seen after a kill
    final_rc: int | None = None
    final_output: str = ""
    error: str | None = None


def run_scenario(sc: Scenario, forks: ForkServer, base_dir: Path) -> Outcome:
    home = base_dir / f"s{sc.n:02d}"
    home.mkdir()
    db_path = home / "interviewer.db"
    outcome = Outcome(sc, home)
    full = home / "answers.txt"
    full.write_text("\n---\n".join(ANSWERS) + "\n", encoding="utf-8")
    with FakeOpenAI(latency=LATENCY) as server:
        server.default = Reply(grade_reply())
        env = {
            **os.environ,
            "INTERVIEWER_HOME": str(home),
            "INTERVIEWER_MODEL": "openai/fake-model",
            "INTERVIEWER_API_BASE": server.base_url,
            "INTERVIEWER_TIMEOUT": "20",
            "NO_COLOR": "1",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        }
        for var in ("INTERVIEWER_GRADER", "INTERVIEWER_RETRIES", "OPENAI_API_KEY", "INTERVIEWER_API_KEY"):
            env.pop(var, None)
        try:
            for run, kill in enumerate([*sc.kills, None]):
                sessions, turns = snapshot(db_path)
                unfinished = [s for s in sessions if s[1] != "finished"]
                if run > 0 and sessions and not unfinished:
                    outcome.events.append(f"run {run}: the session had already finished")
                    break
                if not sessions:  # killed before the session existed: nothing to resume, start again
                    argv = ["start", "-n", "4", "--order", "bank", "--answers", str(full)]
                else:
                    rest = home / f"rest{run}.txt"
                    answered = {idx for _, _, idx, _, _ in turns}
                    missing = [a for i, a in enumerate(ANSWERS) if i not in answered]
                    # `resume` with every answer in still needs an answers file (see test below)
                    rest.write_text("\n---\n".join(missing or [PLACEHOLDER]) + "\n", encoding="utf-8")
                    argv = ["resume", "--answers", str(rest)]
                out, err = home / f"run{run}.out", home / f"run{run}.err"
                base = {"requests": len(server.requests), **counts(db_path)}
                if sc.real and run == 0:
                    child = real_process(argv, env, out, err)
                else:
                    child = forks.spawn(argv, env, out, err)
                if kill is None:
                    outcome.final_rc = child.wait(60)
                    outcome.final_output = child.output()
                    outcome.events.append(f"run {run}: {' '.join(argv[:1])} exited {outcome.final_rc}")
                else:
                    what = kill_when(child, kill, server, db_path, base)
                    outcome.events.append(f"run {run}: {argv[0]} {what}")
                    outcome.committed.extend(t for t in snapshot(db_path)[1] if t not in outcome.committed)
        except Exception as exc:  # reported by the scenario's test
            outcome.error = f"{type(exc).__name__}: {exc}"
    return outcome


@pytest.fixture(scope="module")
def forks():
    server = ForkServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def outcomes(forks, tmp_path_factory) -> dict[int, Outcome]:
    base_dir = tmp_path_factory.mktemp("crashes")
    with ThreadPoolExecutor(PARALLEL) as pool:
        futures = [pool.submit(run_scenario, sc, forks, base_dir) for sc in PLAN]
        return {o.scenario.n: o for o in (f.result() for f in futures)}


@pytest.mark.parametrize("sc", PLAN, ids=lambda sc: f"{sc.n:02d}-" + "-".join(k.event for k in sc.kills))
def test_killed_session_resumes_without_loss_or_duplicates(outcomes, sc):
    o = outcomes[sc.n]
    why = f"{sc}; {'; '.join(o.events)}"
    assert o.error is None, f"{why}: {o.error}"
    assert o.final_rc in (0, None), f"{why}\n{o.final_output[-2000:]}"
    if o.final_rc is not None:
        assert "Traceback" not in o.final_output, o.final_output
    db = sqlite3.connect(o.home / "interviewer.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)], why
        assert db.execute("PRAGMA foreign_key_check").fetchall() == [], why
        sessions = db.execute("SELECT id, status FROM sessions").fetchall()
        assert len(sessions) == 1 and sessions[0][1] == "finished", f"{why}: {sessions}"
        sid = sessions[0][0]
        turns = db.execute(
            "SELECT id, session_id, idx, answer, answered_at FROM turns WHERE session_id=? ORDER BY idx",
            (sid,),
        ).fetchall()
        assert [(t[2], t[3]) for t in turns] == list(enumerate(ANSWERS)), why  # no duplicates, no placeholder
        for t in o.committed:  # every answer committed before a kill is still there, unchanged
            assert t in turns, f"{why}: committed turn {t} changed or vanished"
        latest = db.execute(
            """SELECT t.idx, (SELECT status FROM grades g WHERE g.turn_id = t.id ORDER BY g.id DESC LIMIT 1),
                      (SELECT score FROM grades g WHERE g.turn_id = t.id ORDER BY g.id DESC LIMIT 1)
               FROM turns t WHERE t.session_id = ? ORDER BY t.idx""",
            (sid,),
        ).fetchall()
        assert [(i, s) for i, s, _ in latest] == [(i, "graded") for i in range(4)], f"{why}: {latest}"
        assert all(score is not None for *_, score in latest), why
        orphans = db.execute(
            "SELECT COUNT(*) FROM grades WHERE turn_id NOT IN (SELECT id FROM turns)"
        ).fetchone()
        assert orphans == (0,), why
    finally:
        db.close()


def test_plan_is_repeatable_and_kills_most_runs(outcomes):
    assert make_plan(SEED) == PLAN
    events = [e for o in outcomes.values() for e in o.events]
    assert sum("killed" in e for e in events) >= SCENARIOS * 3 // 4, events


def test_resume_with_every_answer_in_needs_no_more_answers(forks, tmp_path, home, llm_server):
    """Killed after the last answer was committed but before it was graded: `resume` should just grade it.

    With stdin not a terminal (a script, cron, `< /dev/null`) and nothing left to ask, `resume` still wants
    answers and exits 2 ("no answers found") instead of grading.
    """
    answers = tmp_path / "a.txt"
    answers.write_text("\n---\n".join(ANSWERS[:2]) + "\n", encoding="utf-8")
    env = {
        **os.environ,
        "INTERVIEWER_HOME": str(home),
        "INTERVIEWER_MODEL": "openai/fake-model",
        "INTERVIEWER_API_BASE": llm_server.base_url,
    }
    llm_server.latency = 30  # no grade arrives before the kill
    argv = ["start", "-n", "2", "--order", "bank", "--mode", "interview", "--answers", str(answers)]
    child = forks.spawn(argv, env, tmp_path / "start.out", tmp_path / "start.err")
    try:
        assert llm_server.wait_for_requests(2, timeout=30)  # both answers committed, both grades under way
    finally:
        child.kill()
        child.wait(10)
    llm_server.latency = 0
    assert counts(home / "interviewer.db") == {"turns": 2, "grades": 0}
    child = forks.spawn(["resume"], env, tmp_path / "resume.out", tmp_path / "resume.err")  # stdin: /dev/null
    assert child.wait(60) == 0, child.output()
    sessions, turns = snapshot(home / "interviewer.db")
    assert [s[1] for s in sessions] == ["finished"] and len(turns) == 2
    assert counts(home / "interviewer.db")["grades"] == 2
