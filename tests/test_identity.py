"""Question identity: a question keeps its history, schedule and stats when its bank is edited (questions
inserted, deleted, reordered, reworded), the two editions of a bank are one set of questions, and a database
written by the release before identities (history kept by position) keeps every attempt attached."""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from interviewer.content.bank import fingerprint, parse_markdown
from interviewer.content.identity import reconcile, similarity

RELEASE = Path(__file__).parent / "data" / "release-0.1"

BANK = """# Mine

## Retrieval

1. [freq:high][difficulty:medium] What are the steps of a RAG pipeline? Hint: retrieve, add context, generate.
2. [freq:medium][difficulty:medium] How do you choose the chunk size for documents? Hint: meaning, granularity.
3. [freq:medium][difficulty:hard] How do you evaluate a RAG system? Hint: recall, faithfulness.

## Serving

1. [freq:high][difficulty:easy] What is a KV cache and why does it speed up decoding? Hint: no recomputation.
"""
ANSWERS = {
    "1.1": "Embed the query, retrieve the nearest chunks from a vector store, put them in the prompt, generate.",
    "1.2": "Too large hurts retrieval precision and wastes context; too small loses meaning; a few hundred tokens.",
    "1.3": "Retrieval recall and MRR, then faithfulness and answer relevance of the generated answer.",
    "2.1": "The keys and values of past tokens are cached so each new token only computes its own.",
}
# The same bank edited: a question inserted first, 1.2 deleted, 1.3 reworded, and the sections swapped.
EDITED = """# Mine

## Serving

1. [freq:high][difficulty:easy] What is a KV cache and why does it speed up decoding? Hint: no recomputation.

## Retrieval

1. [freq:low][difficulty:easy] What is a vector database? Hint: nearest neighbours.
2. [freq:high][difficulty:medium] What are the steps of a RAG pipeline? Hint: retrieve, add context, generate.
3. [freq:medium][difficulty:hard] How would you evaluate a RAG system end to end? Hint: recall, faithfulness.
"""


def questions(text, name="mine"):
    return parse_markdown(text, name=name).questions


def test_an_untagged_question_is_known_by_its_text_and_a_tagged_one_by_its_id():
    a, b = questions("## S\n1. What is RAG?\n2. [id:kv] What is a KV cache?\n")
    assert (a.id, a.ref) == ("1.1", f"mine:{fingerprint('What is RAG?')}")
    assert (b.id, b.ref) == ("kv", "mine:kv")
    (moved,) = [q for q in questions("## T\n1. Other?\n## S\n1.   what is  RAG ?\n") if "RAG" in q.text]
    assert moved.id == "2.1" and moved.ref == a.ref  # moved and re-spaced: the same identity


def test_the_same_question_twice_gets_two_identities_by_order():
    a, b = questions("## S\n1. Why?\n2. Why?\n")
    assert a.ref != b.ref and len({a.ref, b.ref}) == 2


def test_reconcile_keeps_a_moved_question_and_matches_a_reworded_one_to_its_history():
    known = {
        "mine:1.1": ["What are the steps of a RAG pipeline?"],  # by position, as the release before kept it
        "mine:1.3": ["How do you evaluate a RAG system?"],
        "mine:1.2": ["How do you choose the chunk size for documents?"],  # deleted since
    }
    qs, matches = reconcile(questions(EDITED), known)
    by_text = {q.text.split("?")[0]: q for q in qs}
    assert by_text["What are the steps of a RAG pipeline"].ref == "mine:1.1"
    assert by_text["How would you evaluate a RAG system end to end"].ref == "mine:1.3"
    assert (
        by_text["What is a vector database"].ref
        == f"mine:{fingerprint(by_text['What is a vector database'].text)}"
    )
    assert {(m.question_id, m.how) for m in matches} == {("2.2", "same text"), ("2.3", "reworded")}
    assert all(q.ref != "mine:1.2" for q in qs)  # a deleted question's history is not given to another


