"""`interviewer stats` and `interviewer history`: sessions built through the real CLI, numbers checked against the rows."""

import json
import sqlite3
from datetime import UTC, datetime

import pytest

from interviewer.errors import InputError
from interviewer.results.progress import parse_since, resolve_ref, to_review, weakest_criteria

FIRST = [
    "Transformer 可以并行，因为不依赖上一步的隐藏状态；任意两个位置直接交互，有全局感受野。",
    "Encoder-Decoder 用交叉注意力对齐输入输出，适合翻译；Decoder-only 适合对话生成。",
    "不知道",
]
SECOND = [
    "RNN 串行，Transformer 并行计算，梯度传播路径短，残差连接让梯度直接回传。",
    "Decoder-only",
]
STATS_KEYS = {
    "since", "sessions", "answers", "graded", "ungraded", "skipped", "average", "max_score", "by_section",
    "by_difficulty",
    "trend_by", "trend", "weakest_criteria", "to_review", "spent",
}  # fmt: skip
REVIEW_KEYS = {
    "question_id", "ref", "identity", "section", "text", "score", "attempts", "answered_at", "session_id",
}  # fmt: skip
HEADINGS = ("By section", "By difficulty", "Trend (average per session", "Weakest criteria", "To review")


def run_session(cli, tmp_path, answers, *extra):
    path = tmp_path / f"answers-{len(list(tmp_path.glob('answers-*')))}.txt"
    path.write_text("\n---\n".join(answers) + "\n", encoding="utf-8")
    r = cli("start", "-n", str(len(answers)), "--order", "bank", "--answers", str(path), *extra)
    assert r.exit_code == 0, r
    return cli("sessions", "--json").json_lines()[0]["id"]  # newest first


def run_jsonl_session(cli, tmp_path, pairs):
    path = tmp_path / f"answers-{len(list(tmp_path.glob('answers-*')))}.jsonl"
    path.write_text(
        "".join(json.dumps({"question_id": q, "answer": a}, ensure_ascii=False) + "\n" for q, a in pairs),
        encoding="utf-8",
    )
    r = cli("start", "--answers", str(path))
    assert r.exit_code == 0, r
    return cli("sessions", "--json").json_lines()[0]["id"]


def db(home, sql, params=()):
    with sqlite3.connect(home / "interviewer.db") as conn:
        return conn.execute(sql, params).fetchall()


def latest_grades(home):
    """(session id, question id as shown, status, score, grade) of every turn's latest grade, in answer order."""
    rows = db(
        home,
        """SELECT t.session_id, json_extract(t.question_json, '$.id'), g.status, g.score, g.grade_json FROM turns t
           JOIN grades g ON g.id = (SELECT MAX(id) FROM grades WHERE turn_id = t.id) ORDER BY t.id""",
    )
    return [(s, ref, st, score, json.loads(gj)) for s, ref, st, score, gj in rows]


def stats_json(cli, *args):
    r = cli("stats", "--json", *args)
    assert r.exit_code == 0, r
    (obj,) = r.json_lines()
    return obj


@pytest.fixture
def two_sessions(cli, tmp_path):
    return run_session(cli, tmp_path, FIRST), run_session(cli, tmp_path, SECOND)


def test_stats_counts_and_averages_match_the_stored_grades(cli, home, two_sessions):
    first, second = two_sessions
    st = stats_json(cli)
    assert set(st) == STATS_KEYS
    scores = [score for *_, score, _ in latest_grades(home)]
    assert len(scores) == 5 and 0.0 in scores  # 不知道 is a real 0
    assert (st["sessions"], st["answers"], st["graded"], st["ungraded"]) == (2, 5, 5, 0)
    assert st["average"] == round(sum(scores) / 5, 1)
    assert st["max_score"] == 10.0 and st["since"] is None
    (section,) = st["by_section"]
    assert section == {
        "section": "基础原理与架构",
        "answers": 5,
        "graded": 5,
        "skipped": 0,
        "average": st["average"],
    }
    # 1.1 and 1.2 are easy (twice each), 1.3 is medium (the 0)
    by_diff = {d["difficulty"]: d for d in st["by_difficulty"]}
    assert [d["difficulty"] for d in st["by_difficulty"]] == ["easy", "medium"]
    assert by_diff["medium"] == {
        "difficulty": "medium",
        "answers": 1,
        "graded": 1,
        "skipped": 0,
        "average": 0.0,
    }
    easy = [scores[0], scores[1], scores[3], scores[4]]
    assert by_diff["easy"]["answers"] == 4 and by_diff["easy"]["average"] == round(sum(easy) / 4, 1)


