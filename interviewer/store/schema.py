"""The database's schema as ordered, named migrations: each runs once, in its own transaction, and a database
that has migrations this version does not know is refused (see `Store.migrate`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from interviewer.store.audio import migrate_007_audio


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


def _m003_progress_facts(db: sqlite3.Connection) -> None:
    """What progress figures group by, kept beside each turn so `stats` and `report` aggregate in SQL at a cost
    flat with history: whether the turn is its session's last try at the question, its latest grade (and that
    grade's score when it is graded), its question's display id, section and difficulty, with an index that
    covers them (a turn's row is wide: its question and answer come first), and the criteria that count: one
    row per scored criterion of the latest grade of each session's last try at a question, when it is graded
    (grades have always stored each criterion's maximum; 10 was the only scale before they did)."""
    _run(
        db,
        """
        ALTER TABLE turns ADD COLUMN final INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE turns ADD COLUMN grade_id INTEGER REFERENCES grades(id);
        ALTER TABLE turns ADD COLUMN score REAL;
        ALTER TABLE turns ADD COLUMN qid TEXT;
        ALTER TABLE turns ADD COLUMN section TEXT;
        ALTER TABLE turns ADD COLUMN difficulty TEXT;
        UPDATE turns SET
            final = (attempt = (SELECT MAX(u.attempt) FROM turns u
                                WHERE u.session_id = turns.session_id AND u.idx = turns.idx)),
            grade_id = (SELECT MAX(g.id) FROM grades g WHERE g.turn_id = turns.id),
            qid = json_extract(question_json, '$.id'),
            section = json_extract(question_json, '$.section'),
            difficulty = json_extract(question_json, '$.difficulty');
        UPDATE turns SET score = (SELECT g.score FROM grades g WHERE g.id = turns.grade_id AND g.status = 'graded');
        CREATE INDEX IF NOT EXISTS turns_session ON turns(session_id, idx, attempt, final, score, section);
        CREATE INDEX IF NOT EXISTS turns_progress
            ON turns(question_ref, qid, section, difficulty, final, score, session_id, grade_id, answered_at);
        CREATE INDEX IF NOT EXISTS sessions_started ON sessions(started_at);
        CREATE TABLE criterion_scores (
            turn_id INTEGER NOT NULL REFERENCES turns(id),
            question_ref TEXT NOT NULL,        -- the turn's, so the weakest criteria name their questions
            name TEXT NOT NULL,
            fraction REAL NOT NULL             -- the score over the criterion's maximum
        );
        CREATE INDEX criterion_scores_name ON criterion_scores(name, question_ref, fraction);
        CREATE INDEX criterion_scores_turn ON criterion_scores(turn_id, name, question_ref, fraction);
        INSERT INTO criterion_scores (turn_id, question_ref, name, fraction)
            SELECT t.id, t.question_ref,
                   COALESCE(json_extract(c.value, '$.name'), json_extract(c.value, '$.id'), '-'),
                   json_extract(c.value, '$.score') * 1.0
                       / COALESCE(NULLIF(json_extract(c.value, '$.max_score'), 0), 10.0)
            FROM turns t JOIN grades g ON g.id = t.grade_id, json_each(g.grade_json, '$.criteria') c
            WHERE t.final AND t.score IS NOT NULL AND json_extract(c.value, '$.score') IS NOT NULL
        """,
    )


def _m004_question_texts(db: sqlite3.Connection) -> None:
    """Every text each question identity has been asked with, so a question keeps its history when its bank is
    edited (see `content.identity`)."""
    _run(
        db,
        """
        CREATE TABLE question_texts (
            ref TEXT NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY (ref, text)
        ) WITHOUT ROWID;
        INSERT OR IGNORE INTO question_texts (ref, text)
            SELECT DISTINCT question_ref, json_extract(question_json, '$.text') FROM turns
            WHERE json_extract(question_json, '$.text') IS NOT NULL
        """,
    )


def _m005_drafts_skips_practice_retries(db: sqlite3.Connection) -> None:
    """The answer being typed, kept as it is typed (one draft per session and question, gone once the answer is
    committed); whether a turn is a skip (no answer: it scores 0 and is shown as skipped); and whether a try was
    made after the reference answer was shown (practice: the session's earlier try stays the one that counts). The
    covering indexes gain both, so progress figures still never read the wide rows."""
    _run(
        db,
        """
        CREATE TABLE drafts (
            session_id TEXT NOT NULL REFERENCES sessions(id),
            idx INTEGER NOT NULL,
            text TEXT NOT NULL,
            saved_at TEXT NOT NULL,
            PRIMARY KEY (session_id, idx)
        );
        ALTER TABLE turns ADD COLUMN after_reference INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE turns ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;
        UPDATE turns SET skipped = (trim(answer, ' ' || char(9, 10, 13)) = '');
        DROP INDEX IF EXISTS turns_session;
        DROP INDEX IF EXISTS turns_progress;
        CREATE INDEX turns_session ON turns(session_id, idx, attempt, final, score, section, skipped);
        CREATE INDEX turns_progress
            ON turns(question_ref, qid, section, difficulty, final, score, session_id, grade_id, answered_at, skipped,
                    after_reference)
        """,
    )


def _m006_batch_runs(db: sqlite3.Connection) -> None:
    """Resumable batch runs (`grade --batch`): one run per input file's fingerprint and grading settings, one row
    per line as it completes (the output line, grade included), and the provider batch jobs a run submitted
    (`--via batch-api`), whose lines wait as `submitted` until the job's replies are fetched."""
    _run(
        db,
        """
        CREATE TABLE batch_runs (
            id INTEGER PRIMARY KEY,
            fingerprint TEXT NOT NULL,         -- sha256 of the input file's bytes
            settings_key TEXT NOT NULL,        -- what makes two runs of one file the same run (grader, model, ...)
            path TEXT NOT NULL,                -- the file as last given, for display only
            via TEXT NOT NULL DEFAULT 'live',  -- live | batch-api
            total INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            finished_at TEXT,
            settings_json TEXT NOT NULL        -- public settings, never a secret
        );
        CREATE INDEX batch_runs_key ON batch_runs(fingerprint, settings_key, id);
        CREATE TABLE batch_lines (
            run_id INTEGER NOT NULL REFERENCES batch_runs(id),
            line INTEGER NOT NULL,             -- the input's line number
            status TEXT NOT NULL,              -- graded | ungraded | submitted
            job_id TEXT,                       -- the provider batch job that holds or held it
            output_json TEXT,                  -- the output line: the grade with the input's id echoed
            updated_at TEXT NOT NULL,
            PRIMARY KEY (run_id, line)
        ) WITHOUT ROWID;
        CREATE TABLE batch_jobs (
            id TEXT PRIMARY KEY,               -- the provider's batch id
            run_id INTEGER NOT NULL REFERENCES batch_runs(id),
            status TEXT NOT NULL,              -- the provider's: validating | in_progress | completed | failed | expired ...
            lines INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            info_json TEXT NOT NULL            -- model, api base, input file id and the provider's last answer
        );
        CREATE INDEX batch_jobs_run ON batch_jobs(run_id)
        """,
    )


def _m008_grade_costs(db: sqlite3.Connection) -> None:
    """What each grade cost (tokens and dollars, as the model's reply reported them), under an index that covers
    them, so `stats` totals what was spent without reading the grades themselves."""
    _run(
        db,
        """
        ALTER TABLE grades ADD COLUMN prompt_tokens INTEGER;
        ALTER TABLE grades ADD COLUMN completion_tokens INTEGER;
        ALTER TABLE grades ADD COLUMN cost_usd REAL;
        UPDATE grades SET
            prompt_tokens = json_extract(grade_json, '$.grader.prompt_tokens'),
            completion_tokens = json_extract(grade_json, '$.grader.completion_tokens'),
            cost_usd = json_extract(grade_json, '$.grader.cost_usd');
        CREATE INDEX grades_spent ON grades(turn_id, grader_kind, prompt_tokens, completion_tokens, cost_usd)
        """,
    )


MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("001_initial", _m001_initial),
    ("002_attempts_follow_ups_reviews", _m002_attempts_follow_ups_reviews),
    ("003_progress_facts", _m003_progress_facts),
    ("004_question_texts", _m004_question_texts),
    ("005_drafts_skips_practice_retries", _m005_drafts_skips_practice_retries),
    ("006_batch_runs", _m006_batch_runs),
    ("007_audio", migrate_007_audio),
    ("008_grade_costs", _m008_grade_costs),
]
