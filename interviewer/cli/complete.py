"""Shell completion (`interviewer --install-completion`): session ids, question ids and option values.

Each function takes what has been typed so far and returns (value, help) pairs; Typer keeps those that start with
it. They read the database read-only and the banks in use, never a model, and never fail: a completion that
cannot be had is none. The store and the banks are imported here only when a completion is asked for, so that
`interviewer --help` does not load them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

MAX_SESSIONS = 50  # the newest; older ones are still typed by hand
DIFFICULTIES = ("easy", "medium", "hard")
FREQUENCIES = ("high", "medium", "low")


def choices(*values: str) -> Callable[[str], list[str]]:
    """A completion over fixed values, for an option such as `--format`."""

    def complete(incomplete: str) -> list[str]:
        return [v for v in values if v.startswith(incomplete)]

    return complete


def _sessions(unfinished: bool) -> list[tuple[str, str]]:
    from interviewer.config import home_dir
    from interviewer.store import Store
    from interviewer.textview import local_time

    db = home_dir() / "interviewer.db"
    if not db.is_file():
        return []
    store = Store(db, readonly=True)  # nothing is created or written
    try:
        rows = store.sessions()
    finally:
        store.close()
    if unfinished:
        rows = [r for r in rows if r["status"] != "finished"]
    return [
        (r["id"], f"{local_time(r['started_at'])} {r['status']}, {r['answered']} answered")
        for r in rows[:MAX_SESSIONS]
    ]


def session_ids(incomplete: str) -> list[tuple[str, str]]:
    """`last` and the newest sessions, for `show`, `export` and `regrade`."""
    return _complete_sessions(incomplete, unfinished=False)


def unfinished_session_ids(incomplete: str) -> list[tuple[str, str]]:
    """`last` and the newest sessions not finished, for `resume`."""
    return _complete_sessions(incomplete, unfinished=True)


def _complete_sessions(incomplete: str, unfinished: bool) -> list[tuple[str, str]]:
    found = [("last", "the most recent unfinished session" if unfinished else "the most recent session")]
    with contextlib.suppress(Exception):  # a damaged or locked database: no ids, and no noise in the shell
        found += _sessions(unfinished)
    return [c for c in found if c[0].startswith(incomplete)]


def question_ids(incomplete: str) -> list[tuple[str, str]]:
    """The ids of the banks in use (the shipped bank and the user's; `bank:2.1` when there are several)."""
    try:
        from interviewer.config import load_settings
        from interviewer.core import load_banks
        from interviewer.textview import clip

        settings = load_settings()
        banks = load_banks(None, settings.lang or "zh", settings.home)
    except Exception:  # a broken config or bank: no ids
        return []
    several = len(banks) > 1
    return [
        (f"{q.bank}:{q.id}" if several else q.id, clip(q.text, 60))
        for b in banks
        for q in b.questions
        if (f"{q.bank}:{q.id}" if several else q.id).startswith(incomplete)
    ]
