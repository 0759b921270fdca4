"""Content: what is asked and what a good answer covers.

- `bank` — question banks (Markdown in the seed's format, or TOML) parsed into `Question`s; add a bank format here.
- `formats` — `bank import`: numbered lists, headed Markdown, CSV/TSV, JSON and Anki text read into questions and
  written as a bank (with their answers as rubric files); add an import format here.
- `identity` — which stored history a loaded question is, across inserts, deletions, reordering and rewording.
- `rubric` — rubrics: curated TOML files, derived from a question's hint, or from a reference answer; their English
  edition (`Rubric.localised`); a rubric follows the question it was written for.
- `drafting` — `rubric draft`: a model's rubric for a question, validated and written whole (the model is passed
  in: any `grading.chat.ChatModel`).
- `textnorm` — text normalisation and matching shared by rubrics and graders (folding, stems, tokens).
- `assets` — where the shipped `bank/`, `rubrics/` and `prompts/` are (inside the wheel, or beside the package).

Pure parsing and derivation; the only I/O is reading files (and `drafting` writing the drafts).
"""
