"""SQLite storage: ordered named migrations, sessions, turns and every grade ever given."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from interviewer.errors import NotFoundError, StoreError

try:
    import fcntl  # POSIX; elsewhere a session is not locked between processes
except ImportError:  # pragma: no cover
    fcntl = None


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _run(db: sqlite3.Connection, script: str) -> None:
    """Statements one by one: executescript() would commit the migration's transaction half-way."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _m001_initial(db: sqlite3.Connection) -> None:
    _run(
        db,
        """
        CREATE TABLE IF NOT EXISTS sessions (
            id TEXT PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,              -- active | finished
            mode TEXT NOT NULL,                -- practice | interview
            settings_json TEXT NOT NULL,       -- public settings, never a secret
            plan_json TEXT NOT NULL            -- the question refs, in order
        );
        CREATE TABLE IF NOT EXISTS turns (
            id INTEGER PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions(id),
            idx INTEGER NOT NULL,
            question_ref TEXT NOT NULL,
            question_json TEXT NOT NULL,
            answer TEXT NOT NULL,
            answered_at TEXT NOT NULL,
            duration_s REAL,
            hint_used INTEGER NOT NULL DEFAULT 0,
            UNIQUE (session_id, idx)
        );
        CREATE TABLE IF NOT EXISTS grades (
            id INTEGER PRIMARY KEY,
            turn_id INTEGER NOT NULL REFERENCES turns(id),
            created_at TEXT NOT NULL,
            status TEXT NOT NULL,              -- graded | ungraded
            score REAL,
            grader_kind TEXT,
            model TEXT,
            grade_json TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS grades_turn ON grades(turn_id);
        CREATE INDEX IF NOT EXISTS turns_question ON turns(question_ref);
        """,
    )


def _m002_attempts_follow_ups_reviews(db: sqlite3.Connection) -> None:
    """Retries of a question (attempt), follow-up questions, and spaced-repetition state per question."""
    _run(
        db,
        """
        CREATE TABLE turns_v2 (
            id INTEGER PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions(id),
            idx INTEGER NOT NULL,
            attempt INTEGER NOT NULL DEFAULT 1,
            question_ref TEXT NOT NULL,
            question_json TEXT NOT NULL,
            answer TEXT NOT NULL,
            answered_at TEXT NOT NULL,
            duration_s REAL,
            hint_used INTEGER NOT NULL DEFAULT 0,
            UNIQUE (session_id, idx, attempt)
        );
        INSERT INTO turns_v2 (id, session_id, idx, attempt, question_ref, question_json, answer, answered_at,
                              duration_s, hint_used)
            SELECT id, session_id, idx, 1, question_ref, question_json, answer, answered_at, duration_s, hint_used
            FROM turns;
        DROP TABLE turns;
        ALTER TABLE turns_v2 RENAME TO turns;
        CREATE INDEX IF NOT EXISTS turns_question ON turns(question_ref);
        CREATE TABLE IF NOT EXISTS follow_ups (
            id INTEGER PRIMARY KEY,
            turn_id INTEGER NOT NULL REFERENCES turns(id),
            idx INTEGER NOT NULL,
            criterion_id TEXT,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            answered_at TEXT NOT NULL,
            UNIQUE (turn_id, idx)
        );
        CREATE TABLE IF NOT EXISTS reviews (
            question_ref TEXT PRIMARY KEY,
            card_json TEXT NOT NULL,
            last_score REAL,
            reviews INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL
        )
        """,
    )


MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("001_initial", _m001_initial),
    ("002_attempts_follow_ups_reviews", _m002_attempts_follow_ups_reviews),
]


def make_private_dir(folder: Path) -> None:
    """The data home, created readable by its owner only (0700) whatever the umask; a clear error if it cannot be."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:
        raise StoreError(
            f"{folder}: the data home is a file, not a folder; set INTERVIEWER_HOME to a folder"
        ) from None
    except OSError as exc:
        raise StoreError(
            f"{folder}: cannot create the data home ({exc.strerror or exc}); set INTERVIEWER_HOME to a writable folder"
        ) from None
    if not folder.is_dir():
        raise StoreError(f"{folder}: the data home is not a folder; set INTERVIEWER_HOME to a folder")
    if os.name == "posix" and (folder / "interviewer.db").exists():
        with contextlib.suppress(
            OSError
        ):  # a home made before homes were private, or by a loose umask: tighten it
            if stat.S_IMODE(folder.stat().st_mode) & 0o077:
                folder.chmod(0o700)


def make_private_file(path: Path) -> None:
    """A file of the data home readable by its owner only (0600), created so if it is new: transcripts and grades
    are personal."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)
    except IsADirectoryError:
        raise StoreError(
            f"{path} is a folder, not a database; move it aside or set INTERVIEWER_HOME"
        ) from None
    except PermissionError:
        pass  # read-only, or not ours: SQLite says what it can or cannot do with it
    except OSError as exc:
        raise StoreError(
            f"{path}: cannot use the database ({exc.strerror or exc}); set INTERVIEWER_HOME"
        ) from None


