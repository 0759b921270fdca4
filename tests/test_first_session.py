"""With no history, a first session leans to the most frequently asked questions and mixes difficulties, easiest
first; repeatable with --seed. With history, the smart order takes over."""

import json
from collections import Counter

from conftest import SEED

from interviewer.content.bank import Question, load_bank
from interviewer.practice.plan import plan_session
from interviewer.practice.select import select_first


def seed_bank():
    return load_bank(SEED).questions


def q(i, frequency, difficulty):
    return Question(
        id=f"1.{i}",
        bank="b",
        section="S",
        section_index=1,
        text=f"Q{i}",
        frequency=frequency,
        difficulty=difficulty,
    )


def test_a_first_session_of_five_is_frequent_questions_two_easy_two_medium_one_hard():
    for seed in range(40):
        plan, order = plan_session(seed_bank(), {}, 5, seed=seed)
        assert order == "smart"
        assert Counter(x.difficulty for x in plan) == {"easy": 2, "medium": 2, "hard": 1}, seed
        assert all(x.frequency in ("high", "medium") for x in plan), seed
        assert sum(x.frequency == "high" for x in plan) == 4, seed  # the seed bank has no frequent hard one
        assert [x.difficulty for x in plan] == ["easy", "easy", "medium", "medium", "hard"]  # easiest first


def test_never_five_hard_rare_questions_even_from_a_pool_of_mostly_those():
    pool = [q(i, "low", "hard") for i in range(20)]
    pool += [q(20 + i, "high", "easy") for i in range(3)] + [q(30 + i, "high", "medium") for i in range(3)]
    for seed in range(20):
        plan = select_first(pool, 5, seed=seed)
        assert Counter(x.difficulty for x in plan) == {"medium": 3, "easy": 2}, seed


def test_a_turn_is_skipped_while_its_best_question_is_much_rarer_than_the_rest():
    pool = [q(i, "high", "easy") for i in range(4)] + [q(10 + i, "low", "hard") for i in range(4)]
    assert [x.difficulty for x in select_first(pool, 4, seed=1)] == ["easy"] * 4
    # once nothing more frequent is left, the rarer ones come
    assert Counter(x.difficulty for x in select_first(pool, 6, seed=1)) == {"easy": 4, "hard": 2}


def test_the_first_session_is_repeatable_with_a_seed_and_varies_without_one():
    draws = {tuple(x.id for x in select_first(seed_bank(), 5, seed=7)) for _ in range(3)}
    assert len(draws) == 1
    assert len({tuple(x.id for x in select_first(seed_bank(), 5, seed=s)) for s in range(10)}) > 1


def test_a_filter_is_respected(seed_questions):
    hard = [x for x in seed_bank() if x.difficulty == "hard"]
    plan = select_first(hard, 3, seed=1)
    assert all(x.difficulty == "hard" for x in plan) and all(x.frequency == "medium" for x in plan)


def test_start_with_no_history_plans_a_first_session_through_the_cli(cli, tmp_path):
    answers = tmp_path / "a.txt"
    answers.write_text("\n---\n".join(["不知道"] * 5) + "\n", encoding="utf-8")
    r = cli("start", "-n", "5", "--seed", "11", "--answers", str(answers), "--json")
    assert r.exit_code == 0, r
    s = json.loads(r.stdout)
    assert s["settings"]["order"] == "smart"
    expected = [x.id for x in select_first(seed_bank(), 5, seed=11)]
    assert [t["question"]["id"] for t in s["turns"]] == expected
