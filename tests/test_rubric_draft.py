"""`interviewer rubric draft`: a model drafts rubrics for a user's bank, through the local OpenAI-protocol server;
every file written validates and the offline grader then uses it; bad replies are retried, then reported, never
written half; an interrupted run resumes, and a reviewed rubric is never replaced without --force."""

import json
import re

import pytest
from openai_server import Reply

BANK = """# Mine

## Serving

1. [freq:high][difficulty:easy] What is a KV cache and why does it speed up decoding? Hint: no recomputation.
2. [freq:medium][difficulty:medium] What problem does continuous batching solve? Hint: uneven request lengths.
"""
GOOD = (
    "The keys and values of earlier tokens are cached, so each decoding step computes only the new token's."
)


def rubric_reply(request_json, **change):
    """A valid rubric for whichever question the request asks about."""
    user = request_json["messages"][1]["content"]
    question = re.search(r"<question>\n(.*)\n</question>", user).group(1)
    kv = "KV cache" in question
    body = {
        "criteria": [
            {"id": "idea" if kv else "problem", "name": "What it is" if kv else "The problem",
             "name_en": "What it is" if kv else "The problem", "description": "the core idea", "weight": 2,
             "met": "says what is cached and why", "partial": "says “it caches things”",
             "key_points": [{"text": "Keys and values of past tokens are cached", "text_en": "Past keys and values are cached",
                             "aliases": ["keys and values", "cached", "past tokens"], "explain": ["recompute"]}]},
            {"id": "effect", "name": "Why it is faster", "name_en": "Why it is faster", "description": "speed",
             "weight": 1, "met": "each step computes only the new token", "partial": "says “faster”",
             "key_points": [{"text": "Each step computes only the new token", "text_en": "Only the new token",
                             "aliases": ["new token", "each step", "decoding step"], "explain": []}]},
        ],
        "common_mistakes": [{"text": "It caches the final answers", "text_en": "It caches answers",
                             "patterns": ["caches the answers", "缓存答案"]}],
        "reference_answer": GOOD if kv else "Requests of uneven length join and leave a running batch every step.",
        "reference_answer_en": GOOD,
    } | change  # fmt: skip
    return json.dumps(body)


@pytest.fixture
def user_bank(home):
    (home / "bank").mkdir()
    path = home / "bank" / "mine.md"
    path.write_text(BANK, encoding="utf-8")
    return path


def draft(cli, *args):
    return cli("rubric", "draft", "--bank", str(args[0]), *args[1:])


def test_drafted_rubrics_validate_and_the_offline_grader_uses_them(cli, home, user_bank, llm_env):
    before = cli("grade", "-q", "mine:1.1", "-a", GOOD, "--grader", "offline", "--json").json_lines()[0]
    llm_env.default = Reply(rubric_reply)
    r = draft(cli, user_bank)
    assert r.exit_code == 0, r
    files = sorted((home / "rubrics" / "mine").glob("*.toml"))
    assert [f.name for f in files] == ["1.1.toml", "1.2.toml"]
    assert 'drafted = "openai/fake-model' in files[0].read_text(encoding="utf-8")
    assert cli("rubric", "validate", str(home / "rubrics"), "--bank", str(user_bank)).exit_code == 0
    shown = cli("rubric", "show", "mine:1.1", "--bank", str(user_bank), "--json").json_lines()[0]
    assert shown["source"] == "drafted" and [c["id"] for c in shown["criteria"]][:2] == ["idea", "effect"]
    after = cli(
        "grade", "-q", "mine:1.1", "-a", GOOD, "--grader", "offline", "--bank", str(user_bank), "--json"
    )
    g = after.json_lines()[0]
    assert {c["id"] for c in g["criteria"]} >= {"idea", "effect"} and g["grader"][
        "rubric_version"
    ].startswith("drafted-")
    assert g["score"] >= 7 and g["score"] > before["score"]
    reqs = [r["json"] for r in llm_env.requests]
    assert all(r["response_format"]["type"] == "json_schema" for r in reqs)
    assert any("KV cache" in json.dumps(r["messages"]) for r in reqs)