def new_session_id() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


LOCK_WAIT_S = 30.0


def _while_locked(fn, seconds: float = LOCK_WAIT_S):
    """Run `fn`, retrying while SQLite says the database is locked or busy, for up to `seconds`."""
    deadline = time.monotonic() + seconds
    delay = 0.01
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)  # another process holds the write lock: there is nothing to wait on but time
            delay = min(0.2, delay * 2)


# A turn's columns with its latest grade and how many grades it has had: the one way a turn is read.
_TURN_COLUMNS = """t.*,
       (SELECT grade_json FROM grades g WHERE g.turn_id = t.id ORDER BY g.id DESC LIMIT 1) AS grade_json,
       (SELECT COUNT(*) FROM grades g WHERE g.turn_id = t.id) AS grade_count"""
_IS_LAST_TRY = (
    "t.attempt = (SELECT MAX(u.attempt) FROM turns u WHERE u.session_id = t.session_id AND u.idx = t.idx)"
)
_ATTEMPTS_SQL = f"""
SELECT {_TURN_COLUMNS}, s.started_at AS session_started_at, s.rowid AS session_seq, {_IS_LAST_TRY} AS final
FROM turns t JOIN sessions s ON s.id = t.session_id
WHERE (:since IS NULL OR s.started_at >= :since) AND (:ref IS NULL OR t.question_ref = :ref)
ORDER BY t.answered_at, t.id
"""


def decode_turn(row: sqlite3.Row) -> dict[str, Any]:
    """A turns row (with its latest `grade_json`) as a dict: question and grade parsed."""
    d = dict(row)
    d["question"] = json.loads(d.pop("question_json"))
    gj = d.pop("grade_json", None)
    d["grade"] = json.loads(gj) if gj else None
    d["hint_used"] = bool(d["hint_used"])
    return d


