"""Shell completion: session ids (read-only, without a model library), question ids and option values, directly
and end to end through Typer's completion variable."""

import json
import os
import subprocess
import sys

from conftest import ROOT

from interviewer.cli import complete

PROBE = """
import sys
from interviewer.cli import main
try:
    main()
except SystemExit:
    pass
print("HEAVY=" + ",".join(m for m in ("litellm", "openai", "jinja2") if m in sys.modules), file=sys.stderr)
"""


def sessions(cli, tmp_path, n=2):
    answers = tmp_path / "a.txt"
    answers.write_text("并行计算\n---\n不知道\n", encoding="utf-8")
    for _ in range(n):
        assert cli("start", "-n", "2", "--order", "bank", "--answers", str(answers)).exit_code == 0
    return [s["id"] for s in cli("sessions", "--json").json_lines()]  # newest first


def test_session_ids_complete_last_and_the_newest_sessions_with_when_and_status(cli, tmp_path):
    newest_first = sessions(cli, tmp_path)
    found = complete.session_ids("")
    assert [v for v, _ in found] == ["last", *newest_first]
    assert all("finished, 2 answered" in h for _, h in found[1:])
    assert [v for v, _ in complete.session_ids(newest_first[0][:17])] == [
        s for s in newest_first if s.startswith(newest_first[0][:17])
    ]
    assert complete.session_ids("la") == [("last", "the most recent session")]


def test_resume_completes_only_unfinished_sessions(cli, tmp_path, home):
    import sqlite3

    older, newest = reversed(sessions(cli, tmp_path))
    with sqlite3.connect(home / "interviewer.db") as db:
        db.execute("UPDATE sessions SET status = 'active' WHERE id = ?", (older,))
    assert [v for v, _ in complete.unfinished_session_ids("")] == ["last", older]


def test_session_completion_without_a_database_offers_last_and_creates_nothing(home):
    assert [v for v, _ in complete.session_ids("")] == ["last"]
    assert list(home.iterdir()) == []


def test_a_damaged_database_completes_quietly(home):
    (home / "interviewer.db").write_bytes(b"not a database at all" * 100)
    assert [v for v, _ in complete.session_ids("")] == ["last"]


def test_question_ids_complete_from_the_default_bank_with_their_text():
    found = dict(complete.question_ids("2."))
    assert "2.1" in found and "Scaled Dot-Product Attention" in found["2.1"]
    assert all(k.startswith("2.") for k in found)
    assert len(complete.question_ids("")) == 50


def test_question_ids_are_qualified_when_the_home_adds_a_bank(home):
    (home / "bank").mkdir()
    (home / "bank" / "mine.md").write_text("## S\n1. [freq:high][difficulty:easy] What? Hint: x.\n", "utf-8")
    ids = [v for v, _ in complete.question_ids("")]
    assert "mine:1.1" in ids and "llm-basics:2.1" in ids


def test_option_values_complete():
    assert complete.choices("md", "json", "html")("") == ["md", "json", "html"]
    assert complete.choices("smart", "random", "bank", "frequency")("r") == ["random"]


def complete_bash(home, words: str):
    """Run the real program as bash's completion function does; (completions, heavy modules imported)."""
    env = {
        **os.environ, "INTERVIEWER_HOME": str(home), "_INTERVIEWER_COMPLETE": "complete_bash",
        "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    }  # fmt: skip
    r = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    heavy = [ln for ln in r.stderr.splitlines() if ln.startswith("HEAVY=")]
    return r.stdout.split(), heavy[-1][len("HEAVY=") :] if heavy else None


def test_bash_completion_end_to_end_lists_ids_and_values_without_heavy_imports(cli, tmp_path, home):
    newest_first = sessions(cli, tmp_path)
    for words in ("interviewer show ", "interviewer export ", "interviewer regrade "):
        found, heavy = complete_bash(home, words)
        assert found == ["last", *newest_first], words
        assert heavy == "", words
    assert complete_bash(home, "interviewer history 3.")[0] == [f"3.{i}" for i in range(1, 8)]
    assert complete_bash(home, "interviewer start --order ")[0] == ["smart", "random", "bank", "frequency"]
    assert complete_bash(home, "interviewer stats --by d")[0] == ["day"]
    assert complete_bash(home, "interviewer export --format ")[0] == ["md", "json", "html", "anki"]
    assert json.loads(cli("sessions", "--json").stdout.splitlines()[0])["id"] == newest_first[0]