def test_a_reply_that_does_not_validate_is_sent_back_then_reported_and_never_written(
    cli, home, user_bank, llm_env
):
    def bad_pattern(req):  # a wrong-claim pattern that occurs in the reference answer
        return rubric_reply(req, common_mistakes=[{"text": "x", "text_en": "x", "patterns": ["new token"]}])

    llm_env.script(Reply("not json at all"), Reply(bad_pattern), Reply(rubric_reply))
    r = draft(cli, user_bank, "--only", "mine:1.1")
    assert r.exit_code == 0, r
    assert (home / "rubrics" / "mine" / "1.1.toml").exists() and len(llm_env.requests) == 3
    assert "occurs in the reference answer" in json.dumps(llm_env.requests[2]["json"]["messages"])

    llm_env.default = Reply("still not a rubric")
    r = draft(cli, user_bank, "--only", "mine:1.2")
    assert r.exit_code == 1 and "1.2: no valid rubric after 3 tries" in r.stderr
    assert not (home / "rubrics" / "mine" / "1.2.toml").exists()
    assert not list((home / "rubrics" / "mine").glob(".*.tmp"))


def test_an_interrupted_run_resumes_and_a_reviewed_rubric_is_kept(cli, home, user_bank, llm_env):
    llm_env.default = Reply(rubric_reply)
    assert draft(cli, user_bank, "--only", "mine:1.1").exit_code == 0  # as if stopped after the first
    r = draft(cli, user_bank)
    assert r.exit_code == 0 and len(llm_env.requests) == 2, r  # only 1.2 was drafted
    reviewed = home / "rubrics" / "mine" / "1.1.toml"
    reviewed.write_text(
        re.sub(r"^drafted = .*\n", "", reviewed.read_text(encoding="utf-8"), flags=re.M), "utf-8"
    )
    r = draft(cli, user_bank, "--only", "mine:1.1", "--json")
    assert r.json_lines()[0]["status"] == "reviewed" and len(llm_env.requests) == 2
    shown = cli("rubric", "show", "mine:1.1", "--bank", str(user_bank), "--json").json_lines()[0]
    assert shown["source"] == "curated"
    assert (
        draft(cli, user_bank, "--only", "mine:1.1", "--force").exit_code == 0 and len(llm_env.requests) == 3
    )


def test_drafting_needs_a_model(cli, user_bank, monkeypatch):
    monkeypatch.delenv("INTERVIEWER_MODEL", raising=False)
    r = draft(cli, user_bank)
    assert r.exit_code == 2 and "--model" in r.stderr


def test_an_imported_answer_is_graded_against_and_then_drafted_from(cli, home, llm_env, tmp_path):
    src = tmp_path / "qa.csv"
    row = f'What is a KV cache and why does it speed up decoding?,"{GOOD}",Serving'
    src.write_text(f"question,answer,section\n{row}\n", encoding="utf-8")
    (home / "bank").mkdir()
    assert cli("bank", "import", str(src), "-o", str(home / "bank" / "qa.md")).exit_code == 0
    g = cli("grade", "-q", "qa:1.1", "-a", GOOD, "--grader", "offline", "--json").json_lines()[0]
    assert g["score"] >= 7 and "off_topic" not in g["flags"]  # against the imported answer, not the bare text
    llm_env.default = Reply(rubric_reply)
    r = cli("rubric", "draft")
    assert r.exit_code == 0 and "qa:" not in r.stderr, r
    assert GOOD in json.dumps(
        llm_env.requests[0]["json"]["messages"]
    )  # the model builds on the bank's answer
    shown = cli("rubric", "show", "qa:1.1", "--json").json_lines()[0]
    assert shown["source"] == "drafted"
