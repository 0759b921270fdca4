"""Questions read aloud (`--speak`). A `Speaker` synthesizes each text on a daemon thread — through litellm's
speech API when a TTS model is set, else with espeak-ng — and plays it with the first audio player found, or saves
it as a numbered WAV file (`INTERVIEWER_SPEAK_TO`). A new question cuts off what is still being said of the
previous one; nothing here ever waits on the prompt's thread, and a failure is said once (between questions, by
`SpeakingReporter`) and leaves the session silent. litellm is imported only in the speaking thread, when the first
text is synthesized."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from interviewer.grading.chat import ERROR_POLICY, CallError

PLAYERS = (
    ("paplay",),
    ("aplay", "-q"),
    ("afplay",),
    ("ffplay", "-nodisp", "-autoexit", "-loglevel", "quiet"),
)  # the first one installed plays the audio
SILENT = "the session goes on silent"
ESPEAK_TIMEOUT_S = 30.0
POLL_S = 0.05  # how soon a playing text is cut off by the next one, or by the end of the session

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_MARKUP = re.compile(r"[`*#$>|]+")  # Markdown and TeX marks a voice would read out

TTS_HINTS = {
    "connection": "check --tts-api-base / INTERVIEWER_TTS_API_BASE and the network",
    "timeout": "the speech server did not answer in time; check it or raise INTERVIEWER_TIMEOUT",
    "auth": "the key was refused; set INTERVIEWER_TTS_API_KEY (or the provider's key)",
    "not_found": "check --tts-model / INTERVIEWER_TTS_MODEL (e.g. openai/tts-1)",
    "bad_request": "check --tts-model and INTERVIEWER_TTS_VOICE",
    "rate_limit": "the speech provider is rate-limiting",
    "server": "the speech server had an error; try again later",
}


class SpeechError(Exception):
    """Why a text could not be read aloud, in words for one line."""


class SpeechUnavailable(SpeechError):
    """Nothing on this machine can read the questions aloud (said once, at the start)."""


def spoken_text(text: str) -> str:
    """The text as a voice should read it: without Markdown or TeX marks, on one line."""
    return " ".join(_MARKUP.sub(" ", text).split())


def espeak_voice(text: str, lang: str | None = None) -> str:
    """espeak-ng's voice for a text: Mandarin (`cmn`) when it has Chinese characters, English (`en`) when it has
    Latin letters only; a text of neither (digits, symbols) follows the session's language."""
    if _CJK.search(text):
        return "cmn"
    if _LATIN.search(text):
        return "en"
    return "cmn" if lang == "zh" else "en"


def find_player(which=shutil.which) -> list[str] | None:
    """The command of the first audio player installed, to be given a WAV file's path; None when there is none."""
    for command in PLAYERS:
        path = which(command[0])
        if path:
            return [path, *command[1:]]
    return None


# ------------------------------------------------------------ backends: text in, WAV bytes out


