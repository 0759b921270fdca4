"""Results: what the sessions add up to.

- `progress` — stats, trends, weakest criteria and questions to review; `summary` — one session's totals.
- `export` — transcripts as Markdown, JSON and HTML, and the HTML progress report (Jinja2 `templates/`); add an
  export here.
- `charts` — geometry of the inline SVG charts (pure).
- `calibration` — a grader measured against human scores (Spearman, QWK, MAE, …).
"""
