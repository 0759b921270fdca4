"""Grading: the `Grade` model, the offline grader and the LLM grader (imported lazily)."""
