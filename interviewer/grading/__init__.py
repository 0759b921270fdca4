"""Grading: one answer to one question, judged against its rubric, as a `Grade`.

- `models` — `Grade`, `Answer`, `FollowUp` and the score arithmetic (the 0–10 scale, verdict bands).
- `graders` — the `Grader` seam; `registry` — graders by name (add a grader: one module, one line there).
- `offline` — the deterministic key-point grader (with `mentions` and `signals`: what an answer says about each
  point, negation, lists, injection attempts).
- `llm` — the LLM grader through litellm (imported lazily), with `prompt` (templates from `prompts/`) and `reply`
  (parsing and validating the model's JSON); `keys` — API keys and their redaction.
- `batch` — many answers from a JSONL file, graded concurrently, in input order.
"""
