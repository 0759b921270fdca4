"""One spelling for one thing: `last` as a session id in every command, help with no arguments, `-V`, usage
lines in capitals, settings without a value read "not set", and every list printed as JSON lines."""

import json
import re
import sqlite3

import pytest
from conftest import ROOT

ANSWERS = ["Transformer 可以并行计算，任意两个位置直接交互。", "不知道"]


def scripted(tmp_path, answers=ANSWERS):
    p = tmp_path / "answers.txt"
    p.write_text("\n---\n".join(answers) + "\n", encoding="utf-8")
    return str(p)


def two_sessions(cli, tmp_path):
    """An older finished session and a newer one; returns their ids, oldest first."""
    for _ in range(2):
        assert cli("start", "-n", "2", "--order", "bank", "--answers", scripted(tmp_path)).exit_code == 0
    return [s["id"] for s in reversed(cli("sessions", "--json").json_lines())]


def test_last_names_the_latest_session_in_show_export_and_regrade(cli, tmp_path):
    _, newest = two_sessions(cli, tmp_path)
    assert json.loads(cli("show", "last", "--json").stdout)["id"] == newest
    assert json.loads(cli("export", "last", "--format", "json").stdout)["id"] == newest
    assert json.loads(cli("export", "--last", "--format", "json").stdout)["id"] == newest  # kept as an alias
    r = cli("regrade", "last")
    assert r.exit_code == 0, r
    assert f"Regraded 2 answer(s) in session {newest}." in r.stdout


def test_resume_last_is_the_latest_unfinished_session(cli, tmp_path, home):
    older, newest = two_sessions(cli, tmp_path)
    with sqlite3.connect(home / "interviewer.db") as db:
        db.execute("UPDATE sessions SET status = 'active', finished_at = NULL WHERE id = ?", (older,))
    r = cli("resume", "last", "--answers", scripted(tmp_path, ["并行计算"]))
    assert r.exit_code == 0, r
    assert f"Session {older} finished" in r.stdout


def test_last_with_no_session_says_how_to_start_one(cli):
    for args in (["show", "last"], ["export", "last"], ["regrade", "last"], ["resume", "last"]):
        r = cli(*args)
        assert r.exit_code == 2 and "interviewer start" in r.stderr, (args, r)


@pytest.mark.parametrize(
    "args", [[], ["bank"], ["rubric"], ["config"]], ids=["root", "bank", "rubric", "config"]
)
def test_no_arguments_prints_the_help_and_exits_0(cli, args):
    r = cli(*args)
    assert r.exit_code == 0, r
    assert r.stdout.startswith("Usage: interviewer") and "Commands:" in r.stdout
    assert r.stderr == ""


def test_dash_capital_v_prints_the_version(cli):
    from interviewer import __version__

    for flag in ("-V", "--version"):
        r = cli(flag)
        assert r.exit_code == 0 and r.stdout == f"interviewer {__version__}\n", r


def test_usage_lines_name_arguments_in_capitals_without_braces(cli):
    import typer.main

    from interviewer.cli import app

    group = typer.main.get_command(app)
    names = []
    for name, cmd in group.commands.items():
        subs = getattr(cmd, "commands", None)
        names += [[name, sub] for sub in subs] if subs else [[name]]
    for name in names:
        r = cli(*name, "--help")
        assert r.exit_code == 0, r
        usage = r.stdout.split("\n\n", 1)[0]
        assert "{" not in r.stdout and "<str>" not in r.stdout.split("Options:")[0], (name, usage)
    assert cli("show", "--help").stdout.startswith("Usage: interviewer show [OPTIONS] SESSION_ID\n")
    assert cli("export", "--help").stdout.startswith("Usage: interviewer export [OPTIONS] [SESSION_ID]\n")
    assert cli("bank", "validate", "--help").stdout.startswith(
        "Usage: interviewer bank validate [OPTIONS] PATHS...\n"
    )
    assert "\n  QUESTION_ID  Question id" in cli("history", "--help").stdout


def test_config_show_says_not_set_where_json_says_null(cli):
    text = cli("config", "show").stdout
    assert "None" not in text
    assert re.search(r"^model\s+not set\s+\(default\)$", text, re.M)
    (rows,) = cli("config", "show", "--json").json_lines()
    assert rows["model"]["value"] is None


def test_every_list_command_prints_json_lines_as_the_readme_says(cli, tmp_path):
    two_sessions(cli, tmp_path)
    batch = tmp_path / "batch.jsonl"
    batch.write_text(
        "".join(
            json.dumps({"id": i, "question_id": "1.1", "answer": a}) + "\n" for i, a in enumerate(ANSWERS)
        ),
        encoding="utf-8",
    )
    lists = {
        ("sessions", "--json"): 2,
        ("bank", "list", "--section", "1", "--json"): 7,
        ("bank", "validate", str(ROOT / "bank"), "--json"): 2,
        ("regrade", "last", "--json"): 2,
        ("grade", "--batch", str(batch), "--json"): 2,
    }
    for args, n in lists.items():
        r = cli(*args)
        assert r.exit_code == 0, (args, r)
        lines = r.stdout.splitlines()
        assert len(lines) == n and all(isinstance(json.loads(line), dict) for line in lines), args
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    said = next(p for p in readme.split("\n\n") if "JSON lines" in p and "`sessions`" in p)
    for name in ("`sessions`", "`bank list`", "`bank validate`", "`regrade`", "`grade --batch`"):
        assert name in said, name
