"""The data home under attack: databases that are not ours or newer than us, homes that cannot be used, files others
can read or write, values that do not exist, and two processes on one session. Each gets one line that names the
path or the value and says what to do — never "unexpected …" — and nothing is written where it should not be."""

import contextlib
import os
import shutil
import sqlite3
import stat
import subprocess
import sys

import pytest
from conftest import ROOT

from interviewer.errors import StoreError
from interviewer.store import MIGRATIONS, Store


def one_line_error(r, *needles):
    assert r.exit_code != 0, r
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "unexpected" not in lines[0], lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_database_from_a_newer_version_is_refused_and_left_alone(cli, home):
    db = home / "interviewer.db"
    Store(db).close()
    with sqlite3.connect(db) as c:
        c.execute("INSERT INTO migrations VALUES ('999_from_the_future', 'later')")
    r = cli("sessions")
    one_line_error(r, str(db), "newer version", "upgrade")
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM migrations").fetchone()[0] == len(MIGRATIONS) + 1


def test_a_foreign_sqlite_file_is_refused_without_creating_our_tables_in_it(cli, home):
    db = home / "interviewer.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE sessions (id TEXT, owner TEXT)")
    r = cli("sessions")
    one_line_error(r, str(db), "not an interviewer database")
    with sqlite3.connect(db) as c:
        tables = {row[0] for row in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"sessions"}


def test_a_home_that_is_a_file_says_so(cli, tmp_path, monkeypatch):
    f = tmp_path / "not-a-folder"
    f.write_text("x")
    monkeypatch.setenv("INTERVIEWER_HOME", str(f))
    one_line_error(cli("sessions"), str(f), "INTERVIEWER_HOME")


def test_a_home_that_cannot_be_created_says_so(cli, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_HOME", "/proc/interviewer-home")
    one_line_error(cli("sessions"), "/proc/interviewer-home", "INTERVIEWER_HOME")


def test_a_database_damaged_mid_file_gives_one_line(cli, home, tmp_path):
    answers = tmp_path / "a.txt"
    answers.write_text("Transformer 可以并行计算\n", encoding="utf-8")
    assert cli("start", "-n", "1", "--answers", str(answers)).exit_code == 0
    db = home / "interviewer.db"
    with sqlite3.connect(db) as c:  # everything into the main file, so the damage below is what is read
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    assert len(data) > 8192
    data[4096:] = b"\xff" * (len(data) - 4096)  # the header and schema page intact, every table page garbage
    db.write_bytes(bytes(data))
    r = cli("stats")
    one_line_error(r, str(db))


def test_the_home_and_everything_in_it_are_private_whatever_the_umask(cli, home, tmp_path, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_HOME", str(tmp_path / "fresh-home"))
    answers = tmp_path / "a.txt"
    answers.write_text("Transformer 可以并行计算\n", encoding="utf-8")
    old = os.umask(0)
    try:
        assert cli("start", "-n", "1", "--answers", str(answers)).exit_code == 0
        out = tmp_path / "t.md"
        assert cli("export", "--last", "-o", str(out)).exit_code == 0
    finally:
        os.umask(old)
    fresh = tmp_path / "fresh-home"
    assert mode(fresh) == 0o700
    assert mode(fresh / "interviewer.db") == 0o600
    assert all(mode(p) & 0o077 == 0 for p in fresh.iterdir() if p.is_file())
    assert mode(out) == 0o600


def test_an_existing_home_left_open_is_made_private_on_its_next_use(cli, home):
    (home / "interviewer.db").touch()
    home.chmod(0o755)
    assert cli("sessions").exit_code == 0
    assert mode(home) == 0o700 and mode(home / "interviewer.db") == 0o600


def test_a_config_others_can_write_is_refused(cli, home):
    cfg = home / "config.toml"
    cfg.write_text('api_base = "http://127.0.0.1:9/v1"\n')
    cfg.chmod(0o666)
    one_line_error(cli("config", "show"), str(cfg), "chmod go-w")


def test_a_user_rubric_others_can_write_is_refused(cli, home):
    src = ROOT / "rubrics" / "llm-basics" / "2.1.toml"
    mine = home / "rubrics" / "llm-basics" / "2.1.toml"
    mine.parent.mkdir(parents=True)
    mine.write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    mine.chmod(0o666)
    one_line_error(cli("grade", "-q", "2.1", "-a", "softmax 之前要除以根号 d_k"), str(mine), "chmod go-w")


@pytest.mark.parametrize(
    "args, env, needle",
    [
        (["bank", "list", "--lang", "fr"], {}, "'fr'"),
        (["bank", "list"], {"INTERVIEWER_LANG": "fr"}, "'fr'"),
        (["bank", "list", "--difficulty", "bogus"], {}, "--difficulty 'bogus'"),
        (["bank", "list", "--frequency", "often"], {}, "--frequency 'often'"),
        (["grade", "-q", "2.1", "-a", "x"], {"INTERVIEWER_RETRIES": "-5"}, "retries must be at least 0"),
        (["grade", "-q", "2.1", "-a", "x"], {"INTERVIEWER_TIMEOUT": "0"}, "timeout must be at least"),
        (["regrade", ""], {}, "no session id"),
    ],
)
def test_values_that_do_not_exist_are_named(cli, monkeypatch, args, env, needle):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    r = cli(*args)
    one_line_error(r, needle)
    assert r.exit_code == 2


def test_a_session_is_held_by_one_process_at_a_time(home):
    store = Store(home / "interviewer.db")
    sid = store.create_session("practice", {}, [])
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys; from pathlib import Path; from interviewer.store import Store\n"
            f"s = Store(Path({str(home / 'interviewer.db')!r}))\n"
            f"with s.hold({sid!r}):\n"
            "    print('held', flush=True); sys.stdin.readline()\n"
        )],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(ROOT),
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"  # waits for the other process, not for a clock
        with (
            pytest.raises(StoreError, match=rf"session {sid} is in use by process {holder.pid}"),
            store.hold(sid),
        ):
            pass
    finally:
        holder.communicate("\n", timeout=30)
    with store.hold(sid):  # released when the holder is done
        pass


