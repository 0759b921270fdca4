"""Spoken answers: audio kept in the data home (`audio`), transcribed through litellm's transcription API
(`transcribe`), and the delivery signals only a spoken answer has (`delivery`: pure functions). Grading is on
the transcript; delivery is shown beside the grade, never mixed into it."""
