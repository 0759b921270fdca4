"""Recording a spoken answer from the microphone until Enter, written as it comes into the data home's audio
folder as a 16-bit mono WAV (0600), so an interrupted recording keeps what was said.

The microphone is read through `sounddevice` (the `voice` extra), imported only when a recording starts. A WAV
file may stand in for it: `INTERVIEWER_MIC_FILE=answer.wav` delivers the file's frames at real-time pace
(`INTERVIEWER_MIC_SPEED=4`: four times faster) to the same callback that writes the recording and measures its
level, and the recording ends by itself with the file. While it records, stderr (when it is a terminal) shows one
updating line: a level meter, the time recorded, and the keys that stop it (`meter`, a pure function).
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import shutil
import sys
import threading
import time
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from interviewer.errors import InterviewerError
from interviewer.speech.audio import RECORDING

SAMPLE_RATE = 16000  # what speech-to-text models listen at; the device's own rate when it cannot do this
CHUNK_S = 0.1  # seconds of audio per callback
REFRESH_S = 0.1  # how often the recording line is redrawn (and keys are looked for)
METER_WIDTH = 20
FLOOR_DB = -60.0  # the quietest level the meter shows
NO_MIC = "no microphone"
MIC_FILE_ENV = "INTERVIEWER_MIC_FILE"
MIC_SPEED_ENV = "INTERVIEWER_MIC_SPEED"
ENTER = ("\r", "\n", "\x04")  # Enter (or Ctrl-D) stops


class MicrophoneUnavailable(InterviewerError):
    """No recording can be made: the message says what is missing and what to do, in one line."""


@dataclass
class Recorded:
    path: Path | None  # the WAV, or None when nothing was kept
    seconds: float
    ended: str  # enter | end (the stand-in file ended) | time (the time limit) | type (typing instead)


# ------------------------------------------------------------ the recording line (pure)


def meter_cells(level: float, width: int = METER_WIDTH) -> int:
    """How many of the meter's `width` cells a level fills: its rms (0..1 of full scale) in decibels, from
    `FLOOR_DB` (empty) to 0 dB (full)."""
    if level <= 0:
        return 0
    db = 20 * math.log10(min(level, 1.0))
    return round(width * max(0.0, min(1.0, (db - FLOOR_DB) / -FLOOR_DB)))


def meter(level: float, elapsed: float, width: int = METER_WIDTH) -> str:
    """The line shown while recording: the level meter, the time recorded (m:ss) and the keys."""
    filled = meter_cells(level, width)
    minutes, seconds = divmod(int(elapsed), 60)
    bar = "█" * filled + "░" * (width - filled)
    return f"● REC {minutes}:{seconds:02d} {bar}  Enter: stop · t: type instead"


def rms(data: bytes) -> float:
    """The loudness of 16-bit samples (native byte order): their root mean square, 0..1 of full scale."""
    samples = array("h")
    samples.frombytes(data[: len(data) - len(data) % 2])
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples)) / 32768.0


# ------------------------------------------------------------ where the audio goes


class WavSink:
    """The recording being written: each chunk (16-bit mono, native byte order) is appended to the WAV and its
    header brought up to date at once, so the file is whole however the recording stops. Also keeps the last
    chunk's level and the seconds recorded, for the meter."""

    def __init__(self, path: Path, rate: int):
        self.path, self.rate = path, rate
        self.frames = 0
        self.level = 0.0
        self.error: OSError | None = None
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(fd, "wb")
        self._wav = wave.open(self._file, "wb")  # noqa: SIM115 (open while recording; `close` closes it)
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate)

    @property
    def seconds(self) -> float:
        return self.frames / self.rate

    def write(self, data: bytes) -> None:
        """The callback both inputs deliver to."""
        if self.error is not None or self._wav is None:
            return
        self.level = rms(data)
        try:
            self._wav.writeframes(data)
            self._file.flush()
        except OSError as exc:  # the disk is full, say: the recording stops with what it has
            self.error = exc
            return
        self.frames += len(data) // 2

    def close(self) -> None:
        if self._wav is None:
            return
        with contextlib.suppress(OSError):
            self._wav.close()
        with contextlib.suppress(OSError):
            self._file.close()
        self._wav = None


# ------------------------------------------------------------ where the audio comes from


def mic_speed() -> float:
    raw = os.environ.get(MIC_SPEED_ENV, "").strip()
    if not raw:
        return 1.0
    try:
        speed = float(raw)
    except ValueError:
        speed = 0.0
    if not speed > 0 or math.isinf(speed):
        raise MicrophoneUnavailable(
            f"{MIC_SPEED_ENV}={raw}: not a speed; set it to a number above 0 (4: four times real time), or unset it"
        )
    return speed