def test_trend_per_session_is_oldest_first_and_matches_each_session_score(cli, two_sessions):
    st = stats_json(cli)
    assert st["trend_by"] == "session"
    assert [p["session_id"] for p in st["trend"]] == list(two_sessions)
    listed = {s["id"]: s["score"] for s in cli("sessions", "--json").json_lines()}
    for p in st["trend"]:
        assert p["average"] == listed[p["session_id"]]
        assert set(p) == {"label", "session_id", "date", "answers", "graded", "skipped", "average"}
    assert [p["answers"] for p in st["trend"]] == [3, 2]


def test_trend_per_day_groups_answers_by_day_oldest_first(cli, home, two_sessions):
    first, second = two_sessions
    db(home, "UPDATE turns SET answered_at = '2026-01-05T10:00:00+00:00' WHERE session_id = ?", (second,))
    db(home, "UPDATE turns SET answered_at = '2026-01-03T10:00:00+00:00' WHERE session_id = ?", (first,))
    st = stats_json(cli, "--by", "day")
    assert st["trend_by"] == "day"
    assert [p["answers"] for p in st["trend"]] == [3, 2]
    dates = [p["date"] for p in st["trend"]]
    assert dates == sorted(dates) and len(set(dates)) == 2
    assert cli("stats", "--by", "week").exit_code == 2


def test_weakest_criteria_are_averaged_over_graded_answers_lowest_first(cli, home, two_sessions):
    st = stats_json(cli, "--top", "100")
    expected: dict[str, list[float]] = {}
    for *_, grade in latest_grades(home):
        for c in grade["criteria"]:
            expected.setdefault(c["name"], []).append(c["score"] / c["max_score"] * 10)
    rows = st["weakest_criteria"]
    assert {r["name"] for r in rows} == set(expected)
    for r in rows:
        assert r["count"] == len(expected[r["name"]])
        assert r["average"] == round(sum(expected[r["name"]]) / r["count"], 1)
    averages = [r["average"] for r in rows]
    assert averages == sorted(averages)
    # the implicit accuracy criterion is in every graded answer
    assert max(r["count"] for r in rows) == 5
    assert len(stats_json(cli, "--top", "2")["weakest_criteria"]) == 2


def test_to_review_ranks_questions_by_their_latest_graded_attempt(cli, home, tmp_path):
    good = "RNN 按时间步串行，Transformer 矩阵运算整段并行；自注意力任意位置直接交互，全局感受野；路径短，梯度不易消失。"
    run_jsonl_session(cli, tmp_path, [("1.1", "不知道"), ("1.2", "Decoder-only 适合对话")])
    run_jsonl_session(cli, tmp_path, [("1.1", good)])
    rows = stats_json(cli)["to_review"]
    by_id = {r["question_id"]: r for r in rows}
    latest_11 = [score for _, qid, _, score, _ in latest_grades(home) if qid == "1.1"][-1]
    assert latest_11 > 0
    assert by_id["1.1"]["score"] == latest_11 and by_id["1.1"]["attempts"] == 2
    assert by_id["1.2"]["attempts"] == 1 and by_id["1.1"]["ref"] == "llm-basics:1.1"
    assert [r["score"] for r in rows] == sorted(r["score"] for r in rows)
    assert set(rows[0]) == REVIEW_KEYS


