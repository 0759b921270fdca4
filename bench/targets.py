"""The targets, and which of them a run missed."""

from __future__ import annotations

TARGETS = {
    "startup_s": 0.15,
    "overhead_p50_ms": 5.0,
    "pipeline_s": 1.5,
    "batch_efficiency": 0.85,
    "offline_per_s": 200.0,
    "prompt_max_tokens": 1500,
}
STARTUP_COMMANDS = ("help", "bank_list", "first_question")  # the start-up figures with a target


def missed_targets(res: dict) -> list[str]:
    """The keys of the missed targets, in the order of the report's verdict line."""
    su, t = res["startup"], TARGETS
    missed = [k for k in STARTUP_COMMANDS if su[k]["minus_baseline_s"] > t["startup_s"]]
    if res["overhead"]["p50_ms"] > t["overhead_p50_ms"]:
        missed.append("overhead")
    if res["pipeline"]["interview10_minus_interview1_s"] > t["pipeline_s"]:
        missed.append("pipeline")
    b32 = res["batch"]["summary"][32]
    if b32["efficiency_end_to_end"] < t["batch_efficiency"]:
        missed.append("batch_end_to_end")
    if b32["efficiency_grading"] < t["batch_efficiency"]:
        missed.append("batch_grading")
    if res["offline"]["answers_per_s"] < t["offline_per_s"]:
        missed.append("offline")
    if "error" not in res["prompt"] and res["prompt"]["max"] > t["prompt_max_tokens"]:
        missed.append("prompt")
    return missed
