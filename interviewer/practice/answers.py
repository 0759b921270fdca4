"""Scripted answers: plain text with a line `---` between answers, or JSONL with `answer` and `question_id`.

An answer may be spoken: a text answer that is just the name of an audio file (`answer1.wav`), or a JSONL line
with `"audio": "answer1.m4a"` in place of `answer`; names are relative to the answers file's folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from interviewer.errors import AnswersError


@dataclass(frozen=True)
class ScriptedAnswer:
    answer: str
    question_id: str | None = None
    line: int | None = None
    audio: str | None = None  # the audio file of a spoken answer (its transcript becomes the answer)


def _audio_answer(name: str, path, lineno: int | None) -> str:
    """A named audio file, resolved against the answers file's folder; it must exist."""
    base = Path(str(path)).parent if not str(path).startswith("<") else Path.cwd()
    audio = (base / Path(name.strip()).expanduser()).resolve()
    if not audio.is_file():
        raise AnswersError(path, lineno, f"audio file not found: {audio}")
    return str(audio)


def parse_answers(text: str, path: str = "<answers>") -> list[ScriptedAnswer]:
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return _parse_jsonl(text, path)
    blocks, current = [], []
    for line in text.splitlines():
        if line.strip() == "---":
            blocks.append("\n".join(current).strip())
            current = []
        else:
            current.append(line)
    tail = "\n".join(current).strip()
    if tail or not blocks:
        blocks.append(tail)
    from interviewer.speech.audio import is_audio_path

    answers = [
        ScriptedAnswer("", audio=_audio_answer(b, path, None))
        if b and is_audio_path(b)
        else ScriptedAnswer(b)
        for b in blocks
    ]
    if len(answers) == 1 and not answers[0].answer and not answers[0].audio:
        raise AnswersError(path, None, "no answers found: separate answers with a line '---', or use JSONL")
    return answers


def load_json_line(line: str, path, lineno: int):
    """One JSONL line, or an AnswersError naming the file and line (also for absurdly nested input)."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise AnswersError(path, lineno, f"invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise AnswersError(path, lineno, "invalid JSON: nested too deeply") from None


def _parse_jsonl(text: str, path: str) -> list[ScriptedAnswer]:
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        obj = load_json_line(line, path, lineno)
        audio = obj.get("audio") if isinstance(obj, dict) else None
        if audio is not None:
            if not isinstance(audio, str) or not audio.strip():
                raise AnswersError(path, lineno, '"audio" must name an audio file')
            obj.setdefault("answer", "")
        if not isinstance(obj, dict) or not isinstance(obj.get("answer"), str):
            raise AnswersError(path, lineno, 'each line needs a string "answer" (or "audio": FILE)')
        qid = obj.get("question_id")
        if qid is not None and not isinstance(qid, str):
            raise AnswersError(path, lineno, '"question_id" must be a string')
        out.append(
            ScriptedAnswer(obj["answer"], qid, lineno, _audio_answer(audio, path, lineno) if audio else None)
        )
    if not out:
        raise AnswersError(path, None, "no answers found")
    return out


class ScriptedSource:
    """Answers from a file or piped stdin, in order; never prompts."""

    def __init__(self, answers: list[ScriptedAnswer]):
        self.answers = list(answers)
        self.position = 0

    def ask(self, question, index: int, total: int):
        from interviewer.practice.engine import Response

        if self.position >= len(self.answers):
            return None
        item = self.answers[self.position]
        self.position += 1
        return Response(kind="answer", text=item.answer, audio=item.audio)

    def ask_follow_up(self, question, follow_up: str):
        """Follow-ups take the next scripted answer, like any question."""
        return self.ask(question, 0, 0)

    def after_feedback(self, question) -> str:
        return "next"