def test_ungraded_answers_are_counted_but_never_averaged_as_zero(cli, home, tmp_path, monkeypatch):
    run_session(cli, tmp_path, SECOND)
    monkeypatch.setenv("INTERVIEWER_RETRIES", "0")
    run_session(cli, tmp_path, FIRST[:1], "--model", "openai/x", "--api-base", "http://127.0.0.1:9/v1")
    statuses = [st for _, _, st, _, _ in latest_grades(home)]
    assert statuses == ["graded", "graded", "ungraded"]
    graded = [score for *_, st, score, _ in latest_grades(home) if st == "graded"]
    st = stats_json(cli, "--top", "100")
    assert (st["answers"], st["graded"], st["ungraded"]) == (3, 2, 1)
    assert st["average"] == round(sum(graded) / 2, 1)
    assert st["trend"][-1] == st["trend"][-1] | {"answers": 1, "graded": 0, "average": None}
    assert max(r["count"] for r in st["weakest_criteria"]) == 2
    assert {r["question_id"] for r in st["to_review"]} == {"1.1", "1.2"}
    assert all(r["attempts"] == (2 if r["question_id"] == "1.1" else 1) for r in st["to_review"])


def test_since_keeps_only_sessions_started_on_or_after_the_date(cli, home, two_sessions):
    first, second = two_sessions
    db(home, "UPDATE sessions SET started_at = '2020-01-01T09:00:00+00:00' WHERE id = ?", (first,))
    st = stats_json(cli, "--since", "2021-06-01")
    assert st["sessions"] == 1 and st["answers"] == 2
    assert [p["session_id"] for p in st["trend"]] == [second]
    assert st["since"].startswith("2021-0")
    assert stats_json(cli, "--since", "30d")["sessions"] == 1
    assert stats_json(cli, "--since", "2019-12-31")["sessions"] == 2
    empty = stats_json(cli, "--since", "2999-01-01")
    assert (empty["sessions"], empty["answers"], empty["average"], empty["trend"]) == (0, 0, None, [])
    r = cli("stats", "--since", "last tuesday")
    assert r.exit_code == 2 and "--since" in r.stderr


def test_human_stats_has_aligned_tables_and_a_block_bar_trend_without_colour(cli, two_sessions):
    r = cli("stats")
    assert r.exit_code == 0, r
    out = r.stdout
    assert "\x1b[" not in out
    assert all(heading in out for heading in HEADINGS)
    trend = out.split("Trend (average per session, oldest first)\n")[1].split("\n\n")[0].splitlines()
    assert [ln.split()[0] for ln in trend] == list(two_sessions)
    assert any("█" in ln for ln in trend)
    diff = out.split("By difficulty\n")[1].split("\n\n")[0].splitlines()
    assert diff[0].split() == ["difficulty", "answers", "graded", "average"]
    assert len({len(ln) for ln in diff}) == 1  # right-aligned numbers: every row as wide as the header


def test_stats_with_no_sessions_says_how_to_start(cli):
    r = cli("stats")
    assert r.exit_code == 0 and "interviewer start" in r.stdout
    st = stats_json(cli)
    assert (st["sessions"], st["answers"], st["average"], st["by_section"]) == (0, 0, None, [])


def test_a_retry_within_a_session_replaces_the_earlier_try_in_the_averages(cli, home, tmp_path):
    from interviewer.store import Store

    sid = run_session(cli, tmp_path, FIRST[:2])
    ((turn_id, ref, question_json, grade_json),) = db(
        home,
        """SELECT t.id, t.question_ref, t.question_json, g.grade_json FROM turns t JOIN grades g ON g.turn_id = t.id
           WHERE t.idx = 0""",
    )
    first_try = json.loads(grade_json)
    retry = first_try | {"score": 9.5}
    store = Store(home / "interviewer.db")
    try:
        new_turn = store.add_turn(sid, 0, ref, json.loads(question_json), "better", attempt=2)
        store.add_grade(new_turn, retry)
    finally:
        store.close()
    st = stats_json(cli)
    second_score = latest_grades(home)[1][3]
    assert (st["answers"], st["graded"]) == (2, 2)
    assert st["average"] == round((9.5 + second_score) / 2, 1)
    assert st["trend"][0]["average"] == cli("sessions", "--json").json_lines()[0]["score"]
    review = {r["question_id"]: r for r in st["to_review"]}
    assert review["1.1"]["score"] == 9.5 and review["1.1"]["attempts"] == 2
    (h,) = cli("history", "1.1", "--json").json_lines()
    assert [(a["attempt"], a["score"]) for a in h["attempts"]] == [(1, first_try["score"]), (2, 9.5)]
    assert "(try 2)" in cli("history", "1.1").stdout