class FileInput:
    """A WAV file standing in for the microphone: its frames (mixed down to mono) are delivered chunk by chunk at
    real-time pace, `speed` times faster, from a thread, as the microphone delivers them; `ended` is set when the
    file has all been delivered."""

    def __init__(self, path: Path, speed: float = 1.0):
        self.path, self.speed = path, speed
        self.ended = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wav = self._open(path)
        self.rate = self._wav.getframerate()
        self.channels = self._wav.getnchannels()

    @staticmethod
    def _open(path: Path):
        def unusable(reason: str) -> MicrophoneUnavailable:
            return MicrophoneUnavailable(
                f"{MIC_FILE_ENV}={path}: {reason}; point it at a 16-bit WAV file, or unset it to use the microphone"
            )

        try:
            wav = wave.open(str(path), "rb")  # noqa: SIM115 (read while recording; `stop` closes it)
        except FileNotFoundError:
            raise unusable("no such file") from None
        except OSError as exc:
            raise unusable(f"cannot read it ({exc.strerror or exc})") from None
        except (wave.Error, EOFError) as exc:
            raise unusable(f"not a WAV file that can be read ({exc or 'truncated'})") from None
        if wav.getsampwidth() != 2 or not wav.getframerate():
            wav.close()
            raise unusable(f"{8 * wav.getsampwidth()}-bit audio, not 16-bit")
        return wav

    def _mono(self, data: bytes) -> bytes:
        if self.channels == 1:
            return data
        samples = array("h")
        samples.frombytes(data)
        n = self.channels
        mixed = array("h", (sum(samples[i : i + n]) // n for i in range(0, len(samples) - n + 1, n)))
        return mixed.tobytes()

    def start(self, callback) -> None:
        self._thread = threading.Thread(target=self._feed, args=(callback,), daemon=True, name="mic-file")
        self._thread.start()

    def _feed(self, callback) -> None:
        chunk = max(1, int(self.rate * CHUNK_S))
        started, sent = time.monotonic(), 0
        try:
            while True:
                data = self._wav.readframes(chunk)
                if not data:
                    break
                sent += len(data) // (2 * self.channels)
                wait = started + sent / self.rate / self.speed - time.monotonic()
                if wait > 0 and self._stop.wait(wait):  # a chunk arrives once it has been "said"
                    break
                if self._stop.is_set():
                    break
                callback(self._mono(data))
        finally:
            self.ended.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._wav.close()


def load_sounddevice():
    """The `sounddevice` module, imported now (never before a recording); a one-line error when it cannot be."""
    try:
        import sounddevice
    except ImportError:
        raise MicrophoneUnavailable(
            f"{NO_MIC}: the audio library is not installed; pip install 'interviewer[voice]' — answer by typing"
        ) from None
    except OSError:  # sounddevice is there, the PortAudio library it loads is not
        raise MicrophoneUnavailable(
            f"{NO_MIC}: the PortAudio library is not installed (apt-get install libportaudio2, or brew "
            "install portaudio) — answer by typing"
        ) from None
    return sounddevice


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class MicrophoneInput:
    """The default input device through `sounddevice`: 16-bit mono, at `SAMPLE_RATE` when the device can, else
    at its own rate; the chunks are delivered from PortAudio's thread. Never ends by itself."""

    def __init__(self):
        self.sd = load_sounddevice()
        self.ended = threading.Event()
        self._stream: Any = None
        try:
            device = self.sd.query_devices(kind="input")
        except Exception as exc:  # PortAudioError: there is no default input device
            raise MicrophoneUnavailable(
                f"{NO_MIC}: no input device was found ({_one_line(exc)}); connect one, or set "
                f"{MIC_FILE_ENV}=answer.wav to use a recording — answer by typing"
            ) from None
        self.rate = self._rate(device)

    def _rate(self, device) -> int:
        try:
            self.sd.check_input_settings(samplerate=SAMPLE_RATE, channels=1, dtype="int16")
            return SAMPLE_RATE
        except Exception:
            return int(device["default_samplerate"])

    def start(self, callback) -> None:
        def on_audio(indata, frames, time_info, status):
            callback(bytes(indata))

        try:
            self._stream = self.sd.RawInputStream(
                samplerate=self.rate,
                channels=1,
                dtype="int16",
                blocksize=int(self.rate * CHUNK_S),
                callback=on_audio,
            )
            self._stream.start()
        except Exception as exc:  # the device is busy, gone, or refuses the format
            raise MicrophoneUnavailable(
                f"{NO_MIC}: the input device cannot be opened ({_one_line(exc)}); check it is connected and "
                "free — answer by typing"
            ) from None

    def stop(self) -> None:
        if self._stream is None:
            return
        with contextlib.suppress(Exception):
            self._stream.stop()
        with contextlib.suppress(Exception):
            self._stream.close()


def open_input() -> FileInput | MicrophoneInput:
    """The stand-in file when `INTERVIEWER_MIC_FILE` is set, else the microphone."""
    stand_in = os.environ.get(MIC_FILE_ENV, "").strip()
    if stand_in:
        return FileInput(Path(stand_in).expanduser(), mic_speed())
    return MicrophoneInput()


# ------------------------------------------------------------ keys


@contextlib.contextmanager
def key_reader(stream: IO | None = None):
    """Single keys from the terminal while the block runs, without echo or Enter: yields `poll(timeout)`, the key
    pressed within `timeout` seconds (None: wait for one), else None. Keys pressed before the block are dropped
    (an Enter pressed twice does not answer what comes next); Ctrl-C still interrupts. Off a terminal, a poll
    with a timeout finds nothing and one without reads a line (its first character, or Enter)."""
    stream = stream or sys.stdin
    try:
        fd = stream.fileno()
        terminal = os.isatty(fd)
    except (AttributeError, OSError, ValueError):
        fd, terminal = -1, False
    try:
        import select
        import termios
    except ImportError:
        terminal = False
    if not terminal:
        yield lambda timeout=None: _line_key(stream) if timeout is None else time.sleep(timeout)
        return
    saved = termios.tcgetattr(fd)
    mode = termios.tcgetattr(fd)
    mode[3] &= ~(termios.ECHO | termios.ICANON)
    mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
    termios.tcsetattr(fd, termios.TCSAFLUSH, mode)

    def poll(timeout: float | None = None) -> str | None:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return None
        data = os.read(fd, 64)
        if not data:
            return "\x04"
        if data.startswith(b"\x1b"):  # an arrow or function key: not one of ours
            return None
        return data.decode("utf-8", "ignore")[:1] or None

    try:
        yield poll
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _line_key(stream: IO) -> str:
    line = stream.readline()
    return (line.strip()[:1] or "\n") if line else "\x04"


def choose(err: IO, line: str, keys: str, stream: IO | None = None) -> str:
    """Say `line` (the choices) and wait for one of `keys` (`\\n` stands for Enter); the key, lower-cased."""
    with key_reader(stream) as poll:
        print(line, file=err, flush=True)  # once the keys pressed before are dropped
        while True:
            key = poll(None)
            key = "\n" if key in ENTER else (key or "").lower()
            if key and key in keys:
                return key


# ------------------------------------------------------------ recording


def _draw(err: IO, line: str) -> None:
    columns = shutil.get_terminal_size((80, 24)).columns
    err.write("\r" + line[: max(10, columns - 1)] + "\x1b[K")
    err.flush()


def _wait(poll, source, sink: WavSink, err: IO | None, deadline: float | None) -> str:
    """Until Enter, `t`, the stand-in's end, the deadline, or a write error; redrawing the line on `err`."""
    while True:
        if err is not None:
            _draw(err, meter(sink.level, sink.seconds))
        if sink.error is not None:
            return "error"
        if source.ended.is_set():
            return "end"
        if deadline is not None and time.monotonic() >= deadline:
            return "time"
        key = poll(REFRESH_S)
        if key in ENTER:
            return "enter"
        if key in ("t", "T"):
            return "type"


def _is_terminal(stream: IO) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


def record(
    folder: Path, err: IO | None = None, deadline: float | None = None, stdin: IO | None = None
) -> Recorded:
    """Record into a new WAV in `folder` until Enter (or the stand-in file's end, or `deadline`); `t` stops it to
    type instead, and drops it. A Ctrl-C keeps what was recorded (and says where) and goes on up."""
    err = err or sys.stderr
    source = open_input()
    path = folder / f"{RECORDING}{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}.wav"
    try:
        sink = WavSink(path, source.rate)
    except OSError as exc:
        source.stop()
        raise MicrophoneUnavailable(
            f"cannot write a recording in {folder} ({exc.strerror or exc}); check the data home — answer by typing"
        ) from None
    shown = err if _is_terminal(err) else None
    try:
        with key_reader(stdin) as poll:
            source.start(sink.write)
            try:
                ended = _wait(poll, source, sink, shown, deadline)
            finally:
                source.stop()
    except BaseException as exc:
        sink.close()
        _clear(shown)
        if sink.frames and isinstance(exc, KeyboardInterrupt):
            print(f"Recording stopped; what was recorded is kept in {path}", file=err)
        else:
            path.unlink(missing_ok=True)
        raise
    sink.close()
    _clear(shown)
    if sink.error is not None:
        path.unlink(missing_ok=True)
        raise MicrophoneUnavailable(
            f"the recording could not be written to {folder} ({sink.error.strerror or sink.error}); free some "
            "space — answer by typing"
        )
    if ended == "type" or not sink.frames:
        path.unlink(missing_ok=True)
        return Recorded(None, sink.seconds, ended)
    return Recorded(path, round(sink.seconds, 2), ended)


def _clear(err: IO | None) -> None:
    if err is not None:
        err.write("\r\x1b[K")
        err.flush()
