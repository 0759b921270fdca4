"""The library behind the commands: load banks, open the store, make graders. No terminal here."""

from __future__ import annotations

from pathlib import Path

from interviewer.config import Settings
from interviewer.content.assets import asset_dir
from interviewer.content.bank import Bank, QuestionSet, bank_files, load_bank
from interviewer.errors import BankError, InputError
from interviewer.store import Store


def load_banks(paths: list[Path] | None, lang: str, home: Path | None) -> list[Bank]:
    """The shipped banks (or the `--bank` paths instead), plus the user's banks in $INTERVIEWER_HOME/bank/."""
    files: list[Path] = []
    if paths:
        for p in paths:
            p = Path(p).expanduser()
            if p.is_dir():
                found = bank_files(p, lang)
                if not found:
                    raise BankError(p, None, "no bank files (.md or .toml) in this folder")
                files += found
            elif p.exists():
                files.append(p)
            else:
                raise BankError(p, None, "file not found")
    else:
        files += bank_files(asset_dir("bank"), lang)
    if home is not None and (home / "bank").is_dir():
        files += bank_files(home / "bank", lang)
    banks: dict[str, Bank] = {}
    for f in files:
        bank = load_bank(f)
        banks[bank.name] = bank  # a user's bank of the same name replaces the shipped one
    return list(banks.values())


def load_questions(settings: Settings, paths: list[Path] | None = None) -> QuestionSet:
    lang = settings.lang or "zh"
    return QuestionSet(load_banks(paths, lang, settings.home))


def open_store(settings: Settings, write: bool = True) -> Store:
    """The data home's store; a command that only reads (`write=False`) also works on a read-only home."""
    return Store(settings.db_path) if write else Store.for_reading(settings.db_path)


def check_llm_settings(settings: Settings) -> None:
    """Fail before the first question when the LLM grader cannot work; import nothing heavy."""
    if settings.grader_kind != "llm":
        return
    if not settings.model:
        raise InputError(
            "--grader llm needs a model: use --model M (e.g. openai/gpt-4o-mini) or set INTERVIEWER_MODEL"
        )
    from interviewer.grading.keys import missing_key

    need = missing_key(settings.model, settings.api_key, settings.api_base)
    if need:
        raise InputError(
            f"no API key for model {settings.model}: set {need} (or INTERVIEWER_API_KEY), or use --grader offline"
        )