# ---------------------------------------------------------------- history


def test_history_lists_every_attempt_oldest_first_with_grades(cli, home, tmp_path, monkeypatch):
    first = run_session(cli, tmp_path, FIRST[:1])
    second = run_session(cli, tmp_path, SECOND[:1])
    monkeypatch.setenv("INTERVIEWER_RETRIES", "0")
    third = run_session(cli, tmp_path, ["并行"], "--model", "openai/x", "--api-base", "http://127.0.0.1:9/v1")
    r = cli("history", "1.1", "--json")
    assert r.exit_code == 0, r
    (h,) = r.json_lines()
    assert h == cli("history", "llm-basics:1.1", "--json").json_lines()[0]
    assert h["ref"] == "llm-basics:1.1" and h["question_id"] == "1.1" and "RNN" in h["text"]
    assert [a["session_id"] for a in h["attempts"]] == [first, second, third]
    stored = [score for _, ref, _, score, _ in latest_grades(home)]
    assert [a["score"] for a in h["attempts"]] == [stored[0], stored[1], None]
    assert [a["status"] for a in h["attempts"]] == ["graded", "graded", "ungraded"]
    assert h["attempts"][0]["grader"] == {"kind": "offline", "model": None}
    assert h["attempts"][2]["grader"]["kind"] == "llm" and h["attempts"][2]["error"]
    verdicts = {c["id"]: c["verdict"] for c in h["attempts"][0]["criteria"]}
    assert set(verdicts) >= {"parallelism", "accuracy"}
    assert set(verdicts.values()) <= {"met", "partial", "missed"}
    assert h["latest"] == stored[1] and h["best"] == max(stored[:2])

    text = cli("history", "1.1").stdout
    lines = text.splitlines()
    assert lines[0].startswith("[llm-basics:1.1]")
    assert [ln.split()[2] for ln in lines[2:5]] == [first, second, third]
    assert "ungraded" in lines[4] and "llm (openai/x)" in lines[4]
    assert "✔" in text or "◐" in text or "✘" in text
    assert "3 attempt(s)" in text


def test_history_of_an_unanswered_or_unknown_question(cli):
    r = cli("history", "2.1")
    assert r.exit_code == 0 and "No attempts yet" in r.stdout and "Scaled Dot-Product" in r.stdout
    (h,) = cli("history", "2.1", "--json").json_lines()
    assert h["attempts"] == [] and h["best"] is None and h["ref"] == "llm-basics:2.1"
    r = cli("history", "99.9")
    assert r.exit_code == 2 and "99.9" in r.stderr


# ---------------------------------------------------------------- the store's grouped facts


def answer_in(store, sid, idx, ref, score, criteria=(), status="graded", attempt=1):
    q = {"id": ref.split(":")[1], "section": "S", "text": ref, "difficulty": "medium"}
    turn = store.add_turn(sid, idx, ref, q, "an answer", attempt=attempt)
    store.add_grade(turn, {"status": status, "score": score, "criteria": list(criteria)})


@pytest.fixture
def store(tmp_path):
    from interviewer.store import Store

    s = Store(tmp_path / "interviewer.db")
    yield s
    s.close()