class Store:
    """One database. Safe to share between the session thread and grading threads."""

    def __init__(self, path: Path):
        make_private_dir(path.parent)
        self.path = path
        make_private_file(path)  # before SQLite creates it (and its -wal, -shm with the same mode)
        try:
            self.db = sqlite3.connect(
                path, timeout=LOCK_WAIT_S, check_same_thread=False, isolation_level=None
            )
            self.db.row_factory = sqlite3.Row
            self.db.execute(f"PRAGMA busy_timeout={int(LOCK_WAIT_S * 1000)}")
            self.lock = threading.RLock()
            # Switching to WAL (and migrating) while another process creates the same file can report
            # "locked" at once instead of waiting for the busy timeout: wait for it here.
            _while_locked(lambda: self.db.execute("PRAGMA journal_mode=WAL"))
            self.db.execute("PRAGMA foreign_keys=ON")
            _while_locked(self.migrate)
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{path}: cannot open the database ({exc}); move it aside or set INTERVIEWER_HOME"
            ) from None

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def hold(self, sid: str) -> Iterator[None]:
        """Hold a session for this process: a second process (another `resume`) is told which one has it. The
        lock is the operating system's, so it goes with the process however that ends."""
        folder = self.path.parent / "locks"
        make_private_dir(folder)
        path = folder / f"{sid}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.lseek(fd, 0, os.SEEK_SET)
                holder = os.read(fd, 32).decode(errors="replace").strip() or "another process"
                raise StoreError(
                    f"session {sid} is in use by process {holder}; wait for it to finish, or stop that process"
                ) from None
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, str(os.getpid()).encode())
            yield
        finally:
            os.close(fd)  # releases the lock

    def migrate(self) -> None:
        with self.lock:
            tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and "migrations" not in tables:
                raise StoreError(
                    f"{self.path} is not an interviewer database (it holds {', '.join(sorted(tables)[:3])}); "
                    "move it aside or set INTERVIEWER_HOME to another folder"
                )
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            done = {r[0] for r in self.db.execute("SELECT name FROM migrations")}
            newer = sorted(done - {name for name, _ in MIGRATIONS})
            if newer:
                raise StoreError(
                    f"{self.path} was written by a newer version of interviewer (schema {newer[-1]}); "
                    "upgrade interviewer, or set INTERVIEWER_HOME to another folder"
                )
            pending = [(name, fn) for name, fn in MIGRATIONS if name not in done]
            if not pending:
                return
            self.db.execute("PRAGMA foreign_keys=OFF")  # for table rebuilds; checked below
            try:
                for name, fn in pending:
                    self.db.execute("BEGIN IMMEDIATE")
                    try:
                        if (
                            self.db.execute("SELECT 1 FROM migrations WHERE name=?", (name,)).fetchone()
                            is None
                        ):
                            fn(self.db)
                            self.db.execute("INSERT INTO migrations VALUES (?, ?)", (name, now()))
                        self.db.execute("COMMIT")
                    except BaseException:
                        self.db.execute("ROLLBACK")
                        raise
                if self.db.execute("PRAGMA foreign_key_check").fetchone() is not None:
                    raise sqlite3.DatabaseError("foreign key check failed after a migration")
            finally:
                self.db.execute("PRAGMA foreign_keys=ON")

    def _write(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        with self.lock:
            return self.db.execute(sql, params)

    # ------------------------------------------------------------ sessions

    def create_session(self, mode: str, settings: dict[str, Any], plan: list[str]) -> str:
        sid = new_session_id()
        self._write(
            "INSERT INTO sessions (id, started_at, status, mode, settings_json, plan_json) VALUES (?, ?, 'active', ?, ?, ?)",
            (sid, now(), mode, json.dumps(settings, ensure_ascii=False), json.dumps(plan)),
        )
        return sid

    def finish_session(self, sid: str) -> None:
        self._write("UPDATE sessions SET status='finished', finished_at=? WHERE id=?", (now(), sid))

    def session(self, sid: str) -> sqlite3.Row:
        if not sid.strip():
            raise NotFoundError("no session id given; run 'interviewer sessions' to list them")
        with self.lock:
            row = self.db.execute("SELECT * FROM sessions WHERE id=?", (sid,)).fetchone()
            if row is None:
                rows = self.db.execute("SELECT * FROM sessions WHERE id LIKE ?", (f"%{sid}%",)).fetchall()
                if len(rows) == 1:
                    row = rows[0]
        if row is None:
            raise NotFoundError(f"no session {sid!r}; run 'interviewer sessions' to list them")
        return row

    def last_session_id(self, unfinished: bool = False) -> str:
        sql = "SELECT id FROM sessions" + (" WHERE status != 'finished'" if unfinished else "")
        with self.lock:
            row = self.db.execute(sql + " ORDER BY started_at DESC, rowid DESC LIMIT 1").fetchone()
        if row is None:
            what = "unfinished session" if unfinished else "session"
            raise NotFoundError(f"no {what} yet; start one with 'interviewer start'")
        return row["id"]

    def sessions(self) -> list[dict[str, Any]]:
        with self.lock:
            rows = self.db.execute(
                """SELECT s.*, COUNT(t.id) AS answered FROM sessions s LEFT JOIN turns t ON t.session_id = s.id
                   GROUP BY s.id ORDER BY s.started_at DESC, s.rowid DESC"""
            ).fetchall()
        return [dict(r) for r in rows]

    # ------------------------------------------------------------ turns and grades

    def add_turn(
        self,
        sid: str,
        idx: int,
        question_ref: str,
        question: dict[str, Any],
        answer: str,
        duration_s: float | None = None,
        hint_used: bool = False,
        attempt: int = 1,
    ) -> int:
        """Commit an answer (before it is graded). Returns the turn id."""
        cur = self._write(
            """INSERT INTO turns (session_id, idx, attempt, question_ref, question_json, answer, answered_at,
                                  duration_s, hint_used)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (sid, idx, attempt, question_ref, json.dumps(question, ensure_ascii=False), answer, now(), duration_s,
             int(hint_used)),
        )  # fmt: skip
        return cur.lastrowid

    def add_follow_up(
        self, turn_id: int, idx: int, criterion_id: str | None, question: str, answer: str
    ) -> int:
        cur = self._write(
            "INSERT INTO follow_ups (turn_id, idx, criterion_id, question, answer, answered_at) VALUES (?, ?, ?, ?, ?, ?)",
            (turn_id, idx, criterion_id, question, answer, now()),
        )
        return cur.lastrowid

    def follow_ups(self, turn_id: int) -> list[dict[str, Any]]:
        with self.lock:
            rows = self.db.execute(
                "SELECT * FROM follow_ups WHERE turn_id=? ORDER BY idx", (turn_id,)
            ).fetchall()
        return [dict(r) for r in rows]

    def add_grade(self, turn_id: int, grade: dict[str, Any]) -> int:
        cur = self._write(
            "INSERT INTO grades (turn_id, created_at, status, score, grader_kind, model, grade_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                turn_id,
                now(),
                grade["status"],
                grade.get("score"),
                grade.get("grader", {}).get("kind"),
                grade.get("grader", {}).get("model"),
                json.dumps(grade, ensure_ascii=False),
            ),
        )
        return cur.lastrowid

    def turns(self, sid: str, all_attempts: bool = False) -> list[dict[str, Any]]:
        """The session's turns in order, each with its latest grade (or None), grade count and follow-ups.

        By default only the latest attempt at each question; `all_attempts` includes earlier tries (`:retry`).
        """
        latest = "" if all_attempts else f"AND {_IS_LAST_TRY}"
        with self.lock:
            rows = self.db.execute(
                f"SELECT {_TURN_COLUMNS} FROM turns t WHERE t.session_id = ? {latest} ORDER BY t.idx, t.attempt",
                (sid,),
            ).fetchall()
            fus = self.db.execute(
                """SELECT f.* FROM follow_ups f JOIN turns t ON t.id = f.turn_id WHERE t.session_id = ?
                   ORDER BY f.turn_id, f.idx""",
                (sid,),
            ).fetchall()
        by_turn: dict[int, list[dict[str, Any]]] = {}
        for f in fus:
            by_turn.setdefault(f["turn_id"], []).append(dict(f))
        return [decode_turn(r) | {"follow_ups": by_turn.get(r["id"], [])} for r in rows]

    # ------------------------------------------------------------ spaced repetition

    def review_states(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            rows = self.db.execute("SELECT * FROM reviews").fetchall()
        return {r["question_ref"]: dict(r) for r in rows}

    def save_review(self, question_ref: str, card_json: str, score: float) -> None:
        self._write(
            """INSERT INTO reviews (question_ref, card_json, last_score, reviews, updated_at) VALUES (?, ?, ?, 1, ?)
               ON CONFLICT(question_ref) DO UPDATE SET card_json=excluded.card_json, last_score=excluded.last_score,
               reviews=reviews.reviews + 1, updated_at=excluded.updated_at""",
            (question_ref, card_json, score, now()),
        )

    def integrity_ok(self) -> bool:
        with self.lock:
            return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # ------------------------------------------------------------ progress (read-only)

    def progress_sessions(self, since: str | None = None) -> list[dict[str, Any]]:
        """Sessions started at or after `since` (UTC ISO), oldest first. Only public settings are kept."""
        with self.lock:
            rows = self.db.execute(
                """SELECT id, started_at, finished_at, status, mode, settings_json, plan_json FROM sessions
                   WHERE (:since IS NULL OR started_at >= :since) ORDER BY started_at, rowid""",
                {"since": since},
            ).fetchall()
        out = []
        for r in rows:
            settings = json.loads(r["settings_json"] or "{}")
            out.append(
                {
                    "id": r["id"],
                    "started_at": r["started_at"],
                    "finished_at": r["finished_at"],
                    "status": r["status"],
                    "mode": r["mode"],
                    "planned": len(json.loads(r["plan_json"] or "[]")),
                    "grader_kind": settings.get("grader_kind"),
                    "model": settings.get("model"),
                }
            )
        return out

    def attempts(self, since: str | None = None, ref: str | None = None) -> list[dict[str, Any]]:
        """Answered turns (of sessions since `since`, or of one question ref), oldest first, latest grade each;
        `final` marks a session's last try at a question."""
        with self.lock:
            rows = self.db.execute(_ATTEMPTS_SQL, {"since": since, "ref": ref}).fetchall()
        out = []
        for r in rows:
            d = decode_turn(r)
            d["turn_id"] = d.pop("id")
            d["final"] = bool(d["final"])
            d["index"] = d.pop("idx") + 1
            out.append(d)
        return out

    def question_refs(self) -> list[str]:
        with self.lock:
            return [r[0] for r in self.db.execute("SELECT DISTINCT question_ref FROM turns ORDER BY 1")]
