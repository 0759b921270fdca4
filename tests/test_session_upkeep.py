"""Keeping sessions tidy: `resume` says where it picks up, drafts go with their answers, empty sessions are not
kept, and `sessions rm` / `sessions prune` remove a session with everything in it."""

import json
import sqlite3
from io import StringIO

ANSWERS = [
    "Transformer 可以并行，因为不依赖上一步的隐藏状态；任意两个位置直接交互，有全局感受野。",
    "Encoder-Decoder 用交叉注意力对齐输入输出，适合翻译；Decoder-only 适合对话生成。",
    "残差连接 y = x + F(x) 让梯度可以直接传回浅层，LayerNorm 控制激活尺度。",
]
SESSION_TABLES = ("sessions", "turns", "grades", "follow_ups", "drafts", "criterion_scores")


def answers_file(tmp_path, answers):
    p = tmp_path / f"answers-{len(list(tmp_path.glob('answers-*')))}.txt"
    p.write_text("\n---\n".join(answers) + "\n", encoding="utf-8")
    return str(p)


def db_rows(home, sql, params=()):
    with sqlite3.connect(home / "interviewer.db") as db:
        return db.execute(sql, params).fetchall()


def counts(home) -> dict[str, int]:
    return {t: db_rows(home, f"SELECT COUNT(*) FROM {t}")[0][0] for t in SESSION_TABLES}


def start(cli, tmp_path, answers, *extra):
    r = cli("start", "-n", "3", "--order", "bank", *extra, "--answers", answers_file(tmp_path, answers))
    assert r.exit_code == 0, r
    return cli("sessions", "--json").json_lines()[0]["id"]


def test_resume_says_which_session_and_how_far_it_got(cli, tmp_path, home):
    sid = start(cli, tmp_path, ["", ANSWERS[1]])  # a skip, an answer, and one question left
    r = cli("resume", "--answers", answers_file(tmp_path, [ANSWERS[2]]))
    assert r.exit_code == 0, r
    note = next(line for line in r.stderr.splitlines() if line.startswith("Resuming"))
    assert note.startswith(f"Resuming session {sid} (practice, started ")
    assert note.endswith("): 2 of 3 answered (1 skipped); next: question 3/3.")
    assert r.stdout.index("Question 3/3") > 0 and "Question 1/3" not in r.stdout


def test_an_answer_takes_its_draft_with_it_and_the_draft_is_offered_to_the_source(home):
    from interviewer.practice.engine import DraftBox
    from interviewer.store import Store

    store = Store(home / "interviewer.db")
    try:
        sid = store.create_session("practice", {}, ["b:1", "b:2"])
        store.save_draft(sid, 0, "half an ans")
        store.save_draft(sid, 1, "another")
        assert DraftBox(store, sid, 0).text == "half an ans"
        store.add_turn(sid, 0, "b:1", {"id": "1", "section": "S", "text": "q"}, "half an answer")
        assert store.draft(sid, 0) is None and store.draft(sid, 1)["text"] == "another"
        store.save_draft(sid, 1, "  ")  # cleared in the editor: nothing to keep
        assert store.draft(sid, 1) is None
    finally:
        store.close()


class _NoAnswers:
    """A source that quits at once, as Ctrl-D on the first question does."""

    def use_draft(self, draft):
        self.draft = draft

    def ask(self, question, index, total):
        from interviewer.practice.engine import Response

        return Response(kind="quit")

    def ask_follow_up(self, question, follow_up):
        return None

    def after_feedback(self, question):
        return "next"


def _engine(home):
    from interviewer.config import load_settings
    from interviewer.core import load_questions
    from interviewer.grading.graders import OfflineGrader
    from interviewer.practice.engine import SessionEngine
    from interviewer.store import Store
    from interviewer.ui import TextReporter

    store = Store(home / "interviewer.db")
    questions = load_questions(load_settings())
    reporter = TextReporter(out=StringIO(), err=StringIO(), home=home)
    return store, questions, SessionEngine(store, questions, OfflineGrader(), reporter, home), reporter


def test_a_session_stopped_before_its_first_answer_is_not_kept(home):
    store, questions, engine, reporter = _engine(home)
    try:
        plan = [questions.get("1.1"), questions.get("1.2")]
        sid = engine.create(plan, "practice", {})
        result = engine.run(sid, _NoAnswers())
        assert result.session_id == "" and not result.finished
        assert store.sessions() == []
        assert "not kept" in reporter.err.getvalue() and "resume" not in reporter.err.getvalue()
        sid = engine.create(plan, "practice", {})  # with a draft, it is kept for resume to offer back
        store.save_draft(sid, 0, "half an answer")
        assert engine.run(sid, _NoAnswers()).session_id == sid
        assert [s["id"] for s in store.sessions()] == [sid]
    finally:
        engine.close()
        store.close()