def test_weakest_criteria_scale_each_score_by_its_maximum(store):
    sid = store.create_session("practice", {}, [])
    answer_in(store, sid, 0, "b:1", 5.0, [{"name": "x", "score": 2.0, "max_score": 4.0}, {"name": "y", "score": 9.0, "max_score": 10}])  # fmt: skip
    answer_in(store, sid, 1, "b:2", 1.0, [{"name": "x", "score": 10.0, "max_score": 10.0}])
    answer_in(store, sid, 2, "b:3", None, [{"name": "y", "score": 0.0, "max_score": 10.0}], status="ungraded")
    assert weakest_criteria(store.progress_facts().criteria) == [
        {"name": "x", "average": 7.5, "count": 2, "questions": ["1", "2"]},
        {"name": "y", "average": 9.0, "count": 1, "questions": ["1"]},
    ]


def test_a_regrade_replaces_the_criteria_that_count(store):
    sid = store.create_session("practice", {}, [])
    answer_in(store, sid, 0, "b:1", 2.0, [{"name": "x", "score": 2.0, "max_score": 10.0}])
    (turn,) = store.turns(sid)
    store.add_grade(turn["id"], {"status": "graded", "score": 8.0, "criteria": [{"name": "x", "score": 8.0, "max_score": 10.0}]})  # fmt: skip
    facts = store.progress_facts()
    assert weakest_criteria(facts.criteria) == [{"name": "x", "average": 8.0, "count": 1, "questions": ["1"]}]
    assert [(q.ref, q.tally.average) for q in facts.questions] == [("b:1", 8.0)]


def test_to_review_skips_an_ungraded_retry_and_keeps_the_last_graded_score(store):
    for score, status in ((2.0, "graded"), (8.0, "graded"), (None, "ungraded")):
        answer_in(store, store.create_session("practice", {}, []), 0, "b:1", score, status=status)
    rows = to_review(store.progress_facts().latest)
    assert [(r["ref"], r["score"], r["attempts"]) for r in rows] == [("b:1", 8.0, 3)]


def test_only_a_sessions_last_try_counts_and_an_older_database_learns_which_it_is(store, tmp_path):
    sid = store.create_session("practice", {}, [])
    answer_in(store, sid, 0, "b:1", 2.0, [{"name": "x", "score": 2.0, "max_score": 10.0}])
    answer_in(store, sid, 0, "b:1", 6.0, [{"name": "x", "score": 6.0, "max_score": 10.0}], attempt=2)
    facts = store.progress_facts()
    assert [(q.tally.answers, q.tally.average) for q in facts.questions] == [(1, 6.0)]
    assert weakest_criteria(facts.criteria) == [{"name": "x", "average": 6.0, "count": 1, "questions": ["1"]}]
    with sqlite3.connect(tmp_path / "interviewer.db") as c:  # as a database written before turns knew it
        c.execute("DELETE FROM migrations WHERE name = '003_progress_facts'")
        c.execute("DROP TABLE criterion_scores")
        for index in ("turns_session", "turns_progress", "sessions_started"):
            c.execute(f"DROP INDEX {index}")
        for col in ("final", "grade_id", "score", "qid", "section", "difficulty"):
            c.execute(f"ALTER TABLE turns DROP COLUMN {col}")
    from interviewer.store import Store

    again = Store(tmp_path / "interviewer.db")
    try:
        facts = again.progress_facts()
        assert [(q.tally.answers, q.tally.average, q.section) for q in facts.questions] == [(1, 6.0, "S")]
        assert weakest_criteria(facts.criteria) == [
            {"name": "x", "average": 6.0, "count": 1, "questions": ["1"]}
        ]
        assert [r["attempts"] for r in to_review(facts.latest)] == [2]
    finally:
        again.close()


def test_parse_since_accepts_dates_datetimes_and_days_ago():
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert parse_since("7d", now) == "2026-03-03T12:00:00+00:00"
    assert parse_since("2w", now) == "2026-02-24T12:00:00+00:00"
    assert parse_since("2026-03-01T08:00:00+00:00") == "2026-03-01T08:00:00+00:00"
    assert parse_since(None) is None
    with pytest.raises(InputError):
        parse_since("yesterday-ish")


def test_resolve_ref_needs_a_bank_prefix_only_when_the_id_is_ambiguous():
    refs = ["a:1.1", "b:1.1", "a:2.1"]
    assert resolve_ref(refs, "2.1") == "a:2.1"
    assert resolve_ref(refs, "b:1.1") == "b:1.1"
    assert resolve_ref(refs, "9.9") is None
    with pytest.raises(InputError, match="several banks"):
        resolve_ref(refs, "1.1")


