"""5. The offline grader's throughput, in-process, over the calibration answers."""

from __future__ import annotations

import statistics

from common import now, pct
from inputs import CALIBRATION


def bench_offline(passes: int) -> dict:
    from interviewer.config import load_settings
    from interviewer.core import load_questions
    from interviewer.grading.batch import read_calibration
    from interviewer.grading.offline import grade_offline

    settings = load_settings()
    items = [item for item, _, _ in read_calibration(CALIBRATION, load_questions(settings), settings.home)]
    per_pass, per_answer = [], []
    for p in range(passes + 1):  # pass 0: cold (first use of caches and compiled patterns)
        times = []
        t0 = now()
        for it in items:
            t = now()
            grade_offline(it.question.id, it.question.text, it.rubric, it.answer)
            times.append(now() - t)
        per_pass.append(now() - t0)
        if p:
            per_answer += times
    warm = statistics.median(per_pass[1:])
    return {
        "answers": len(items),
        "passes": passes,
        "cold_pass_s": per_pass[0],
        "pass_s": per_pass[1:],
        "answers_per_s": len(items) / warm,
        "cold_answers_per_s": len(items) / per_pass[0],
        "p50_ms": pct(per_answer, 50) * 1000,
        "p95_ms": pct(per_answer, 95) * 1000,
        "max_ms": max(per_answer) * 1000,
    }
