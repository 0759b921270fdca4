"""The queries behind resumable batch runs (`grade --batch`): a run per input fingerprint and settings, one row
per line as it completes, and the provider batch jobs a run submitted. Mixed into `Store`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class BatchQueries:
    """Needs `self.db`, `self.lock` and `self._transaction()` (see `Store`)."""

    # ------------------------------------------------------------ runs

    def batch_run(self, fingerprint: str, settings_key: str) -> dict[str, Any] | None:
        """The latest run of this input with these settings, or None."""
        with self.lock:
            row = self.db.execute(
                "SELECT * FROM batch_runs WHERE fingerprint=? AND settings_key=? ORDER BY id DESC LIMIT 1",
                (fingerprint, settings_key),
            ).fetchone()
        return dict(row) if row else None

    def batch_run_by_id(self, run_id: int) -> dict[str, Any] | None:
        with self.lock:
            row = self.db.execute("SELECT * FROM batch_runs WHERE id=?", (run_id,)).fetchone()
        return dict(row) if row else None

    def open_batch_run(
        self,
        fingerprint: str,
        settings_key: str,
        path: str,
        total: int,
        settings: dict[str, Any],
        via: str = "live",
        restart: bool = False,
    ) -> tuple[int, bool]:
        """(run id, resumed?): the latest run of this input and settings, or a new one; with `restart`, that
        run's lines and jobs are forgotten first."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT id FROM batch_runs WHERE fingerprint=? AND settings_key=? ORDER BY id DESC LIMIT 1",
                (fingerprint, settings_key),
            ).fetchone()
            if row is not None and restart:
                for table in ("batch_lines", "batch_jobs"):
                    db.execute(f"DELETE FROM {table} WHERE run_id=?", (row[0],))
                db.execute("DELETE FROM batch_runs WHERE id=?", (row[0],))
                row = None
            if row is not None:
                db.execute(
                    "UPDATE batch_runs SET path=?, updated_at=?, finished_at=NULL, via=? WHERE id=?",
                    (path, _now(), via, row[0]),
                )
                return row[0], True
            cur = db.execute(
                "INSERT INTO batch_runs (fingerprint, settings_key, path, via, total, created_at, updated_at,"
                " settings_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (fingerprint, settings_key, path, via, total, _now(), _now(), json.dumps(settings)),
            )
            return cur.lastrowid, False

    def finish_batch_run(self, run_id: int) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE batch_runs SET finished_at=?, updated_at=? WHERE id=?", (_now(), _now(), run_id)
            )

    # ------------------------------------------------------------ lines

    def save_batch_line(
        self, run_id: int, line: int, status: str, output: dict[str, Any] | None, job_id: str | None = None
    ) -> None:
        """A line's outcome (or, `submitted`, its place in a provider job), replacing any earlier one."""
        body = None if output is None else json.dumps(output, ensure_ascii=False)
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO batch_lines (run_id, line, status, job_id, output_json, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, line, status, job_id, body, _now()),
            )

    def batch_line(self, run_id: int, line: int) -> tuple[str, str | None, dict[str, Any] | None] | None:
        """(status, job id, output) of one line, or None when it has no row yet."""
        with self.lock:
            row = self.db.execute(
                "SELECT status, job_id, output_json FROM batch_lines WHERE run_id=? AND line=?",
                (run_id, line),
            ).fetchone()
        if row is None:
            return None
        return row[0], row[1], json.loads(row[2]) if row[2] else None

    def batch_line_counts(self, run_id: int) -> dict[str, int]:
        with self.lock:
            rows = self.db.execute(
                "SELECT status, COUNT(*) FROM batch_lines WHERE run_id=? GROUP BY status", (run_id,)
            ).fetchall()
        return {r[0]: r[1] for r in rows}

    def batch_outputs(self, run_id: int) -> Iterator[tuple[int, str, dict[str, Any] | None]]:
        """Every line's (number, status, output), in input order, read in pages (flat memory)."""
        after = 0
        while True:
            with self.lock:
                rows = self.db.execute(
                    "SELECT line, status, output_json FROM batch_lines WHERE run_id=? AND line>? ORDER BY line"
                    " LIMIT 500",
                    (run_id, after),
                ).fetchall()
            if not rows:
                return
            for line, status, body in rows:
                yield line, status, json.loads(body) if body else None
            after = rows[-1][0]

    # ------------------------------------------------------------ provider jobs

    def add_batch_job(self, job_id: str, run_id: int, status: str, lines: int, info: dict[str, Any]) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO batch_jobs (id, run_id, status, lines, created_at, updated_at, info_json)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (job_id, run_id, status, lines, _now(), _now(), json.dumps(info, ensure_ascii=False)),
            )

    def update_batch_job(self, job_id: str, status: str, info: dict[str, Any]) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE batch_jobs SET status=?, updated_at=?, info_json=? WHERE id=?",
                (status, _now(), json.dumps(info, ensure_ascii=False), job_id),
            )

    def batch_job(self, job_id: str) -> dict[str, Any] | None:
        with self.lock:
            row = self.db.execute("SELECT * FROM batch_jobs WHERE id=?", (job_id,)).fetchone()
        if row is None:
            return None
        d = dict(row)
        d["info"] = json.loads(d.pop("info_json"))
        return d

    def batch_jobs(self, run_id: int) -> list[dict[str, Any]]:
        with self.lock:
            rows = self.db.execute("SELECT id FROM batch_jobs WHERE run_id=? ORDER BY created_at", (run_id,))
            ids = [r[0] for r in rows]
        return [j for j in (self.batch_job(i) for i in ids) if j is not None]

    def batch_job_lines(self, job_id: str) -> list[int]:
        """The line numbers still waiting on this job."""
        with self.lock:
            rows = self.db.execute(
                "SELECT line FROM batch_lines WHERE job_id=? AND status='submitted' ORDER BY line", (job_id,)
            )
            return [r[0] for r in rows]