# ---------------------------------------------------------------- one counting rule


def test_a_retry_after_the_reference_is_practice_and_the_first_try_counts_everywhere(cli, home, tmp_path):
    from interviewer.store import Store

    sid = run_session(cli, tmp_path, FIRST[:2])
    before = {"stats": stats_json(cli), "sessions": cli("sessions", "--json").json_lines()[0]}
    ((turn_id, ref, question_json, grade_json),) = db(
        home,
        """SELECT t.id, t.question_ref, t.question_json, g.grade_json FROM turns t JOIN grades g ON g.turn_id = t.id
           WHERE t.idx = 0""",
    )
    first = json.loads(grade_json)
    store = Store(home / "interviewer.db")
    try:
        retry = store.add_turn(sid, 0, ref, json.loads(question_json), "the reference, said back", attempt=2,
                               after_reference=True)  # fmt: skip
        store.add_grade(retry, first | {"score": 9.5})
    finally:
        store.close()
    st = stats_json(cli)
    assert {k: st[k] for k in ("answers", "graded", "average", "by_section")} == {
        k: before["stats"][k] for k in ("answers", "graded", "average", "by_section")
    }
    assert st["weakest_criteria"] == before["stats"]["weakest_criteria"]
    assert {r["question_id"]: (r["score"], r["attempts"]) for r in st["to_review"]}["1.1"] == (
        first["score"],
        2,
    )
    row = cli("sessions", "--json").json_lines()[0]
    assert (row["answered"], row["attempts"], row["score"]) == (2, 3, before["sessions"]["score"])
    exported = json.loads(cli("export", sid, "--format", "json").stdout)
    turn = exported["turns"][0]
    assert (turn["attempt"], turn["grade"]["score"], turn["earlier_attempts"]) == (1, first["score"], [])
    assert [(p["attempt"], p["score"]) for p in turn["practice_attempts"]] == [(2, 9.5)]
    assert exported["summary"]["score"] == before["sessions"]["score"]
    for text in (cli("show", sid, "--no-pager").stdout, cli("export", sid, "--format", "md").stdout):
        assert "Practised after the reference answer (not counted): #2 9.5" in text
    (h,) = cli("history", "1.1", "--json").json_lines()
    assert [(a["attempt"], a["score"]) for a in h["attempts"]] == [(1, first["score"]), (2, 9.5)]


class _Retrying:
    """Answers with a hint, reads the feedback, then retries once with a better answer."""

    def __init__(self, answers):
        self.answers, self.retried = list(answers), False

    def ask(self, question, index, total):
        from interviewer.practice.engine import Response

        text = self.answers.pop(0)
        return Response(kind="answer", text=text, hint_used=not self.retried)

    def ask_follow_up(self, question, follow_up):
        return None

    def after_feedback(self, question):
        if self.retried:
            return "next"
        self.retried = True
        return "retry"


def test_the_hint_penalty_stays_with_the_try_that_counts_when_a_retry_follows_the_reference(home):
    from io import StringIO

    from interviewer.config import load_settings
    from interviewer.core import load_questions
    from interviewer.grading.graders import OfflineGrader
    from interviewer.practice.engine import HINT_PENALTY, SessionEngine
    from interviewer.store import Store
    from interviewer.ui import TextReporter

    store = Store(home / "interviewer.db")
    questions = load_questions(load_settings())
    q = questions.get("1.1")
    reporter = TextReporter(out=StringIO(), err=StringIO(), home=home)  # shows the reference with the grade
    engine = SessionEngine(store, questions, OfflineGrader(), reporter, home)
    try:
        sid = engine.create([q], "practice", {})
        result = engine.run(sid, _Retrying([FIRST[0], SECOND[0] + " " + FIRST[0]]))
        tries = store.turns(sid, all_attempts=True)
        assert [(t["attempt"], t["final"], t["after_reference"], t["hint_used"]) for t in tries] == [
            (1, True, False, True), (2, False, True, False),
        ]  # fmt: skip
        counted = tries[0]["grade"]
        assert counted["hint_penalty"] == HINT_PENALTY and "hint_used" in counted["flags"]
        assert result.summary["score"] == counted["score"] and result.summary["answered"] == 1
        assert store.review_states()[q.ref]["reviews"] == 1  # practice teaches the schedule nothing
        said = reporter.out.getvalue() + reporter.err.getvalue()
        assert (
            "this try is practice" in said
            and f"practice after the reference: {counted['score']:.1f}/10 counts" in said
        )
    finally:
        engine.close()
        store.close()


