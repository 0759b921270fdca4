"""Follow-ups, hint penalty, spaced repetition and the smart order, retries in the store, and migrations."""

import json
import sqlite3
from datetime import UTC, datetime, timedelta

from conftest import grade_reply

from interviewer.content.bank import Question
from interviewer.grading.models import CriterionResult, Grade, GraderInfo
from interviewer.practice.engine import apply_hint_penalty
from interviewer.practice.follow_ups import next_follow_up
from interviewer.practice.review import next_card, rating_for, select_smart
from interviewer.store import MIGRATIONS, Store


def q(i, freq="high"):
    return Question(id=f"1.{i}", bank="b", section="S", section_index=1, text=f"Q{i}", frequency=freq)


def test_fsrs_rating_bands():
    from fsrs import Rating

    assert [rating_for(s) for s in (0, 3.9, 4, 5.9, 6, 8.9, 9, 10)] == [
        Rating.Again, Rating.Again, Rating.Hard, Rating.Hard, Rating.Good, Rating.Good, Rating.Easy, Rating.Easy,
    ]  # fmt: skip


def test_smart_order_puts_due_and_weak_first_and_caps_new():
    now = datetime(2026, 1, 10, tzinfo=UTC)
    past = now - timedelta(days=5)
    due = next_card(None, 3.0, past)  # an Again a while ago: due now
    fresh_good = next_card(None, 9.5, now)  # Easy just now: not due
    weak_not_due = next_card(None, 5.0, now - timedelta(seconds=10))
    states = {
        "b:1.1": {"card_json": fresh_good, "last_score": 9.5},
        "b:1.2": {"card_json": due, "last_score": 3.0},
        "b:1.3": {"card_json": weak_not_due, "last_score": 5.0},
    }
    questions = [q(1), q(2), q(3), q(4, "low"), q(5, "high"), q(6, "high"), q(7, "medium"), q(8, "high")]
    plan = select_smart(questions, states, n=6, now=now, seed=1)
    ids = [x.id for x in plan]
    assert ids[0] == "1.2"  # due first
    assert "1.3" in ids[:2]  # weak next
    assert len(ids) == len(set(ids)) == 6
    new = [i for i in ids if i not in ("1.1", "1.2", "1.3")]
    assert "1.4" not in new[:3]  # high frequency before low
    plan_capped = select_smart(questions, states, n=4, now=now, seed=1, new_cap=1)
    assert [x.id for x in plan_capped][:2] == ["1.2", "1.3"]


def test_hint_penalty_is_visible():
    g = Grade(question_id="x", status="graded", score=6.0, grader=GraderInfo(kind="offline"))
    g = apply_hint_penalty(g)
    assert g.score == 5.0 and "hint_used" in g.flags and "−1" in g.feedback


def test_follow_up_aims_at_the_weakest_criterion(seed_questions):
    g = Grade(
        question_id="2.1", status="graded", score=5,
        criteria=[CriterionResult("flow", "计算流程", 2, 9), CriterionResult("scaling", "缩放因子的作用", 2, 1),
                  CriterionResult("accuracy", "acc", 1, 0)],
        grader=GraderInfo(kind="offline"),
    )  # fmt: skip
    cid, text = next_follow_up(seed_questions["2.1"], g)
    assert cid == "scaling" and "缩放因子的作用" in text
    assert "方差" not in text  # it asks; it does not give the answer away


def start_21_with_a_follow_up(cli, answers):
    """A one-question session on 2.1 (first of section 2) with one follow-up, scripted."""
    return cli("start", "-n", "1", "--section", "2", "--order", "bank", "--follow-ups", "1", "--answers", str(answers),
               "--json")  # fmt: skip


def test_scripted_follow_ups_take_the_next_answers_and_are_exported(cli, tmp_path, home):
    f = tmp_path / "a.txt"
    f.write_text(
        "先算 QK^T 再 softmax 乘 V\n---\n除以根号 d_k 是因为点积方差随维度增大，softmax 会饱和、梯度消失\n",
        encoding="utf-8",
    )
    r = start_21_with_a_follow_up(cli, f)
    assert r.exit_code == 0, r
    s = json.loads(r.stdout)
    (t,) = s["turns"]
    assert t["question"]["id"] == "2.1"
    assert len(t["follow_ups"]) == 1 and "方差" in t["follow_ups"][0]["answer"]
    assert t["follow_ups"][0]["criterion_id"]
    assert t["grades_count"] == 2  # the answer alone, then with its follow-up
    md = cli("export", s["id"], "--format", "md").stdout
    assert "**Follow-up.**" in md


