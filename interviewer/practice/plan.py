"""Planning a session: which questions, in which order (bank, frequency, seeded random, or smart: a first
session of frequent questions of mixed difficulty, then spaced repetition once there is history). Pure: the
candidate pool and the review states in, the plan out."""

from __future__ import annotations

from typing import Any

from interviewer.content.bank import Question
from interviewer.errors import InputError
from interviewer.practice.review import select_smart
from interviewer.practice.select import ORDERS, select_questions

ALL_ORDERS = (*ORDERS, "smart")


def plan_session(
    pool: list[Question],
    states: dict[str, dict[str, Any]],
    n: int,
    order: str | None = None,
    seed: int | None = None,
) -> tuple[list[Question], str]:
    """(the questions to ask, the order used). With no order given, smart: with no history yet, frequent questions
    with their difficulties mixed (never a random draw of rare, hard ones); then spaced repetition."""
    if not pool:
        raise InputError("no question matches these filters; see 'interviewer bank list'")
    order = order or "smart"
    if order not in ALL_ORDERS:
        raise InputError(f"--order must be one of {', '.join(ALL_ORDERS)}, got {order!r}")
    if order == "smart":
        return select_smart(pool, states, n, seed=seed), order
    return select_questions(pool, n, order, seed), order
