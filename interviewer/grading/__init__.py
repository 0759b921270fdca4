"""Grading: one answer to one question, judged against its rubric, as a `Grade`.

- `models` — `Grade`, `Answer`, `FollowUp` and the score arithmetic (the 0–10 scale, verdict bands).
- `graders` — the `Grader` seam; `registry` — graders by name (add a grader: one module, one line there).
- `offline` — the deterministic key-point grader: `reading` (how an answer is read into clauses, and which only
  list terms), `mentions` (where a point is named, affirmed or denied, and the words around it), `signals`
  (injection attempts, reasons, negated wrong claims).
- `llm` — the LLM grader on the chat-model seam (`chat`: `ChatModel`, `FakeModel`; `openai_chat`: the openai SDK
  for OpenAI-compatible endpoints; `litellm_chat`: litellm for every other provider; `models_for` chooses; both
  imported lazily), with `prompt` (templates from `prompts/`) and `reply` (parsing and validating the model's
  JSON); `keys` — API keys and their redaction.
- `batch` — many answers from a JSONL file, graded concurrently, in input order.
"""
