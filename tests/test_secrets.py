"""The API key never leaks: not in exports, terminal output, the database or any file under INTERVIEWER_HOME.

A scripted session is graded by the LLM grader against the local OpenAI-protocol server, with one grade
failing (HTTP 401 or 500), then every place the key could end up is searched for it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from openai_server import Status

from interviewer.config import mask

SECRET = "sk-zq7Xv9Lm2Rt4Wn8Kp3Yh6Jd"
WINDOW = 8  # no 8-character piece of the key may show up anywhere (a masked key shows 3 + 2)

ANSWERS = """Q, K and V come from linear projections; softmax(QK^T / sqrt(d_k)) V. Scaling keeps the
softmax out of saturation because the dot product variance grows with d_k.
---
Several heads attend in different subspaces in parallel, then their outputs are concatenated.
"""


def leaks(text: str) -> list[str]:
    """The pieces of the key found in text."""
    return sorted(
        {SECRET[i : i + WINDOW] for i in range(len(SECRET) - WINDOW + 1) if SECRET[i : i + WINDOW] in text}
    )


def echoing_401(request_json):
    """A gateway that quotes the key it was given back in its error message."""
    return Status(
        401,
        body={
            "error": {
                "message": f"Incorrect API key provided: {SECRET}. You can find your API key at https://example.test.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        },
    )


FAILURES = [
    pytest.param(Status(401), "auth", id="401"),
    pytest.param(Status(500), "server", id="500"),
    pytest.param(echoing_401(None), "auth", id="401-echoing-the-key"),
]


@pytest.fixture
def secret_env(llm_env, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("INTERVIEWER_RETRIES", "0")  # the failing grade fails at once
    return llm_env


def _db_values(db_path: Path) -> list[tuple[str, str]]:
    """(table, value) for every value of every row of every table."""
    out = []
    with sqlite3.connect(db_path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert {"sessions", "turns", "grades"} <= set(tables)
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                out += [(table, str(v)) for v in row]
    return out


@pytest.mark.parametrize(("failure", "kind"), FAILURES)
def test_api_key_never_leaks(cli, home, tmp_path, secret_env, failure, kind):
    server = secret_env
    server.script(failure)  # the first grade fails, the second gets the default valid reply
    answers = tmp_path / "answers.txt"
    answers.write_text(ANSWERS, encoding="utf-8")
    outputs: dict[str, str] = {}

    r = cli(
        "start", "--grader", "llm", "-n", "2", "--order", "bank", "--section", "2", "--answers", str(answers)
    )
    assert r.exit_code == 0, r
    outputs["start stdout"], outputs["start stderr"] = r.stdout, r.stderr

    # The key did reach the server, so the test is meaningful.
    assert len(server.requests) == 2
    assert all(SECRET in req["headers"].get("authorization", "") for req in server.requests)

    session = json.loads(cli("export", "--last", "--format", "json").stdout)
    statuses = [t["grade"]["status"] for t in session["turns"]]
    assert sorted(statuses) == ["graded", "ungraded"], statuses
    failed = next(t["grade"] for t in session["turns"] if t["grade"]["status"] == "ungraded")
    assert failed["error"].startswith(kind), failed["error"]

    # Another failing call, through regrade.
    server.script(failure)
    r = cli("regrade", session["id"], "--only-ungraded")
    outputs["regrade stdout"], outputs["regrade stderr"] = r.stdout, r.stderr

    for fmt in ("md", "json", "html"):
        r = cli("export", "--last", "--format", fmt)
        assert r.exit_code == 0, r
        outputs[f"export {fmt}"] = r.stdout
        out_file = tmp_path / f"transcript.{fmt}"
        r = cli("export", "--last", "--format", fmt, "-o", str(out_file))
        assert r.exit_code == 0, r
        outputs[f"export {fmt} file"] = out_file.read_text(encoding="utf-8")
        outputs[f"export {fmt} -o stderr"] = r.stderr
    for args in (("show", "last"), ("show", "last", "--json"), ("sessions",), ("sessions", "--json")):
        r = cli(*args)
        assert r.exit_code == 0, r
        outputs[" ".join(args)] = r.stdout + r.stderr

    found = sorted(where for where, text in outputs.items() if leaks(text))
    rows = sorted({table for table, value in _db_values(home / "interviewer.db") if leaks(value)})
    assert not found and not rows, f"key found in outputs {found} and in tables {rows}"

    files = [
        str(p.relative_to(home))
        for p in home.rglob("*")
        if p.is_file() and leaks(p.read_bytes().decode("utf-8", errors="replace"))
    ]
    assert not files, files


def test_config_show_masks_the_key(cli, secret_env):
    r = cli("config", "show")
    assert r.exit_code == 0, r
    assert not leaks(r.stdout + r.stderr), r
    assert mask(SECRET) in r.stdout
    api_key_line = next(line for line in r.stdout.splitlines() if line.startswith("api_key"))
    assert "env INTERVIEWER_API_KEY" in api_key_line

    r = cli("config", "show", "--json")
    assert r.exit_code == 0, r
    rows = r.json_lines()[0]
    assert rows["api_key"]["value"] == mask(SECRET)
    assert not leaks(r.stdout + r.stderr)


def test_config_file_key_is_masked(cli, home, llm_env):
    cfg = home / "config.toml"
    cfg.write_text(f'api_key = "{SECRET}"\n', encoding="utf-8")
    cfg.chmod(0o600)
    r = cli("config", "show", "--json")
    assert r.exit_code == 0, r
    assert r.json_lines()[0]["api_key"] == {"value": mask(SECRET), "source": str(cfg)}
    assert not leaks(r.stdout + r.stderr)
