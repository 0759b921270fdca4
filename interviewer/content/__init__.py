"""Content: what is asked and what a good answer covers.

- `bank` — question banks (Markdown in the seed's format, or TOML) parsed into `Question`s; add a bank format here.
- `rubric` — rubrics: curated TOML files, derived from a question's hint, or from a reference answer; their English
  edition (`Rubric.localised`).
- `textnorm` — text normalisation and matching shared by rubrics and graders (folding, stems, tokens).
- `assets` — where the shipped `bank/`, `rubrics/` and `prompts/` are (inside the wheel, or beside the package).

Pure parsing and derivation; the only I/O is reading files.
"""
