"""Keeping sessions tidy: the draft of the answer being typed, and removing sessions (`sessions rm`, `sessions
prune`, and a session left with nothing in it).

A draft is one row per session and question, written as the candidate types and dropped when the answer is
committed (`Store.add_turn`). Removing a session removes everything that belongs to it: its turns, their grades,
criterion scores, follow-ups and kept audio, and its drafts. What it taught the spaced-repetition schedule and the texts its
questions were asked with are history of the questions, not of the session, and stay.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# the tables of a turn's rows (turns and grades point at each other: see `delete_session`); `audio` is there once
# spoken answers have been kept
_BY_TURN = ("criterion_scores", "grades", "follow_ups", "audio")


class SessionUpkeep:
    """Mixed into `Store`."""

    db: sqlite3.Connection
    lock: threading.RLock

    # ------------------------------------------------------------ drafts

    def save_draft(self, sid: str, idx: int, text: str) -> None:
        """Keep what has been typed so far for question `idx`; an empty text drops the draft."""
        if not text.strip():
            self.clear_draft(sid, idx)
            return
        self._write(
            """INSERT INTO drafts (session_id, idx, text, saved_at) VALUES (?, ?, ?, ?)
               ON CONFLICT(session_id, idx) DO UPDATE SET text = excluded.text, saved_at = excluded.saved_at""",
            (sid, idx, text, datetime.now(UTC).isoformat(timespec="seconds")),
        )

    def draft(self, sid: str, idx: int) -> dict[str, Any] | None:
        """The saved draft of question `idx` (`text`, `saved_at`), or None."""
        with self.lock:
            row = self.db.execute(
                "SELECT text, saved_at FROM drafts WHERE session_id = ? AND idx = ?", (sid, idx)
            ).fetchone()
        return dict(row) if row else None

    def clear_draft(self, sid: str, idx: int) -> None:
        self._write("DELETE FROM drafts WHERE session_id = ? AND idx = ?", (sid, idx))

    # ------------------------------------------------------------ removing sessions

    def session_counts(self, sid: str) -> dict[str, int]:
        """What a session holds: questions answered (its last tries), tries in all, drafts."""
        with self.lock:
            answered, attempts = self.db.execute(
                "SELECT COALESCE(SUM(final), 0), COUNT(*) FROM turns WHERE session_id = ?", (sid,)
            ).fetchone()
            (drafts,) = self.db.execute("SELECT COUNT(*) FROM drafts WHERE session_id = ?", (sid,)).fetchone()
        return {"answered": answered, "attempts": attempts, "drafts": drafts}

    def is_empty(self, sid: str) -> bool:
        """No answer and no draft: nothing in it worth keeping."""
        counts = self.session_counts(sid)
        return counts["attempts"] == 0 and counts["drafts"] == 0

    def delete_session(self, sid: str) -> None:
        """Remove a session and everything that belongs to it, in one transaction, while holding it (a session in
        use by another process is refused with a `StoreError` naming that process)."""
        with self.hold(sid), self._transaction() as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            turns = "SELECT id FROM turns WHERE session_id = ?"
            recordings = []
            if "audio" in tables:
                recordings = [
                    r[0] for r in db.execute(f"SELECT path FROM audio WHERE turn_id IN ({turns})", (sid,))
                ]
            db.execute("UPDATE turns SET grade_id = NULL WHERE session_id = ?", (sid,))
            for table in _BY_TURN:
                if table in tables:
                    db.execute(f"DELETE FROM {table} WHERE turn_id IN ({turns})", (sid,))
            db.execute("DELETE FROM turns WHERE session_id = ?", (sid,))
            db.execute("DELETE FROM drafts WHERE session_id = ?", (sid,))
            db.execute("DELETE FROM sessions WHERE id = ?", (sid,))
        self._drop_lock_file(sid)
        home = Path(getattr(self, "path", "")).parent.resolve()
        for recording in recordings:  # a spoken answer's kept copy is the session's too
            path = Path(recording)
            if path.resolve().is_relative_to(home):
                path.unlink(missing_ok=True)

    def delete_if_empty(self, sid: str) -> bool:
        """Remove the session when it holds no answer and no draft (its own process calls this while holding it).
        True when it was removed."""
        with self._transaction() as db:
            has_turn = db.execute("SELECT 1 FROM turns WHERE session_id = ? LIMIT 1", (sid,)).fetchone()
            has_draft = db.execute("SELECT 1 FROM drafts WHERE session_id = ? LIMIT 1", (sid,)).fetchone()
            if has_turn or has_draft:
                return False
            db.execute("DELETE FROM sessions WHERE id = ?", (sid,))
        self._drop_lock_file(sid)
        return True

    def prunable(self, started_before: str | None = None) -> list[dict[str, Any]]:
        """Sessions `prune` removes, oldest first: those with no answer and no draft, and with `started_before`
        (a UTC ISO time) also the unfinished ones started before it. Each is a row of `sessions()` with `drafts`
        and `why`."""
        with self.lock:
            rows = self.db.execute(
                """SELECT s.*, COALESCE(SUM(t.final), 0) AS answered, COUNT(t.id) AS attempts,
                          (SELECT COUNT(*) FROM drafts d WHERE d.session_id = s.id) AS drafts
                   FROM sessions s LEFT JOIN turns t ON t.session_id = s.id
                   GROUP BY s.id ORDER BY s.started_at, s.rowid"""
            ).fetchall()
        out = []
        for r in map(dict, rows):
            if r["attempts"] == 0 and r["drafts"] == 0:
                out.append(r | {"why": "empty"})
            elif (
                started_before is not None and r["status"] != "finished" and r["started_at"] < started_before
            ):
                out.append(r | {"why": "abandoned"})
        return out

    def _drop_lock_file(self, sid: str) -> None:
        path = getattr(self, "path", None)
        if path is not None:
            (path.parent / "locks" / f"{sid}.lock").unlink(missing_ok=True)
