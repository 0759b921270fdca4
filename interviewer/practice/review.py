"""Spaced repetition over past grades with FSRS, and the `smart` question order. Pure apart from the fsrs library."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

from interviewer.content.bank import Question
from interviewer.practice.select import FREQ_RANK, select_first

NEW_PER_SESSION = 3  # new questions at most, when there are due or weak ones to practise
WEAK_SCORE = 6.0


def rating_for(score: float):
    """Scores below 4 → Again, 4–5 → Hard, 6–8 → Good, 9 and above → Easy."""
    from fsrs import Rating

    if score < 4:
        return Rating.Again
    if score < 6:
        return Rating.Hard
    if score < 9:
        return Rating.Good
    return Rating.Easy


def next_card(card_json: str | None, score: float, when: datetime | None = None) -> str:
    from fsrs import Card, Scheduler

    scheduler = Scheduler(enable_fuzzing=False)
    card = Card.from_dict(json.loads(card_json)) if card_json else Card()
    card, _ = scheduler.review_card(card, rating_for(score), review_datetime=when or datetime.now(UTC))
    return json.dumps(card.to_dict())


def due_at(card_json: str) -> datetime:
    return datetime.fromisoformat(json.loads(card_json)["due"])


def select_smart(
    questions: list[Question],
    states: dict[str, dict[str, Any]],
    n: int,
    now: datetime | None = None,
    seed: int | None = None,
    new_cap: int = NEW_PER_SESSION,
) -> list[Question]:
    """Due questions first (most overdue first), then weak ones (low last score), then new ones (high frequency
    first, at most `new_cap` when there is anything to review), then the rest; never the same question twice.
    With no history among these questions, a first session (`select_first`): frequent ones, difficulties mixed."""
    if not any(q.ref in states for q in questions):
        return select_first(questions, n, seed)
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    pool = list(dict.fromkeys(questions))
    rng.shuffle(pool)  # ties are broken differently from one session to the next
    due, weak, new, rest = [], [], [], []
    for q in pool:
        st = states.get(q.ref)
        if st is None:
            new.append(q)
        elif due_at(st["card_json"]) <= now:
            due.append(q)
        elif (st.get("last_score") or 0) < WEAK_SCORE:
            weak.append(q)
        else:
            rest.append(q)
    due.sort(key=lambda q: (due_at(states[q.ref]["card_json"]), FREQ_RANK.get(q.frequency, 3)))
    weak.sort(key=lambda q: (states[q.ref].get("last_score") or 0, FREQ_RANK.get(q.frequency, 3)))
    new.sort(key=lambda q: FREQ_RANK.get(q.frequency, 3))
    reviewing = due + weak
    cap = new_cap if reviewing else n
    plan = reviewing[:n]
    plan += new[: max(0, min(cap, n - len(plan)))]
    if len(plan) < n:  # not enough to review: fill with the remaining new questions, then the rest
        chosen = set(plan)
        plan += [q for q in new + rest if q not in chosen][: n - len(plan)]
    return plan[:n]
