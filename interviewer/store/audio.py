"""Spoken answers in the store: a turn's kept audio file, its transcription state (pending until a transcript is
stored, with the last error) and the delivery signals of the transcript. A turn whose audio is pending has an
empty answer that is never graded: `resume` and `regrade` transcribe it first."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

# A turn's audio, read with the turn (see `_TURN_COLUMNS`): a JSON object, or NULL for a typed answer.
AUDIO_COLUMN = """(SELECT json_object('path', a.path, 'source_name', a.source_name, 'bytes', a.bytes,
            'duration_s', a.duration_s, 'status', a.status, 'error', a.error, 'attempts', a.attempts,
            'transcript', json(a.transcript_json), 'delivery', json(a.delivery_json),
            'transcribed_at', a.transcribed_at)
        FROM audio a WHERE a.turn_id = t.id) AS audio_json"""


def migrate_007_audio(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE IF NOT EXISTS audio (
            turn_id INTEGER PRIMARY KEY REFERENCES turns(id),
            path TEXT NOT NULL,                -- the kept copy under $INTERVIEWER_HOME/audio/ (0600)
            source_name TEXT,
            bytes INTEGER,
            duration_s REAL,                   -- from the file where it can be read (WAV)
            status TEXT NOT NULL,              -- pending | transcribed
            error TEXT,                        -- the last transcription failure
            attempts INTEGER NOT NULL DEFAULT 0,
            transcript_json TEXT,              -- text, model, duration_s, language, segments
            delivery_json TEXT,                -- speaking time, pace, pauses, fillers
            created_at TEXT NOT NULL,
            transcribed_at TEXT
        )"""
    )


def insert_audio(db: sqlite3.Connection, turn_id: int, audio: dict[str, Any], at: str) -> None:
    """Inside `add_turn`'s transaction: the turn's audio, pending unless it comes with its transcript."""
    done = audio.get("transcript") is not None
    db.execute(
        """INSERT INTO audio (turn_id, path, source_name, bytes, duration_s, status, transcript_json, delivery_json,
                              created_at, transcribed_at, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (turn_id, audio["path"], audio.get("source_name"), audio.get("bytes"), audio.get("duration_s"),
         "transcribed" if done else "pending",
         json.dumps(audio["transcript"], ensure_ascii=False) if done else None,
         json.dumps(audio.get("delivery"), ensure_ascii=False) if audio.get("delivery") else None,
         at, at if done else None, 1 if done else 0),
    )  # fmt: skip
    if not done:  # an answer on its way, not a skip
        db.execute("UPDATE turns SET skipped = 0 WHERE id = ?", (turn_id,))


def decode_audio(d: dict[str, Any]) -> None:
    raw = d.pop("audio_json", None)
    d["audio"] = json.loads(raw) if raw else None


class AudioQueries:
    """The store's audio writes (mixed into `Store`)."""

    def set_transcript(self, turn_id: int, result: dict[str, Any]) -> None:
        """The transcript becomes the turn's answer, with its delivery signals, in one transaction."""
        from interviewer.store import now

        text = result["transcript"]["text"]
        with self._transaction() as db:
            db.execute(
                "UPDATE turns SET answer = ?, skipped = ? WHERE id = ?",
                (text, int(not text.strip()), turn_id),
            )
            db.execute(
                """UPDATE audio SET status = 'transcribed', error = NULL, attempts = attempts + 1,
                   transcript_json = ?, delivery_json = ?, transcribed_at = ? WHERE turn_id = ?""",
                (json.dumps(result["transcript"], ensure_ascii=False),
                 json.dumps(result["delivery"], ensure_ascii=False), now(), turn_id),
            )  # fmt: skip

    def transcription_failed(self, turn_id: int, error: str) -> None:
        self._write(
            "UPDATE audio SET error = ?, attempts = attempts + 1 WHERE turn_id = ?", (error[:1000], turn_id)
        )

    def pending_audio(self, sid: str) -> int:
        with self.lock:
            return self.db.execute(
                """SELECT COUNT(*) FROM audio a JOIN turns t ON t.id = a.turn_id
                   WHERE t.session_id = ? AND t.final AND a.status = 'pending'""",
                (sid,),
            ).fetchone()[0]
