"""interviewer: an LLM-graded mock interviewer for the terminal."""

__version__ = "0.1.0"
