"""Every LLM grade keeps its provenance (the messages sent, the raw reply, the output mode) so it can be re-derived
and re-parsed: in the grade, the database, the session's JSON export and `show --details`; never with a key.
Every test on the server runs through each client (`llm_client`: litellm, the openai SDK)."""

from __future__ import annotations

import json
import sqlite3

import pytest
from conftest import ANSWER_21, grade_reply, llm_grader, varying_replies
from openai_server import Reply, Status

from interviewer.content.rubric import rubric_for
from interviewer.grading.models import Answer, FollowUp, GraderInfo
from interviewer.grading.reply import MAX_REPLY_CHARS, grade_from_reply, parse_reply

ANSWER = ANSWER_21
SECRET = "sk-pv3Qz8Ln5Wr2Tx7Kd4Hb9Mf"


@pytest.fixture
def llm_server(llm_server, llm_client, monkeypatch):
    llm_server.client = llm_client
    monkeypatch.setenv("INTERVIEWER_CLIENT", llm_client)  # for the sessions through the CLI
    return llm_server


def make(server, **kw):
    kw.setdefault("retries", 1)
    kw.setdefault("client", server.client)
    return llm_grader(server, **kw)


def run(grader, q, answer=ANSWER, follow_ups=()):
    return grader.grade(q, rubric_for(q), Answer(answer, tuple(follow_ups)))


def test_a_grade_keeps_the_messages_sent_and_the_reply_received(llm_server, q21):
    sent = {}

    def reply(req):
        sent["text"] = grade_reply(verdict="partial", score=5.0)(req)
        return sent["text"]

    llm_server.default = Reply(reply)
    g = run(make(llm_server), q21, follow_ups=(FollowUp("为什么要缩放？", "方差随 d_k 增大。"),))
    prov = g.to_dict()["provenance"]
    assert prov["messages"] == llm_server.requests[-1]["json"]["messages"]  # byte for byte what was sent
    assert prov["reply"] == sent["text"] and prov["mode"] == "schema"


def test_the_kept_reply_re_parses_to_the_same_grade(llm_server, q21):
    llm_server.default = Reply(grade_reply(verdict="partial", score=6.0, holistic=9.0))
    rubric = rubric_for(q21)
    g = run(make(llm_server), q21)
    again = grade_from_reply(
        q21.id, rubric, parse_reply(g.extra["provenance"]["reply"], rubric), GraderInfo("llm")
    )
    assert again.score == g.score == 6.0
    assert [c.verdict for c in again.criteria] == [c.verdict for c in g.criteria]
    assert again.flags == g.flags


def test_the_mode_is_the_one_the_grade_was_obtained_with(llm_server, q21):
    llm_server.script(
        Status(400, body={"error": {"message": "response_format json_schema is not supported"}})
    )
    g = run(make(llm_server), q21)
    assert g.status == "graded" and g.extra["provenance"]["mode"] == "json"


def test_an_ungraded_answer_keeps_the_prompt_and_the_last_bad_reply(llm_server, q21):
    llm_server.default = Reply("I think it is quite good, 8/10.")
    g = run(make(llm_server), q21)
    assert g.status == "ungraded" and g.score is None
    prov = g.to_dict()["provenance"]
    assert prov["reply"] == "I think it is quite good, 8/10."
    assert [m["role"] for m in prov["messages"]] == ["system", "user"] and ANSWER in prov["messages"][1][
        "content"
    ]

    llm_server.default = Status(503)
    g = run(make(llm_server), q21)
    assert g.status == "ungraded" and g.extra["provenance"]["reply"] is None  # nothing came back


def test_an_oversized_reply_is_kept_cut_to_size(llm_server, q21):
    llm_server.default = Reply("x" * (3 * MAX_REPLY_CHARS))
    g = run(make(llm_server), q21)
    reply = g.extra["provenance"]["reply"]
    assert g.status == "ungraded" and "bad_reply" in g.error
    assert reply.startswith("x" * MAX_REPLY_CHARS) and len(reply) < MAX_REPLY_CHARS + 100
    assert f"{3 * MAX_REPLY_CHARS:,} characters" in reply