class EspeakSpeech:
    """Offline speech: espeak-ng, Mandarin or English by the text."""

    def __init__(self, program: str, lang: str | None = None):
        self.program, self.lang = program, lang

    def synthesize(self, text: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="interviewer-speak-") as folder:
            out = Path(folder) / "speech.wav"
            command = [self.program, "-v", espeak_voice(text, self.lang), "-w", str(out)]
            try:  # the text on stdin: never taken for an option
                done = subprocess.run(
                    command, input=text.encode("utf-8"), capture_output=True, timeout=ESPEAK_TIMEOUT_S
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise SpeechError(f"espeak-ng failed ({exc}); check that it runs: espeak-ng hello") from None
            if done.returncode != 0 or not out.is_file():
                why = done.stderr.decode("utf-8", "replace").strip().splitlines()
                raise SpeechError(
                    f"espeak-ng failed ({why[-1] if why else f'exit {done.returncode}'}); check that it runs: "
                    "espeak-ng hello"
                )
            return out.read_bytes()


def audio_bytes(resp: Any) -> bytes:
    """The audio in litellm's speech response (openai's binary response: `.content`, or `.read()`)."""
    if isinstance(resp, bytes | bytearray):
        return bytes(resp)
    content = getattr(resp, "content", None)
    if isinstance(content, bytes | bytearray):
        return bytes(content)
    read = getattr(resp, "read", None)
    data = read() if callable(read) else None
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    raise CallError("bad_reply", "the speech reply holds no audio")


class LiteLLMSpeech:
    """Speech through litellm's speech API (OpenAI's, or any OpenAI-compatible server), as WAV; a failed call is
    tried once more when its kind is worth it."""

    def __init__(
        self,
        model: str,
        api_base: str | None = None,
        api_key: str | None = None,
        voice: str | None = None,
        timeout: float = 60.0,
        retries: int = 1,
        backoff: float = 1.0,
    ):
        self.model, self.api_base, self.api_key = model, api_base, api_key
        self.voice = voice or "alloy"
        self.timeout, self.retries, self.backoff = timeout, retries, backoff

    def _call(self, text: str) -> bytes:
        from interviewer.grading.litellm_chat import classify, load_litellm

        lit = load_litellm()
        kwargs: dict[str, Any] = {"timeout": self.timeout, "max_retries": 0, "response_format": "wav"}
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key or self.api_base:
            kwargs["api_key"] = self.api_key or "not-needed"
        try:
            resp = lit.speech(model=self.model, input=text, voice=self.voice, **kwargs)
        except Exception as exc:
            raise classify(exc) from exc
        data = audio_bytes(resp)
        if not data:
            raise CallError("bad_reply", "the speech reply is empty")
        return data

    def synthesize(self, text: str) -> bytes:
        attempt = 0
        while True:
            try:
                return self._call(text)
            except CallError as err:
                if not ERROR_POLICY.get(err.kind, (False, ""))[0] or attempt >= self.retries:
                    raise SpeechError(self.failure(err)) from None
                wait = err.retry_after if err.retry_after is not None else self.backoff
                time.sleep(min(wait, 5.0))
                attempt += 1

    def failure(self, err: CallError) -> str:
        from interviewer.grading.keys import known_secrets, redact

        detail = redact(err.detail, known_secrets(self.api_key))  # some gateways echo the key they were given
        hint = TTS_HINTS.get(err.kind, "check --tts-model and --tts-api-base")
        return f"{self.model} ({err.kind}: {detail}); {hint}"


# ------------------------------------------------------------ sinks: play the audio, or save it


class Player:
    """Plays WAV audio with an installed player; the playing process is stopped when the text is cut off."""

    def __init__(self, command: list[str]):
        self.command = command
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._stopped = False

    def put(self, audio: bytes, label: str, cut_off) -> None:
        with tempfile.NamedTemporaryFile("wb", suffix=".wav", prefix="interviewer-speak-", delete=False) as f:
            f.write(audio)
        try:
            self._play(f.name, cut_off)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(f.name)

    def _play(self, path: str, cut_off) -> None:
        name = Path(self.command[0]).name
        with tempfile.TemporaryFile() as errors:
            with self._lock:
                if self._stopped or cut_off():
                    return
                try:
                    self._proc = proc = subprocess.Popen(
                        [*self.command, path],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=errors,
                    )
                except OSError as exc:
                    raise SpeechError(f"cannot run {name} ({exc.strerror or exc})") from None
            while proc.poll() is None:
                if cut_off() or self._stopped:
                    self.stop(for_good=False)
                    return
                time.sleep(POLL_S)
            if proc.returncode != 0 and not self._stopped and not cut_off():  # not stopped by us (hush)
                errors.seek(0)
                why = errors.read().decode("utf-8", "replace").strip().splitlines()
                raise SpeechError(
                    f"the audio player {name} failed ({why[-1] if why else f'exit {proc.returncode}'}); check "
                    "the sound output, or set INTERVIEWER_SPEAK_TO=DIR to save the audio instead"
                )

    def stop(self, for_good: bool = True) -> None:
        """Stop what is playing (and, `for_good`, anything after it)."""
        with self._lock:
            self._stopped = self._stopped or for_good
            proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(1.0)
            except subprocess.TimeoutExpired:
                proc.kill()


class Saver:
    """Saves each spoken text's audio as a numbered WAV file in a folder (`001-2.1.wav`, `002-2.1-follow-up.wav`,
    …), numbered on from the files already there."""

    def __init__(self, folder: Path):
        self.folder = Path(folder).expanduser()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpeechUnavailable(
                f"Cannot save the spoken questions in {self.folder} ({exc.strerror or exc}); check "
                f"INTERVIEWER_SPEAK_TO; {SILENT}."
            ) from None
        numbers = [int(m.group()) for p in self.folder.glob("*.wav") if (m := re.match(r"\d+", p.name))]
        self.count = max(numbers, default=0)

    def put(self, audio: bytes, label: str, cut_off) -> None:
        self.count += 1
        safe = re.sub(r"[^\w.-]+", "-", label).strip("-.")[:60]
        path = self.folder / (f"{self.count:03d}-{safe}.wav" if safe else f"{self.count:03d}.wav")
        try:
            path.write_bytes(audio)
        except OSError as exc:
            raise SpeechError(
                f"cannot write {path} ({exc.strerror or exc}); check INTERVIEWER_SPEAK_TO"
            ) from None

    def stop(self, for_good: bool = True) -> None:
        pass


# ------------------------------------------------------------ the speaker


class Speaker:
    """Speaks texts one at a time on a daemon thread. `say()` returns at once; a text cuts off the ones before it
    (the one playing is stopped, the ones waiting are dropped) unless `keep_all` (saving: each text is kept). The
    first failure leaves it silent; its message waits in `notes()` for the session to say it."""

    def __init__(self, backend, sink, keep_all: bool = False, drain_s: float = 60.0):
        self.backend, self.sink, self.keep_all, self.drain_s = backend, sink, keep_all, drain_s
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._turn = 0  # bumped by each text that cuts off the ones before it
        self._closed = threading.Event()
        self._failed = False
        self._notes: list[str] = []
        self._thread = threading.Thread(target=self._run, name="speaker", daemon=True)
        self._thread.start()

    def say(self, text: str, label: str = "") -> None:
        """Read `text` aloud, in the background."""
        text = spoken_text(text)
        if not text or self._failed or self._closed.is_set():
            return
        with self._lock:
            if not self.keep_all:
                self._turn += 1
                self._drop_waiting()
            self._queue.put((self._turn, text, label))

    def hush(self) -> None:
        """Stop what is being read aloud now (the candidate is about to speak into the microphone); saving is not
        cut off."""
        if self.keep_all:
            return
        with self._lock:
            self._turn += 1
            self._drop_waiting()
        self.sink.stop(for_good=False)

    def notes(self) -> list[str]:
        """What the speaker has to tell (a failure, once), taken."""
        with self._lock:
            notes, self._notes = self._notes, []
        return notes

    def close(self, wait: bool = True) -> None:
        """Stop speaking. When saving and `wait`, what is still to be saved is saved first (for at most
        `drain_s`); what is playing is stopped at once."""
        if self._closed.is_set():
            return
        if self.keep_all and wait:
            self._queue.put(None)
            self._thread.join(self.drain_s)
            if self._thread.is_alive() and not self._failed:
                self._note(
                    "the speech server was still busy at the end, so the last question(s) were not saved"
                )
        self._closed.set()
        with self._lock:
            self._drop_waiting()
        self.sink.stop()
        self._queue.put(None)

    def _drop_waiting(self) -> None:
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()

    def _cut_off(self, turn: int) -> bool:
        return self._closed.is_set() or (not self.keep_all and turn != self._turn)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None or self._closed.is_set():
                return
            turn, text, label = item
            if self._cut_off(turn):
                continue
            try:
                audio = self.backend.synthesize(text)
                if not self._cut_off(turn):
                    self.sink.put(audio, label, lambda turn=turn: self._cut_off(turn))
            except SpeechError as exc:
                self._fail(str(exc))
                return
            except Exception as exc:  # never the session's problem
                self._fail(f"{type(exc).__name__}: {exc}")
                return

    def _fail(self, why: str) -> None:
        self._failed = True
        if not self._closed.is_set():
            self._note(f"could not read the question aloud: {why}")

    def _note(self, why: str) -> None:
        why = " ".join(why.split())  # one line, whatever a backend said
        with self._lock:
            self._notes.append(f"{why[0].upper()}{why[1:]}; {SILENT}.")


# ------------------------------------------------------------ the session's side


class SpeakingReporter:
    """A session's reporter that also reads each question and follow-up aloud, as it shows them; every other call
    goes to the reporter it wraps. What the speaker has to tell is said through that reporter, between questions
    (never over the prompt)."""

    def __init__(self, inner, speaker: Speaker):
        self.inner, self.speaker = inner, speaker

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _tell(self) -> None:
        for note in self.speaker.notes():
            self.inner.note(note)

    def question(self, q, index: int, total: int) -> None:
        self._tell()
        self.inner.question(q, index, total)
        self.speaker.say(q.text, q.id)

    def follow_up(self, q, text: str) -> None:
        self._tell()
        self.inner.follow_up(q, text)
        self.speaker.say(text, f"{q.id}-follow-up")

    def grading(self, q):
        self._tell()
        return self.inner.grading(q)

    def feedback(self, *args, **kwargs):
        self._tell()
        return self.inner.feedback(*args, **kwargs)

    def note(self, message: str) -> None:
        self._tell()
        self.inner.note(message)

    def summary(self, *args, **kwargs) -> None:
        self._tell()
        self.inner.summary(*args, **kwargs)

    def hush(self) -> None:
        """Before a recording: the question being read aloud stops, so the microphone does not hear it."""
        self.speaker.hush()

    def stop_speaking(self, wait: bool = True) -> None:
        """The session is over: stop the speaker (see `Speaker.close`) and say what it still had to tell."""
        self.speaker.close(wait)
        self._tell()


def make_speaker(settings, lang: str | None = None, which=shutil.which) -> Speaker:
    """The speaker `--speak` asks for: litellm's speech API when a TTS model is set, else espeak-ng; played by an
    installed player, or saved in `INTERVIEWER_SPEAK_TO`. `SpeechUnavailable` (one line) when nothing can
    speak."""
    values = settings.values
    folder = values.get("speak_to")
    sink = Saver(Path(folder)) if folder else None
    if sink is None:
        player = find_player(which)
        if player is None:
            raise SpeechUnavailable(
                "Cannot read the questions aloud: no audio player found (paplay, aplay, afplay or ffplay); "
                f"install one, or set INTERVIEWER_SPEAK_TO=DIR to save the audio instead; {SILENT}."
            )
        sink = Player(player)
    timeout = float(values.get("timeout") or 60.0)
    backend = _backend(settings, lang, which, timeout)
    return Speaker(backend, sink, keep_all=isinstance(sink, Saver), drain_s=2 * timeout + 10)


def _backend(settings, lang: str | None, which, timeout: float):
    values = settings.values
    model = values.get("tts_model")
    if model:
        from interviewer.grading.keys import missing_key

        base = values.get("tts_api_base")
        from interviewer.speech.transcribe import own_key

        key = own_key(values, "tts")
        missing = missing_key(model, key, base)
        if missing:
            raise SpeechUnavailable(
                f"Cannot read the questions aloud: {model} needs a key; set INTERVIEWER_TTS_API_KEY or "
                f"{missing}; {SILENT}."
            )
        return LiteLLMSpeech(model, base, key, values.get("tts_voice"), timeout=timeout)
    program = which("espeak-ng")
    if program is None:
        raise SpeechUnavailable(
            "Cannot read the questions aloud: no --tts-model is set and espeak-ng is not installed; install "
            f"espeak-ng (e.g. apt-get install espeak-ng) or set --tts-model; {SILENT}."
        )
    return EspeakSpeech(program, lang)
