"""Results: what the sessions add up to.

- `progress` — stats, trends, weakest criteria and questions to review; `summary` — one session's totals.
- `export` — transcripts as Markdown, JSON and HTML, and the HTML progress report (Jinja2 `templates/`); add an
  export here.
- `transcript` — a session as `show` prints it in the terminal (pure), and what every transcript shows after a
  grade: the curated reference answer and the grader's own.
- `anki` — a bank as an Anki package (.apkg), through genanki.
- `charts` — geometry of the inline SVG charts (pure).
- `calibration` — a grader measured against human scores (Spearman, QWK, MAE, …).
"""
