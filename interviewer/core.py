"""The library behind the commands: load banks, open the store, make graders. No terminal here."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from interviewer.config import Settings
from interviewer.content.assets import asset_dir
from interviewer.content.bank import Bank, QuestionSet, bank_files, bank_name_and_lang, load_bank
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
        bank = share_identity(load_bank(f), f)
        banks[bank.name] = bank  # a user's bank of the same name replaces the shipped one
    return list(banks.values())


def share_identity(bank: Bank, path: Path) -> Bank:
    """The editions of a bank (`x.md`, `x.en.md` in one folder) are one set of questions: each question takes
    the identity of its counterpart in the default edition (same section, same place) and knows the other
    editions' texts. Editions whose shapes differ are left to their own identities."""
    siblings = []
    for p in sorted(path.parent.iterdir()) if path.parent.is_dir() else []:
        if (
            p != path
            and p.is_file()
            and p.suffix.lower() in (".md", ".toml")
            and p.name.lower() != "readme.md"
        ):
            name, lang = bank_name_and_lang(p)
            if name == bank.name and lang != bank.lang:
                try:
                    siblings.append(load_bank(p))
                except BankError:
                    continue  # a broken other edition does not stop this one
    if not siblings:
        return bank
    shape = [q.section_index for q in bank.questions]
    others = [b for b in siblings if [q.section_index for q in b.questions] == shape]
    primary = next((b for b in [bank, *others] if b.lang == "zh"), bank)
    bank.questions = [
        replace(q, key=primary.questions[i].key, editions=tuple(b.questions[i].text for b in others))
        for i, q in enumerate(bank.questions)
    ]
    return bank


def load_questions(
    settings: Settings, paths: list[Path] | None = None, store: Store | None = None
) -> QuestionSet:
    """The questions of the banks in use; with a `store`, each with the identity of its stored history."""
    lang = settings.lang or "zh"
    questions = QuestionSet(load_banks(paths, lang, settings.home))
    return with_history(questions, store)[0] if store is not None else questions


def with_history(questions: QuestionSet, store: Store) -> tuple[QuestionSet, list]:
    """The questions matched to their stored history (see `content.identity`), and the matches that were not by
    identity (a moved or reworded question)."""
    from interviewer.content.identity import reconcile

    known = store.known_texts([b.name for b in questions.banks])
    if not known:
        return questions, []
    found = []
    for bank in questions.banks:
        bank.questions, matches = reconcile(bank.questions, known)
        found += matches
    return QuestionSet(questions.banks), found


def open_store(settings: Settings, write: bool = True) -> Store:
    """The data home's store; a command that only reads (`write=False`) also works on a read-only home."""
    return Store(settings.db_path) if write else Store.for_reading(settings.db_path)


LAST = "last"  # what a session id may be typed as, in every command: the most recent session


def resolve_session(store: Store, sid: str | None, unfinished: bool = False) -> str:
    """A session id as typed: `last` (or none, where a command allows it) is the most recent session, or with
    `unfinished` the most recent one not finished; anything else is left to `Store.session`."""
    if sid is None or sid.strip().lower() == LAST:
        return store.last_session_id(unfinished=unfinished)
    return sid


def check_llm_settings(settings: Settings) -> None:
    """Fail before the first question when the LLM grader cannot work (no model, a model string litellm would not
    route, no key); import nothing heavy and send nothing."""
    if settings.grader_kind != "llm":
        return
    if not settings.model:
        raise InputError(
            "--grader llm needs a model: use --model M (e.g. openai/gpt-4o-mini) or set INTERVIEWER_MODEL"
        )
    from interviewer.grading.keys import missing_key
    from interviewer.grading.providers import model_problem

    problem = model_problem(settings.model)
    if problem:
        raise InputError(problem)
    if settings.deployments:
        from interviewer.grading.deployments import resolved

        for d in resolved(settings.deployments):  # a key variable that is not set is named here
            p = d["litellm_params"]
            if problem := model_problem(p["model"]):
                raise InputError(f"deployment {d['model_info']['id']}: {problem}")
            if need := missing_key(p["model"], p.get("api_key"), p.get("api_base")):
                raise InputError(
                    f"no API key for deployment {d['model_info']['id']} of profile {settings.profile}: set "
                    f'{need}, or give it api_key = "os.environ/NAME" in its litellm_params'
                )
        return
    need = missing_key(settings.model, settings.api_key, settings.api_base)
    if need:
        raise InputError(
            f"no API key for model {settings.model}: set {need} (or INTERVIEWER_API_KEY), or use --grader offline"
        )
