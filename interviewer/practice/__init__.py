"""Practice: one interview, from the plan to the summary.

- `engine` — the session engine: plan → ask → persist the answer → grade in the background → follow-up → feedback
  → summary; resume and regrade.
- `follow_ups` — which follow-up to ask and how it is worded (change how follow-ups are chosen here).
- `select` — which questions a session asks; `review` — spaced repetition (FSRS) for the smart order.
- `answers` — answer sources that are not a person at a terminal: scripted answers from a file or stdin.

The engine talks to the terminal only through its `Reporter` and `AnswerSource` and to the database through the
store; grading goes through the `Grader` seam.
"""
