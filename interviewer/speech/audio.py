"""Audio files: which answers are audio, their length, and the private copy kept in `$INTERVIEWER_HOME/audio/`
before anything is sent anywhere."""

from __future__ import annotations

import contextlib
import os
import secrets
import wave
from pathlib import Path

from interviewer.errors import AnswersError
from interviewer.store.files import make_private_dir

RECORDING = "recording-"  # a microphone recording's name, in the audio folder until its turn keeps it
AUDIO_SUFFIXES = (".wav", ".mp3", ".m4a", ".webm", ".ogg", ".oga", ".flac", ".mp4", ".mpeg", ".mpga")


def is_audio_path(name: str | os.PathLike) -> bool:
    text = str(name).strip()
    return "\n" not in text and Path(text).suffix.lower() in AUDIO_SUFFIXES


def wav_duration(path: Path) -> float | None:
    """A WAV file's length in seconds (stdlib `wave`); None for any other file, or a WAV it cannot read."""
    if Path(path).suffix.lower() != ".wav":
        return None
    try:
        with wave.open(str(path), "rb") as w:
            rate = w.getframerate()
            return round(w.getnframes() / rate, 2) if rate else None
    except (wave.Error, EOFError, OSError):
        return None


def audio_folder(home: Path) -> Path:
    folder = home / "audio"
    make_private_dir(home)
    make_private_dir(folder)
    return folder


def keep_audio(home: Path, source: Path, stem: str = "answer") -> dict:
    """Copy `source` into the data home's audio folder (0600) and describe it: the audio is saved before it is
    transcribed, so a failed or interrupted transcription never loses the answer."""
    source = Path(source).expanduser()
    folder = audio_folder(home)
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in stem)[:60]
    if source.name.startswith(RECORDING) and source.parent.resolve() == folder.resolve() and source.is_file():
        return _adopt(source, folder / f"{safe}-{secrets.token_hex(3)}{source.suffix.lower()}")
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise AnswersError(source, None, f"cannot read the audio file ({exc.strerror or exc})") from None
    if not data:
        raise AnswersError(source, None, "the audio file is empty")
    target = folder / f"{safe}-{secrets.token_hex(3)}{source.suffix.lower()}"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            target.unlink()
        raise
    return {
        "path": str(target),
        "source_name": source.name,
        "bytes": len(data),
        "duration_s": wav_duration(target),
    }


def _adopt(source: Path, target: Path) -> dict:
    """A microphone recording (written into the audio folder as it is recorded, `RECORDING…`) is kept where it is,
    renamed for its turn: no second copy. Any other file, even one in the folder, is copied."""
    if not source.stat().st_size:
        raise AnswersError(source, None, "the recording is empty")
    os.replace(source, target)
    os.chmod(target, 0o600)
    return {
        "path": str(target),
        "source_name": source.name,
        "bytes": target.stat().st_size,
        "duration_s": wav_duration(target),
    }