def test_interview_mode_follow_up_is_aimed_without_waiting_for_the_grade(cli, tmp_path, llm_env):
    f = tmp_path / "a.txt"
    f.write_text("先算 QK^T 再 softmax 乘 V\n---\n因为方差随 d_k 增大\n", encoding="utf-8")
    r = cli("start", "-n", "1", "--section", "2", "--order", "bank", "--mode", "interview", "--follow-ups", "1",
            "--answers", str(f), "--json")  # fmt: skip
    assert r.exit_code == 0, r
    (t,) = json.loads(r.stdout)["turns"]
    assert len(t["follow_ups"]) == 1 and t["grades_count"] == 1  # one combined grade
    sent = llm_env.requests[-1]["json"]["messages"][1]["content"]
    assert "因为方差随 d_k 增大" in sent


def test_default_order_becomes_smart_once_there_is_history(cli, tmp_path, home):
    f = tmp_path / "a.txt"
    f.write_text("不知道\n---\n不知道\n", encoding="utf-8")
    first = json.loads(cli("start", "-n", "2", "--order", "bank", "--answers", str(f), "--json").stdout)
    assert first["settings"]["order"] == "bank"
    assert len(sqlite3.connect(home / "interviewer.db").execute("SELECT * FROM reviews").fetchall()) == 2
    second = json.loads(cli("start", "-n", "2", "--answers", str(f), "--json").stdout)
    assert second["settings"]["order"] == "smart"
    # the two questions scored 0 (Again) are weak and come back before any new question
    assert {t["question"]["id"] for t in second["turns"]} == {t["question"]["id"] for t in first["turns"]}


def test_regrade_with_another_grader_keeps_every_grade(cli, tmp_path, home, llm_server, monkeypatch):
    f = tmp_path / "a.txt"
    f.write_text("Transformer 可以并行\n", encoding="utf-8")
    s = json.loads(cli("start", "-n", "1", "--order", "bank", "--answers", str(f), "--json").stdout)
    llm_server.default = __import__("openai_server").Reply(grade_reply(verdict="partial", score=4))
    r = cli("regrade", s["id"], "--model", "openai/fake-model", "--api-base", llm_server.base_url, "--json")
    assert r.exit_code == 0, r
    kinds = [
        k
        for (k,) in sqlite3.connect(home / "interviewer.db").execute(
            "SELECT grader_kind FROM grades ORDER BY id"
        )
    ]
    assert kinds == ["offline", "llm"]
    shown = json.loads(cli("show", s["id"], "--json").stdout)
    assert shown["turns"][0]["grade"]["grader"]["kind"] == "llm"


def test_migration_from_the_first_schema_keeps_data(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    from interviewer.store.schema import _m001_initial

    _m001_initial(db)
    db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    db.execute("INSERT INTO migrations VALUES ('001_initial', 'x')")
    db.execute("INSERT INTO sessions VALUES ('s1', 't', NULL, 'active', 'practice', '{}', '[\"b:1.1\"]')")
    db.execute(
        "INSERT INTO turns (session_id, idx, question_ref, question_json, answer, answered_at) VALUES ('s1', 0, 'b:1.1', '{}', 'old answer', 't')"
    )
    db.execute(
        "INSERT INTO grades (turn_id, created_at, status, score, grade_json) VALUES (1, 't', 'graded', 5, '{\"status\": \"graded\", \"score\": 5}')"
    )
    db.commit()
    db.close()
    store = Store(path)
    (t,) = store.turns("s1")
    assert t["answer"] == "old answer" and t["attempt"] == 1 and t["grade"]["score"] == 5
    assert store.integrity_ok()
    store.add_turn("s1", 0, "b:1.1", {}, "retry", attempt=2)
    assert [x["answer"] for x in store.turns("s1")] == ["retry"]
    assert [x["answer"] for x in store.turns("s1", all_attempts=True)] == ["old answer", "retry"]
    names = [n for (n,) in store.db.execute("SELECT name FROM migrations ORDER BY name")]
    assert names == [name for name, _ in MIGRATIONS]
    Store(path)  # opening again applies nothing twice


def test_html_export_shows_follow_ups_escaped(cli, tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("先算 QK^T 再 softmax 乘 V\n---\n<b>方差</b> 随维度增大\n", encoding="utf-8")
    s = json.loads(start_21_with_a_follow_up(cli, f).stdout)
    html = cli("export", s["id"], "--format", "html").stdout
    assert "Follow-up." in html and "&lt;b&gt;方差&lt;/b&gt;" in html and "<b>方差</b>" not in html