def test_sessions_rm_removes_a_session_and_everything_in_it(cli, tmp_path, home):
    keep = start(cli, tmp_path, ANSWERS)
    before = counts(home)
    gone = start(cli, tmp_path, ANSWERS[:2], "--follow-ups", "1")  # scripted follow-ups take the next answer
    with sqlite3.connect(home / "interviewer.db") as db:
        db.execute("INSERT INTO drafts VALUES (?, 2, 'half', '2026-01-01T00:00:00+00:00')", (gone,))
    assert counts(home)["follow_ups"] > before["follow_ups"] and counts(home)["drafts"] == 1
    r = cli("sessions", "rm", "last")  # stdin is not a terminal: no question asked
    assert r.exit_code == 0, r
    assert r.stdout.startswith(f"Removed {gone} (started ")
    assert counts(home) == before
    assert [s["id"] for s in cli("sessions", "--json").json_lines()] == [keep]
    assert cli("sessions", "rm", "no-such-session").exit_code == 2


def test_sessions_rm_asks_first_in_a_terminal_unless_yes(cli, tmp_path, home, monkeypatch):
    sid = start(cli, tmp_path, ANSWERS)
    monkeypatch.setattr("interviewer.cli.session_cmds._asks", lambda: True)
    r = cli("sessions", "rm", sid, input="n\n")
    assert r.exit_code == 0 and "Remove 1 session(s)" in r.stderr and "Nothing removed" in r.stderr
    assert counts(home)["sessions"] == 1
    r = cli("sessions", "rm", sid, "--yes")
    assert r.exit_code == 0 and f"Removed {sid}" in r.stdout and counts(home)["sessions"] == 0


def test_sessions_prune_removes_empty_sessions_and_says_which(cli, tmp_path, home):
    from interviewer.store import Store

    answered = start(cli, tmp_path, ANSWERS[:1])  # unfinished, with an answer
    store = Store(home / "interviewer.db")
    try:
        empty = store.create_session("practice", {}, ["llm-basics:1.1"])
        drafted = store.create_session("practice", {}, ["llm-basics:1.1"])
        store.save_draft(drafted, 0, "something typed")
    finally:
        store.close()
    r = cli("sessions", "prune", "--dry-run")
    assert r.exit_code == 0, r
    assert (
        r.stdout.splitlines()[0].startswith(f"Would remove {empty} ") and r.stdout.count("Would remove") == 1
    )
    assert counts(home)["sessions"] == 3
    r = cli("sessions", "prune")
    assert r.exit_code == 0, r
    assert (
        f"Removed {empty} " in r.stdout
        and "empty" in r.stdout
        and r.stdout.endswith("Removed 1 session(s).\n")
    )
    assert {s["id"] for s in cli("sessions", "--json").json_lines()} == {answered, drafted}
    assert cli("sessions", "prune").stdout == "Nothing to prune: no empty session.\n"
    # --older-than: unfinished sessions started before then go too, answers and drafts with them
    r = cli("sessions", "prune", "--older-than", "2099-01-01")
    assert r.exit_code == 0 and r.stdout.count("abandoned") == 2, r
    assert counts(home) == dict.fromkeys(SESSION_TABLES, 0)


def test_sessions_counts_questions_answered_not_tries(cli, tmp_path, home):
    from interviewer.store import Store

    sid = start(cli, tmp_path, ANSWERS)
    ((ref, question),) = db_rows(home, "SELECT question_ref, question_json FROM turns WHERE idx = 0")
    store = Store(home / "interviewer.db")
    try:  # a :retry is one more try at one answer
        store.add_turn(sid, 0, ref, json.loads(question), "better", attempt=2)
    finally:
        store.close()
    (row,) = cli("sessions", "--json").json_lines()
    assert (row["answered"], row["planned"], row["attempts"]) == (3, 3, 4)
    assert "  3/3  " in cli("sessions").stdout


def test_an_older_database_learns_which_turns_were_skips(tmp_path):
    from interviewer.store import Store

    path = tmp_path / "interviewer.db"
    store = Store(path)
    sid = store.create_session("practice", {}, [])
    store.add_turn(sid, 0, "b:1", {"id": "1", "section": "S", "text": "q"}, "")
    store.add_turn(sid, 1, "b:2", {"id": "2", "section": "S", "text": "q"}, "an answer")
    store.close()
    with sqlite3.connect(path) as c:  # as a database written before turns knew skips and practice retries
        c.execute("DELETE FROM migrations WHERE name = '005_drafts_skips_practice_retries'")
        c.execute("DROP TABLE drafts")
        for index in ("turns_session", "turns_progress"):
            c.execute(f"DROP INDEX {index}")
        for col in ("after_reference", "skipped"):
            c.execute(f"ALTER TABLE turns DROP COLUMN {col}")
    again = Store(path)
    try:
        assert [(t["skipped"], t["after_reference"]) for t in again.turns(sid)] == [
            (True, False),
            (False, False),
        ]
        assert again.draft(sid, 2) is None  # the drafts table is back
    finally:
        again.close()