@contextlib.contextmanager
def read_only(*paths):
    """Paths that nobody can write: immutable for root (whom permissions do not stop), else mode 0555/0444."""
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("chattr is needed to make a path read-only for root")
        done = []
        try:
            for p in paths:
                r = subprocess.run(["chattr", "+i", str(p)], capture_output=True)
                if r.returncode != 0:
                    pytest.skip(f"cannot make {p} immutable here: {r.stderr.decode().strip()}")
                done.append(p)
            yield
        finally:
            for p in done:
                subprocess.run(["chattr", "-i", str(p)], check=False)
    else:
        modes = {p: mode(p) for p in paths}
        try:
            for p in paths:
                p.chmod(0o555 if p.is_dir() else 0o444)
            yield
        finally:
            for p, m in modes.items():
                p.chmod(m)


def test_read_only_commands_work_on_a_read_only_home(cli, home, tmp_path):
    answers = tmp_path / "a.txt"
    answers.write_text("softmax 之前除以根号 d_k，防止点积方差随维度增大\n", encoding="utf-8")
    assert cli("start", "-n", "1", "--order", "bank", "--answers", str(answers)).exit_code == 0
    (sid,) = [s["id"] for s in cli("sessions", "--json").json_lines()]
    db = home / "interviewer.db"
    before = db.read_bytes()
    wal = [p for p in home.glob("interviewer.db-*")]
    with read_only(db, *wal, home):
        for args in (("sessions",), ("show", sid), ("export", sid, "--format", "json"), ("stats",),
                     ("stats", "--json"), ("history", "1.1"), ("report",)):  # fmt: skip
            r = cli(*args)
            assert r.exit_code == 0 and not r.stderr.strip(), (args, r)
        assert cli("stats", "--json").json_lines()[0]["answers"] == 1
        r = cli("start", "-n", "1", "--answers", str(answers))  # writing still says what is wrong
        one_line_error(r, str(db))
    assert db.read_bytes() == before


def test_read_only_commands_on_a_read_only_home_with_no_database_show_no_history(cli, home):
    with read_only(home):
        r = cli("stats", "--json")
        assert r.exit_code == 0, r
        assert r.json_lines()[0]["sessions"] == 0
    assert not (home / "interviewer.db").exists()