def test_provenance_never_holds_a_key(llm_server, q21, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    llm_server.default = Reply(lambda req: grade_reply(feedback=f"Your key {SECRET} was received.")(req))
    g = run(make(llm_server, api_key=SECRET), q21, answer=ANSWER + f" (my key is {SECRET})")
    assert SECRET in llm_server.requests[-1]["headers"]["authorization"]  # the key was in play
    text = json.dumps(g.to_dict(), ensure_ascii=False)
    assert SECRET not in text and "***" in g.extra["provenance"]["reply"]
    assert SECRET[:12] not in text


def test_with_samples_the_provenance_is_that_of_the_sample_the_text_came_from(llm_server, q21):
    varying = varying_replies([2.0, 9.0, 5.0], feedback=lambda s: f"sample scored {s}")
    llm_server.default = Reply(varying)
    g = run(make(llm_server, samples=3), q21)
    assert g.score == 5.0 and g.feedback == "sample scored 5.0"
    kept = json.loads(g.extra["provenance"]["reply"])
    assert kept["feedback"] == g.feedback
    assert [c["evidence"] for c in kept["criteria"]] == [c.evidence for c in g.criteria]


# ---------------------------------------------------------------- through the CLI

ANSWERS = [
    "Q、K、V 由线性投影得到，softmax(QK^T / √d_k) V；缩放是因为点积方差随 d_k 增大，避免 softmax 饱和。",
    "多头在不同子空间并行做注意力，再拼接输出并投影。",
]


def _session(cli, tmp_path, *extra):
    answers = tmp_path / "answers.txt"
    answers.write_text("\n---\n".join(ANSWERS) + "\n", encoding="utf-8")
    r = cli("start", "-n", "2", "--order", "bank", "--section", "2", "--answers", str(answers), *extra)
    assert r.exit_code == 0, r
    return r


def test_provenance_is_stored_and_exported_with_the_grade(cli, tmp_path, home, llm_env):
    _session(cli, tmp_path, "--grader", "llm")
    session = json.loads(cli("export", "--last", "--format", "json").stdout)
    sent = [r["json"]["messages"] for r in llm_env.requests]
    for turn in session["turns"]:
        prov = turn["grade"]["provenance"]
        assert prov["messages"] in sent and turn["answer"] in prov["messages"][1]["content"]
        assert json.loads(prov["reply"])["feedback"] == turn["grade"]["feedback"]
    with sqlite3.connect(home / "interviewer.db") as db:
        stored = [json.loads(g) for (g,) in db.execute("SELECT grade_json FROM grades ORDER BY id")]
    assert [g["provenance"] for g in stored] == [t["grade"]["provenance"] for t in session["turns"]]


def test_show_details_prints_each_turns_prompt_and_raw_reply(cli, tmp_path, llm_env, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_API_KEY", SECRET)
    llm_env.script(Reply("no grade here"))  # the first answer's grade fails, then is retried into a grade
    _session(cli, tmp_path, "--grader", "llm")
    plain = cli("show", "last")
    detailed = cli("show", "last", "--details")
    assert plain.exit_code == detailed.exit_code == 0, detailed
    assert "Grading details" not in plain.stdout and "```" not in plain.stdout
    assert detailed.stdout.startswith(plain.stdout)  # without --details nothing changes
    details = detailed.stdout[len(plain.stdout) :]
    assert details.count("System prompt:") == 2 and details.count("Raw reply:") == 2
    verbatim = "\n".join(line.split("│ ", 1)[1] for line in details.splitlines() if "│ " in line)
    session = json.loads(cli("show", "last", "--json").stdout)
    for turn in session["turns"]:
        prov = turn["grade"]["provenance"]
        assert prov["messages"][1]["content"] in verbatim and prov["reply"] in verbatim
    assert "no grade here" not in details  # the grade shown is the one from the retry
    assert SECRET not in detailed.stdout + detailed.stderr
    assert cli("show", "last", "--json", "--details").stdout == cli("show", "last", "--json").stdout


def test_show_details_of_an_offline_session_says_nothing_was_kept(cli, tmp_path):
    _session(cli, tmp_path)
    r = cli("show", "last", "--details")
    assert r.exit_code == 0, r
    assert r.stdout.count("offline grade: no prompt or reply kept") == 2


def test_a_reply_cannot_break_out_of_its_details_block(cli, tmp_path, llm_env):
    def fenced(req):
        return "```\n# Not a heading of the transcript\n```\n" + grade_reply()(req)

    llm_env.default = Reply(fenced)
    _session(cli, tmp_path, "--grader", "llm")
    details = cli("show", "last", "--details").stdout.split("Grading details", 1)[1]
    # every line of the reply behind the gutter: none can pass for a line of the transcript
    assert "   │ ```\n   │ # Not a heading of the transcript\n   │ ```\n" in details
    assert not any(line.startswith(("#", "`")) for line in details.splitlines())