def test_reconcile_does_not_give_history_to_a_different_question_on_the_same_subject():
    known = {"mine:1.1": ["How do you evaluate a RAG system?"]}
    qs, matches = reconcile(questions("## S\n1. How do you build a RAG system?\n"), known)
    assert similarity("How do you evaluate a RAG system?", "How do you build a RAG system?") < 0.9
    assert matches == [] or matches[0].similarity >= 0.6  # either unmatched or clearly the same question
    qs, matches = reconcile(questions("## S\n1. What is LoRA and why is it cheap?\n"), known)
    assert matches == [] and qs[0].ref.startswith("mine:~")


def test_reconcile_is_one_to_one_best_pairs_first():
    known = {"mine:a": ["How do you evaluate a RAG system?"]}
    text = "## S\n1. How do you evaluate a RAG system today?\n2. How would you evaluate a RAG system today in production?\n"
    qs, matches = reconcile(questions(text), known)
    assert [q.ref for q in qs].count("mine:a") == 1 and len(matches) == 1
    assert matches[0].question_id == "1.1"


def test_the_editions_of_the_seed_share_identities(cli):
    zh = {q["id"]: q for q in cli("bank", "list", "--json").json_lines()}
    en = {q["id"]: q for q in cli("bank", "list", "--json", "--lang", "en").json_lines()}
    assert zh.keys() == en.keys() and all(zh[i]["identity"] == en[i]["identity"] for i in zh)
    assert zh["2.1"]["text"] != en["2.1"]["text"]


# ---------------------------------------------------------------- through the commands


def practise(cli, tmp_path, pairs, name):
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps({"question_id": q, "answer": a}) + "\n" for q, a in pairs), "utf-8")
    r = cli("start", "--answers", str(path))
    assert r.exit_code == 0, r
    return cli("sessions", "--json").json_lines()[0]["id"]


def history(cli, qid):
    r = cli("history", qid, "--json")
    assert r.exit_code == 0, r
    return r.json_lines()[0]


def test_editing_a_bank_keeps_every_past_attempt_with_its_question(cli, home, tmp_path):
    (home / "bank").mkdir()
    bank = home / "bank" / "mine.md"
    bank.write_text(BANK, encoding="utf-8")
    first = practise(cli, tmp_path, [(f"mine:{q}", a) for q, a in ANSWERS.items()], "first")
    before = {q: history(cli, f"mine:{q}") for q in ANSWERS}
    assert all(len(h["attempts"]) == 1 for h in before.values())

    bank.write_text(EDITED, encoding="utf-8")
    moved = {"2.1": "1.1", "2.2": "1.1", "2.3": "1.3", "1.1": "2.1"}  # new id → old id
    moved.pop("2.1")  # the inserted question has no history
    for new, old in moved.items():
        h = history(cli, f"mine:{new}")
        assert [a["answer"] for a in h["attempts"]] == [ANSWERS[old]], (new, old)
        assert h["question_id"] == new and h["attempts"][0]["session_id"] == first
    assert history(cli, "mine:2.1")["attempts"] == []
    r = cli("bank", "validate", str(bank))
    assert r.exit_code == 0 and "2.3 keeps the history of “How do you evaluate a RAG system?”" in r.stdout, r
    assert "reworded" in r.stdout

    practise(cli, tmp_path, [("mine:2.3", "Recall@k for retrieval, faithfulness for the answers.")], "second")
    assert len(history(cli, "mine:2.3")["attempts"]) == 2  # a new attempt joins the old ones
    stats = cli("stats", "--json").json_lines()[0]
    review = {r["question_id"]: r for r in stats["to_review"] if r["ref"].startswith("mine:")}
    assert review["2.3"]["attempts"] == 2 and "end to end" in review["2.3"]["text"]
    assert set(review) == {"1.1", "1.2", "2.2", "2.3"}  # the deleted question under the id it was asked with
    sections = {s["section"]: s["answers"] for s in stats["by_section"]}
    assert sections == {"Serving": 1, "Retrieval": 4}  # the deleted question under the section it was in


