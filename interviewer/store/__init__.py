"""SQLite storage: sessions, turns, follow-ups, spaced-repetition state and every grade ever given.

The store owns every query. `schema` holds the ordered migrations, `files` the private data home, and
`progress` the aggregate queries behind `stats` and `report` (typed records, grouped in SQL, so their cost
stays flat as history grows). Writes that belong together (a grade and the turn's pointer to it) share one
transaction."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from interviewer.errors import NotFoundError, StoreError
from interviewer.store.audio import AUDIO_COLUMN, AudioQueries, decode_audio, insert_audio
from interviewer.store.batches import BatchQueries
from interviewer.store.files import make_private_dir, make_private_file
from interviewer.store.progress import ProgressQueries
from interviewer.store.schema import MIGRATIONS
from interviewer.store.upkeep import SessionUpkeep

__all__ = ["Store", "make_private_dir", "make_private_file", "now", "new_session_id", "MIGRATIONS"]

try:
    import fcntl  # POSIX; elsewhere a session is not locked between processes
except ImportError:  # pragma: no cover
    fcntl = None


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


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
_TURN_COLUMNS = f"""t.id, t.session_id, t.idx, t.attempt, t.question_ref, t.question_json, t.answer, t.answered_at,
       t.duration_s, t.hint_used, t.final, t.after_reference, t.skipped,
       (SELECT grade_json FROM grades g WHERE g.id = t.grade_id) AS grade_json,
       (SELECT COUNT(*) FROM grades g WHERE g.turn_id = t.id) AS grade_count,
       {AUDIO_COLUMN}"""


def decode_turn(row: sqlite3.Row) -> dict[str, Any]:
    """A turns row (with its latest `grade_json`) as a dict: question and grade parsed."""
    d = dict(row)
    d["question"] = json.loads(d.pop("question_json"))
    gj = d.pop("grade_json", None)
    d["grade"] = json.loads(gj) if gj else None
    d["hint_used"] = bool(d["hint_used"])
    decode_audio(d)
    for flag in ("final", "after_reference", "skipped"):
        d[flag] = bool(d[flag])
    return d


class Store(ProgressQueries, BatchQueries, SessionUpkeep, AudioQueries):
    """One database. Safe to share between the session thread and grading threads."""

    def __init__(self, path: Path, readonly: bool = False):
        self.path = path
        self.readonly = readonly
        self.lock = threading.RLock()
        if readonly:
            self._open_read_only(path)
            return
        make_private_dir(path.parent)
        make_private_file(path)  # before SQLite creates it (and its -wal, -shm with the same mode)
        try:
            self.db = self._connect(path)
            # Switching to WAL (and migrating) while another process creates the same file can report
            # "locked" at once instead of waiting for the busy timeout: wait for it here.
            _while_locked(lambda: self.db.execute("PRAGMA journal_mode=WAL"))
            self.db.execute("PRAGMA foreign_keys=ON")
            _while_locked(self.migrate)
        except sqlite3.DatabaseError as exc:
            if "readonly" in str(exc) or "unable to open" in str(exc):
                raise StoreError(
                    f"{path}: cannot write the database ({exc}); make the data home writable, or set "
                    "INTERVIEWER_HOME to another folder"
                ) from None
            raise StoreError(
                f"{path}: cannot open the database ({exc}); move it aside or set INTERVIEWER_HOME"
            ) from None

    @classmethod
    def for_reading(cls, path: Path) -> Store:
        """The store for a command that only reads: as usual, or, when the home or the database cannot be
        written (a read-only mount, an immutable file), read-only; any other failure is reported as usual."""
        try:
            return cls(path)
        except StoreError as first:
            try:
                return cls(path, readonly=True)
            except StoreError:
                raise first from None

    @staticmethod
    def _connect(target: str | Path, uri: bool = False) -> sqlite3.Connection:
        db = sqlite3.connect(
            target, timeout=LOCK_WAIT_S, check_same_thread=False, isolation_level=None, uri=uri
        )
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout={int(LOCK_WAIT_S * 1000)}")
        return db

    def _open_read_only(self, path: Path) -> None:
        """Nothing is created or written. With no database yet, an empty one in memory (no history); a WAL
        database whose folder cannot hold its shared-memory file is read as immutable."""
        if not path.exists():
            if not path.parent.is_dir():
                raise StoreError(
                    f"{path.parent}: the data home is not a folder; set INTERVIEWER_HOME to a folder"
                )
            self.db = self._connect(":memory:")
            self.migrate()
            return
        base = "file:" + urllib.parse.quote(str(path.resolve()))
        for query in ("mode=ro", "immutable=1"):
            try:
                self.db = self._connect(f"{base}?{query}", uri=True)
                self.migrate()
                return
            except sqlite3.DatabaseError as exc:
                error = exc
        raise StoreError(f"{path}: cannot read the database ({error}); move it aside or set INTERVIEWER_HOME")

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
            if self.readonly and "migrations" in tables:
                done = {r[0] for r in self.db.execute("SELECT name FROM migrations")}
            else:
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
            if self.readonly and tables:
                raise StoreError(
                    f"{self.path} was written by an earlier version and needs upgrading, which cannot be done "
                    "while it is read-only; run 'interviewer sessions' once where it can be written"
                )
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

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
                self.db.execute("COMMIT")
            except BaseException:
                if (
                    self.db.in_transaction
                ):  # a failed COMMIT leaves it open: never carry it into the next write
                    self.db.execute("ROLLBACK")
                raise

    # ------------------------------------------------------------ sessions

    def create_session(self, mode: str, settings: dict[str, Any], plan: list[str]) -> str:
        for _ in range(
            8
        ):  # ids are the second plus 16 random bits: sessions started in one second can collide
            sid = new_session_id()
            try:
                self._write(
                    "INSERT INTO sessions (id, started_at, status, mode, settings_json, plan_json) VALUES (?, ?, 'active', ?, ?, ?)",
                    (sid, now(), mode, json.dumps(settings, ensure_ascii=False), json.dumps(plan)),
                )
                return sid
            except sqlite3.IntegrityError:
                continue
        raise StoreError(f"{self.path}: could not find a free session id; try again")

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
        """Every session, newest first, with its questions answered (one a question, however many tries: the
        counting rule of `progress`), its tries in all and its skips."""
        with self.lock:
            rows = self.db.execute(
                """SELECT s.*, COALESCE(SUM(t.final), 0) AS answered, COUNT(t.id) AS attempts,
                          COALESCE(SUM(t.final AND t.skipped), 0) AS skipped
                   FROM sessions s LEFT JOIN turns t ON t.session_id = s.id
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
        after_reference: bool = False,
        audio: dict[str, Any] | None = None,
    ) -> int:
        """Commit an answer (before it is graded) and drop its draft. Returns the turn id. A new attempt at a
        question becomes the session's last try at it (`final`, the one that counts), unless it was made
        `after_reference`: a retry after the reference answer was shown is practice, and the earlier try keeps
        counting. An empty answer is a skip."""
        with self._transaction() as db:
            if not after_reference:
                earlier = "session_id = ? AND idx = ? AND attempt < ?"
                db.execute(
                    f"DELETE FROM criterion_scores WHERE turn_id IN (SELECT id FROM turns WHERE {earlier})",
                    (sid, idx, attempt),
                )
                db.execute(f"UPDATE turns SET final = 0 WHERE {earlier}", (sid, idx, attempt))
            cur = db.execute(
                """INSERT INTO turns (session_id, idx, attempt, question_ref, question_json, answer, answered_at,
                                      duration_s, hint_used, qid, section, difficulty, final, after_reference, skipped)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (sid, idx, attempt, question_ref, json.dumps(question, ensure_ascii=False), answer, now(),
                 duration_s, int(hint_used), question.get("id"), question.get("section"), question.get("difficulty"),
                 int(not after_reference), int(after_reference), int(not answer.strip())),
            )  # fmt: skip
            db.execute("DELETE FROM drafts WHERE session_id = ? AND idx = ?", (sid, idx))
            if audio is not None:  # a spoken answer: its kept audio, with the turn
                insert_audio(db, cur.lastrowid, audio, now())
            if question.get("text"):
                db.execute(
                    "INSERT OR IGNORE INTO question_texts (ref, text) VALUES (?, ?)",
                    (question_ref, question["text"]),
                )
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
        """Keep a grade: it becomes the turn's latest, and when it is graded and the turn is its session's last try,
        its criteria are the ones that count in progress figures."""
        from interviewer.grading.models import MAX_SCORE  # loaded already wherever grades are made

        grader = grade.get("grader") or {}
        with self._transaction() as db:
            cur = db.execute(
                """INSERT INTO grades (turn_id, created_at, status, score, grader_kind, model, grade_json,
                                       prompt_tokens, completion_tokens, cost_usd)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (turn_id, now(), grade["status"], grade.get("score"), grader.get("kind"), grader.get("model"),
                 json.dumps(grade, ensure_ascii=False), grader.get("prompt_tokens"), grader.get("completion_tokens"),
                 grader.get("cost_usd")),
            )  # fmt: skip
            gid = cur.lastrowid
            graded = grade["status"] == "graded" and grade.get("score") is not None
            db.execute(
                "UPDATE turns SET grade_id = ?, score = ? WHERE id = ?",
                (gid, grade["score"] if graded else None, turn_id),
            )
            db.execute("DELETE FROM criterion_scores WHERE turn_id = ?", (turn_id,))
            final = db.execute("SELECT final, question_ref FROM turns WHERE id = ?", (turn_id,)).fetchone()
            if graded and final and final[0]:
                db.executemany(
                    "INSERT INTO criterion_scores (turn_id, question_ref, name, fraction) VALUES (?, ?, ?, ?)",
                    [(turn_id, final[1], c.get("name") or c.get("id") or "-",
                      c["score"] / (c.get("max_score") or MAX_SCORE))
                     for c in grade.get("criteria") or [] if c.get("score") is not None],
                )  # fmt: skip
        return gid

    def turns(self, sid: str, all_attempts: bool = False) -> list[dict[str, Any]]:
        """The session's turns in order, each with its latest grade (or None), grade count and follow-ups.

        By default only the latest attempt at each question; `all_attempts` includes earlier tries (`:retry`).
        """
        latest = "" if all_attempts else "AND t.final"
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

    # ------------------------------------------------------------ one question's history

    def attempts(self, ref: str) -> list[dict[str, Any]]:
        """Every answered try at one question ref, oldest first, each with its latest grade; `final` marks a
        session's last try at it."""
        with self.lock:
            rows = self.db.execute(
                f"""SELECT {_TURN_COLUMNS}, s.started_at AS session_started_at FROM turns t
                    JOIN sessions s ON s.id = t.session_id WHERE t.question_ref = ? ORDER BY t.answered_at, t.id""",
                (ref,),
            ).fetchall()
        out = []
        for r in rows:
            d = decode_turn(r)
            d["turn_id"] = d.pop("id")
            d["index"] = d.pop("idx") + 1
            out.append(d)
        return out

    def question_refs(self) -> list[str]:
        with self.lock:
            return [r[0] for r in self.db.execute("SELECT DISTINCT question_ref FROM turns ORDER BY 1")]

    def known_texts(self, banks: list[str]) -> dict[str, list[str]]:
        """Every text each question identity of these banks has been asked with (ref → texts)."""
        out: dict[str, list[str]] = {}
        with self.lock:
            for bank in banks:
                rows = self.db.execute(
                    "SELECT ref, text FROM question_texts WHERE ref >= ? AND ref < ?",
                    (f"{bank}:", f"{bank};"),
                )
                for ref, text in rows:
                    out.setdefault(ref, []).append(text)
        return out
