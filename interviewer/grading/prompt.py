"""Build the grading prompt: Jinja2 templates from prompts/ (user overrides in $INTERVIEWER_HOME/prompts/).

Layout, for the providers' prompt caches: the system message and the user message's question and rubric part come
first and are the same bytes for every call on one question and rubric; the per-call random fence tag appears only
around the candidate's text, at the very end (the answer, then each follow-up question with its answer).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from interviewer.config import refuse_if_others_can_write
from interviewer.content.assets import asset_dir
from interviewer.content.rubric import Rubric
from interviewer.content.textnorm import sentences
from interviewer.grading.models import FollowUp, is_non_answer

TEMPLATES = ("grade_system.j2", "grade_user.j2")
# Estimated tokens for system + user (the estimate runs up to ~7% under cl100k, so 1,350 keeps real prompts
# under 1,500). Above it the "partial" level descriptions go, then the reference answer's last sentences, then
# the last-listed wrong claims.
PROMPT_BUDGET = 1350
MIN_MISTAKES = (
    3  # wrong claims the prompt keeps whatever the budget: the model's first question is "is it true?"
)
LOOKALIKE = re.compile(r"<\s*/?\s*answer[^<>]*>?", re.IGNORECASE)


def new_tag() -> str:
    return secrets.token_hex(8)


def fence_answer(answer: str, tag: str) -> str:
    """Neutralise the tag and anything that looks like an answer delimiter, so the text cannot leave the fence."""
    text = answer.replace(tag, "[tag removed]")
    text = LOOKALIKE.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text)
    return text


def interviewer_line(text: str, tag: str) -> str:
    """The interviewer's follow-up question, shown outside the fences: one line, no tag, no look-alike delimiter."""
    return fence_answer(" ".join(text.split()), tag)


@dataclass(frozen=True)
class Prompt:
    system: str
    user: str
    version: str

    @property
    def messages(self) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]


@cache
def _environment(folders: tuple[Path, ...]):
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def prompt_folders(home: Path | None) -> tuple[Path, ...]:
    folders = []
    if home is not None and (home / "prompts").is_dir():
        for template in TEMPLATES:  # a user's template is the grader's instructions
            refuse_if_others_can_write(home / "prompts" / template)
        folders.append(home / "prompts")
    folders.append(asset_dir("prompts"))
    return tuple(folders)


def prompt_version(home: Path | None = None) -> str:
    return _version(prompt_folders(home))


@cache
def _version(folders: tuple[Path, ...]) -> str:
    """A hash of the templates in use, recorded with every grade (read once per process)."""
    env = _environment(folders)
    digest = hashlib.sha1()
    for name in TEMPLATES:
        source, _, _ = env.loader.get_source(env, name)
        digest.update(source.encode())
    return "grade-" + digest.hexdigest()[:8]


def build_prompt(
    question_id: str,
    question: str,
    hint: str,
    rubric: Rubric,
    answer: str,
    tag: str | None = None,
    home: Path | None = None,
    budget: int = PROMPT_BUDGET,
    follow_ups: Sequence[FollowUp] = (),
) -> Prompt:
    """The prompt for one call. Follow-ups whose answer is a non-answer ("不知道", "skip") are left out."""
    tag = tag or new_tag()
    env = _environment(prompt_folders(home))
    criteria = rubric.all_criteria
    context = {
        "tag": tag,
        "question_id": question_id,
        "question": question,
        "hint": hint,
        "criteria": criteria,
        "criterion_ids": [c.id for c in criteria],
        "mistakes": rubric.mistakes,
        "reference_answer": rubric.reference_answer,
        "answer": fence_answer(answer, tag),
        "follow_ups": [
            FollowUp(interviewer_line(f.question, tag), fence_answer(f.answer, tag))
            for f in follow_ups
            if not is_non_answer(f.answer)
        ],
    }
    system = env.get_template("grade_system.j2").render(context)
    template = env.get_template("grade_user.j2")
    user = template.render(context | {"with_partial": True})
    if estimate_tokens(system + user) > budget:  # long rubrics: the "met" levels stay, "partial" goes
        context["with_partial"] = False
        user = template.render(context)
        reference = sentences(rubric.reference_answer)
        while (excess := estimate_tokens(system + user) - budget) > 0 and len(reference) > 2:
            while excess > 0 and len(reference) > 2:  # then the reference answer's last sentences
                excess -= estimate_tokens(reference.pop())
            context["reference_answer"] = "".join(reference) + "…"
            user = template.render(context)  # one render per round, not one per sentence
        mistakes = list(rubric.mistakes)
        while (excess := estimate_tokens(system + user) - budget) > 0 and len(mistakes) > MIN_MISTAKES:
            while excess > 0 and len(mistakes) > MIN_MISTAKES:  # then the rubric's last-listed wrong claims
                excess -= estimate_tokens(mistakes.pop().text)
            context["mistakes"] = mistakes
            user = template.render(context)
    return Prompt(system=system, user=user, version=prompt_version(home))


def estimate_tokens(text: str) -> int:
    """A cheap token estimate, fitted to cl100k on the seed prompts: ~1.15 per CJK character, ~0.3 per other."""
    cjk = len(_NOT_CJK.sub("", text))  # the regex engine counts; a loop over characters costs ~1 ms a prompt
    return int(cjk * 1.15 + (len(text) - cjk) * 0.3)


_NOT_CJK = re.compile("[^\u3000-\u9fff\uff00-\uffef]+")


def response_schema(rubric: Rubric) -> dict:
    """JSON schema of the reply; criterion ids are pinned to the rubric's own ids."""
    ids = [c.id for c in rubric.all_criteria]
    criterion = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "enum": ids},
            "evidence": {"type": "string"},
            "verdict": {"type": "string", "enum": ["met", "partial", "missed"]},
            "score": {"type": "number", "minimum": 0, "maximum": 10},
            "comment": {"type": "string"},
        },
        "required": ["id", "evidence", "verdict", "score", "comment"],
        "additionalProperties": False,
    }
    strings = {"type": "array", "items": {"type": "string"}}
    return {
        "type": "object",
        "properties": {
            "criteria": {"type": "array", "items": criterion, "minItems": len(ids), "maxItems": len(ids)},
            "wrong_claims": strings,
            "strengths": strings,
            "missing": strings,
            "feedback": {"type": "string"},
            "better_answer": {"type": "string"},
            "follow_up": {"type": "string"},
            "injection_suspected": {"type": "boolean"},
            "off_topic": {"type": "boolean"},
            "holistic_score": {"type": "number", "minimum": 0, "maximum": 10},
        },
        "required": [
            "criteria",
            "wrong_claims",
            "strengths",
            "missing",
            "feedback",
            "better_answer",
            "follow_up",
            "injection_suspected",
            "off_topic",
            "holistic_score",
        ],  # fmt: skip
        "additionalProperties": False,
    }