def test_a_skip_counts_as_zero_and_says_skipped_everywhere(cli, home, tmp_path):
    path = tmp_path / "skip.txt"
    path.write_text(FIRST[0] + "\n---\n\n---\n" + FIRST[1] + "\n", encoding="utf-8")
    r = cli("start", "-n", "3", "--order", "bank", "--answers", str(path))
    assert r.exit_code == 0, r
    assert "Skipped: 0.0/10 (a skipped question counts as 0)" in r.stdout
    assert "1 skipped as 0)" in r.stdout and "(1 skipped, as 0)" in r.stdout  # the total and its section
    sid = cli("sessions", "--json").json_lines()[0]["id"]
    assert (
        cli("sessions", "--json").json_lines()[0]["skipped"] == 1
        and "3/3 (1 skipped)" in cli("sessions").stdout
    )
    st = stats_json(cli)
    assert (st["answers"], st["graded"], st["skipped"]) == (3, 3, 1) and st["by_section"][0]["skipped"] == 1
    assert "1 skipped as 0" in cli("stats").stdout
    exported = json.loads(cli("export", sid, "--format", "json").stdout)
    assert [t["skipped"] for t in exported["turns"]] == [False, True, False]
    assert exported["summary"]["skipped"] == 1
    assert "Skipped (counts as 0)" in cli("export", sid, "--format", "md").stdout
    assert "Skipped (counts as 0)" in cli("export", sid, "--format", "html").stdout
    assert "Skipped (counts as 0)" in cli("show", sid, "--no-pager").stdout
    report = tmp_path / "report.html"
    assert cli("report", "-o", str(report)).exit_code == 0
    assert "1 skipped (as 0)" in report.read_text(encoding="utf-8")


def test_weakest_criteria_name_the_questions_they_were_scored_on(cli, two_sessions):
    rows = stats_json(cli, "--top", "50")["weakest_criteria"]
    assert rows and all(r["questions"] for r in rows)
    asked = {q for r in rows for q in r["questions"]}
    assert asked <= {"1.1", "1.2", "1.3"} and "1.1" in asked  # the ids as shown, not identities
    assert "questions" in cli("stats").stdout


def test_stats_total_the_tokens_and_cost_recorded_per_grade(store):
    sid = store.create_session("practice", {}, [])
    q = {"id": "1", "section": "S", "text": "q"}
    for i, cost in enumerate((0.0012, 0.0030)):
        turn = store.add_turn(sid, i, f"b:{i}", q | {"id": str(i)}, "an answer")
        store.add_grade(turn, {"status": "graded", "score": 5.0, "criteria": [],
                               "grader": {"kind": "llm", "prompt_tokens": 1000, "completion_tokens": 200, "cost_usd": cost}})  # fmt: skip
    store.add_grade(turn, {"status": "graded", "score": 6.0, "criteria": [], "grader": {"kind": "offline"}})
    from interviewer.results.progress import stats
    from interviewer.textview import spent_line

    spent = stats(store.progress_facts())["spent"]
    assert spent == {"llm_grades": 2, "prompt_tokens": 2000, "completion_tokens": 400, "cost_usd": 0.0042}
    assert spent_line(spent) == ["Model grades: 2, 2,000 prompt + 400 completion tokens, $0.0042"]
    assert spent_line(stats(store.progress_facts("2999-01-01"))["spent"]) == []  # a period with none
