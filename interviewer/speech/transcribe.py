"""Transcription through litellm's transcription API: OpenAI's, Groq's, or any OpenAI-compatible server (a
faster-whisper server, say) with `--stt-model` and `--stt-api-base`. litellm is imported only when audio is
transcribed; errors become `CallError`s of the grader's kinds and are retried the same way."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interviewer.grading.chat import ERROR_POLICY, CallError
from interviewer.speech.audio import wav_duration
from interviewer.speech.delivery import delivery_signals

DEFAULT_STT_MODEL = "openai/whisper-1"


@dataclass
class Transcription:
    text: str
    model: str
    duration_s: float | None = None
    language: str | None = None
    segments: list[tuple[float, float, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "model": self.model,
            "duration_s": self.duration_s,
            "language": self.language,
            "segments": [list(s) for s in self.segments],
        }


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def read_response(resp: Any, model: str) -> Transcription:
    """litellm's TranscriptionResponse (or a dict) as a Transcription; one without text is a bad reply."""
    text = resp if isinstance(resp, str) else _field(resp, "text")
    if not isinstance(text, str):
        raise CallError("bad_reply", "the transcription has no text")
    segments = []
    for s in (None if isinstance(resp, str) else _field(resp, "segments")) or []:
        start, end = _field(s, "start"), _field(s, "end")
        if isinstance(start, int | float) and isinstance(end, int | float):
            segments.append((float(start), float(end), str(_field(s, "text") or "").strip()))
    duration = None if isinstance(resp, str) else _field(resp, "duration")
    language = None if isinstance(resp, str) else _field(resp, "language")
    return Transcription(
        text.strip(),
        model,
        float(duration) if isinstance(duration, int | float) else None,
        language if isinstance(language, str) else None,
        segments,
    )


class LiteLLMTranscriber:
    """One speech-to-text model through litellm, with the one retry layer (backoff, `Retry-After` honoured)."""

    def __init__(
        self,
        model: str | None = None,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        retries: int = 3,
        backoff: float = 0.5,
        language: str | None = None,
    ):
        self.model = model or DEFAULT_STT_MODEL
        self.api_base, self.api_key = api_base, api_key
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.language = language
        self.verbose = True  # ask for timed segments; dropped for good when a server refuses them

    def _call(self, path: Path) -> Transcription:
        from interviewer.grading.litellm_chat import classify, load_litellm

        lit = load_litellm()
        kwargs: dict[str, Any] = {"model": self.model, "timeout": self.timeout, "max_retries": 0}
        if self.verbose:
            kwargs["response_format"] = "verbose_json"
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key or self.api_base:
            kwargs["api_key"] = self.api_key or "not-needed"
        if self.language:
            kwargs["language"] = self.language
        try:
            with open(path, "rb") as f:
                resp = lit.transcription(file=f, **kwargs)
        except OSError as exc:
            raise CallError("unknown", f"{path}: cannot read the audio ({exc.strerror or exc})") from None
        except Exception as exc:
            err = classify(exc)
            if err.kind == "bad_request" and self.verbose and "response_format" in err.detail.lower():
                self.verbose = False
                return self._call(path)
            raise err from exc
        return read_response(resp, self.model)

    def transcribe(self, path: str | Path) -> Transcription:
        """The audio's transcript, or the last `CallError` once retries are spent (the audio stays saved)."""
        attempt = 0
        while True:
            try:
                return self._call(Path(path))
            except CallError as err:
                retry = ERROR_POLICY.get(err.kind, (False, ""))[0]
                if not retry or attempt >= self.retries:
                    raise
                wait = err.retry_after if err.retry_after is not None else self.backoff * 2**attempt
                time.sleep(min(wait, 30.0))
                attempt += 1


def own_key(values: dict[str, Any], kind: str) -> str | None:
    """The key for the speech endpoint of `kind` (stt | tts): its own, else the grader's only when both go to the
    same server (a key is never sent to another host than the one it was given for)."""
    base = values.get(f"{kind}_api_base")
    if values.get(f"{kind}_api_key"):
        return values[f"{kind}_api_key"]
    return values.get("api_key") if base and base == values.get("api_base") else None


def make_transcriber(settings) -> LiteLLMTranscriber:
    values = settings.values
    return LiteLLMTranscriber(
        values.get("stt_model"),
        values.get("stt_api_base"),
        own_key(values, "stt"),
        timeout=max(float(values.get("timeout") or 60.0), 60.0),
        retries=int(values.get("retries") if values.get("retries") is not None else 3),
    )


def transcribe_audio(transcriber, path: str | Path, known_duration: float | None = None) -> dict[str, Any]:
    """Transcribe one kept audio file: the transcript (as stored with the turn) and its delivery signals."""
    t = transcriber.transcribe(path)
    duration = known_duration or wav_duration(Path(path)) or t.duration_s
    signals = delivery_signals(t.text, duration, [(a, b) for a, b, _ in t.segments] or None)
    return {"transcript": t.to_dict(), "delivery": signals}


def failure_message(err: Exception) -> str:
    if isinstance(err, CallError):
        return f"transcription failed ({err.kind}: {err.detail}); {ERROR_POLICY.get(err.kind, (0, ''))[1]}"
    return f"transcription failed ({type(err).__name__}: {err})"
