"""Question selection: filters, then bank order, frequency order or seeded random. Pure."""

from __future__ import annotations

import random

from interviewer.content.bank import Question

ORDERS = ("random", "bank", "frequency")
FREQ_RANK = {"high": 0, "medium": 1, "low": 2, None: 3}


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
