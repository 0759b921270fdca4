"""Question selection: filters, then bank order, frequency order or seeded random. Pure."""

from __future__ import annotations

import random

from interviewer.content.bank import Question

ORDERS = ("random", "bank", "frequency")
FREQ_RANK = {"high": 0, "medium": 1, "low": 2, None: 3}
DIFFICULTY_RANK = {"easy": 0, "medium": 1, "hard": 2}
# A first session takes its questions from the difficulties in turn, in this order: five questions are two
# medium, two easy and one hard.
DIFFICULTY_TURNS = ("medium", "easy", "hard", None)


def select_questions(
    questions: list[Question], n: int, order: str = "random", seed: int | None = None
) -> list[Question]:
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}")
    pool = list(questions)
    if order == "bank":
        chosen = pool
    elif order == "frequency":
        rng = random.Random(seed)
        rng.shuffle(pool)  # within a frequency, vary the questions from one session to the next
        chosen = sorted(pool, key=lambda q: FREQ_RANK.get(q.frequency, 3))
    else:
        rng = random.Random(seed)
        chosen = rng.sample(pool, len(pool))
    return chosen[: max(0, n)]


def select_first(questions: list[Question], n: int, seed: int | None = None) -> list[Question]:
    """A session with no history to go on: the most asked questions, difficulties mixed, easiest first.

    The difficulties take turns (`DIFFICULTY_TURNS`); each gives its most frequent question left (a seeded draw
    among equals), skipping a turn while that question is two or more frequency levels below the best one left
    anywhere — so a bank whose hard questions are all rarely asked does not open with one."""
    rng = random.Random(seed)
    pool = list(dict.fromkeys(questions))
    rng.shuffle(pool)
    pool.sort(key=lambda q: FREQ_RANK.get(q.frequency, 3))  # stable: the draw orders equals
    by_difficulty: dict[str | None, list[Question]] = {d: [] for d in DIFFICULTY_TURNS}
    for q in pool:
        by_difficulty[q.difficulty if q.difficulty in DIFFICULTY_RANK else None].append(q)
    plan: list[Question] = []
    while len(plan) < n and any(by_difficulty.values()):
        best = min(FREQ_RANK.get(left[0].frequency, 3) for left in by_difficulty.values() if left)
        for d in DIFFICULTY_TURNS:
            left = by_difficulty[d]
            if left and len(plan) < n and FREQ_RANK.get(left[0].frequency, 3) <= best + 1:
                plan.append(left.pop(0))
    return sorted(plan, key=lambda q: DIFFICULTY_RANK.get(q.difficulty, 1))