def test_a_database_of_the_release_before_keeps_its_history_after_the_bank_is_edited(cli, home):
    (home / "bank").mkdir()
    shutil.copy(RELEASE / "mine.md", home / "bank" / "mine.md")
    shutil.copy(RELEASE / "interviewer.db", home / "interviewer.db")  # as the release before wrote it
    old = {r[0]: r[1] for r in sqlite3.connect(home / "interviewer.db").execute(
        "SELECT question_ref, answer FROM turns")}  # fmt: skip
    assert "mine:1.2" in old and "llm-basics:2.1" in old  # kept by position

    text = (home / "bank" / "mine.md").read_text(encoding="utf-8")
    inserted = text.replace(
        "## 检索增强\n\n", "## 检索增强\n\n1. [频率:低][难度:易] 什么是向量数据库？ 提示：近邻检索。\n", 1
    )
    (home / "bank" / "mine.md").write_text(inserted, encoding="utf-8")
    for new, old_ref in (("mine:1.2", "mine:1.1"), ("mine:1.3", "mine:1.2"), ("mine:1.4", "mine:1.3"),
                         ("mine:2.1", "mine:2.1"), ("llm-basics:2.1", "llm-basics:2.1")):  # fmt: skip
        h = history(cli, new)
        assert [a["answer"] for a in h["attempts"]] == [old[old_ref]], (new, old_ref)
    assert history(cli, "mine:1.1")["attempts"] == []  # the inserted question
    names = [n for (n,) in sqlite3.connect(home / "interviewer.db").execute("SELECT name FROM migrations")]
    assert "004_question_texts" in names
    st = cli("stats", "--json").json_lines()[0]
    assert st["answers"] == len(old) and st["sessions"] == 1


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_two_editions_count_as_one_section_in_stats(cli, tmp_path, monkeypatch, lang):
    practise(cli, tmp_path, [("2.1", "先算 QK^T 再除以根号 d_k 后 softmax 乘 V，防止方差过大。")], "zh")
    r = cli(
        "start", "--lang", "en", "--answers", str(_one(tmp_path, "2.2", "Several heads attend in parallel."))
    )
    assert r.exit_code == 0, r
    monkeypatch.setenv("INTERVIEWER_LANG", lang)
    (st,) = cli("stats", "--json").json_lines()
    assert [(s["section"], s["answers"]) for s in st["by_section"]] == [
        ("注意力机制与训练优化" if lang == "zh" else "Attention Mechanisms and Training Optimization", 2)
    ]


def _one(tmp_path, qid, answer):
    p = tmp_path / f"one-{qid}.jsonl"
    p.write_text(json.dumps({"question_id": qid, "answer": answer}) + "\n", encoding="utf-8")
    return p


def test_a_curated_rubric_follows_its_question_when_the_seed_is_edited(cli, home):
    from interviewer.content.assets import asset_dir

    seed = (asset_dir("bank") / "llm-basics.md").read_text(encoding="utf-8")
    section = "## 注意力机制与训练优化\n\n"
    assert section in seed
    (home / "bank").mkdir()
    (home / "bank" / "llm-basics.md").write_text(
        seed.replace(
            section, section + "1. [频率:低][难度:易] 什么是注意力掩码？ 提示：因果掩码与填充掩码。\n", 1
        ),
        encoding="utf-8",
    )
    moved = cli("rubric", "show", "2.2", "--json").json_lines()[0]
    assert "Scaled Dot-Product" in cli("bank", "show", "2.2").stdout
    assert moved["source"] == "curated" and "scaling" in [c["id"] for c in moved["criteria"]]
    inserted = cli("rubric", "show", "2.1", "--json").json_lines()[0]
    assert inserted["source"] == "derived"
    r = cli("rubric", "validate", str(asset_dir("rubrics") / "llm-basics" / "2.1.toml"))
    assert r.exit_code != 0 and "its question is now 2.2" in r.stderr, r
