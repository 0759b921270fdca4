"""Answering by voice: the recording line, recording from a stand-in WAV file and from a (fake) microphone, the
one-line errors when no recording can be made, and `:voice` / `--voice` in a real pseudo-terminal session,
transcribed by the local OpenAI-protocol server."""

from __future__ import annotations

import io
import json
import os
import pty
import stat
import subprocess
import sys
import threading
import time
import types
import wave
from pathlib import Path

import pytest
from conftest import ROOT
from openai_server import FakeOpenAI, Status, Transcript
from test_interactive import rows
from test_voice import ESPEAK, needs_espeak

from interviewer.speech import microphone as mic
from interviewer.speech.microphone import MicrophoneUnavailable, meter, meter_cells, record, rms

SAID = "Attention takes the dot product of queries and keys, divides by the square root of d k, then softmax."
SUBMIT = "\x1b\r"  # Esc+Enter
PROMPT = "to submit"


@pytest.fixture(autouse=True)
def no_stand_in(monkeypatch):
    monkeypatch.delenv("INTERVIEWER_MIC_FILE", raising=False)
    monkeypatch.delenv("INTERVIEWER_MIC_SPEED", raising=False)


def tone_wav(path: Path, seconds: float = 1.0, rate: int = 8000, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x10" * channels * int(rate * seconds))
    return path


def mic_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return round(w.getnframes() / w.getframerate(), 2)


def frames(path: Path) -> tuple[tuple, bytes]:
    with wave.open(str(path), "rb") as w:
        return (w.getnchannels(), w.getsampwidth(), w.getframerate()), w.readframes(w.getnframes())


# ------------------------------------------------------------ the recording line (pure)


def test_the_meter_shows_the_level_in_decibels_the_time_and_the_keys():
    assert meter(0.0, 0) == "● REC 0:00 " + "░" * 20 + "  Enter: stop · t: type instead"
    assert meter(1.0, 65).startswith("● REC 1:05 " + "█" * 20 + "  Enter: stop")
    half = 10 ** (-30 / 20)  # -30 dBFS: half way from the -60 dB floor
    assert meter(half, 3.9) == "● REC 0:03 " + "█" * 10 + "░" * 10 + "  Enter: stop · t: type instead"
    assert meter_cells(10 ** (-70 / 20)) == 0 and meter_cells(2.0) == 20  # below the floor; clipped
    assert meter_cells(half, width=8) == 4


def test_rms_of_16_bit_samples():
    from array import array

    assert rms(b"") == 0.0
    assert rms(array("h", [16384, -16384] * 10).tobytes()) == pytest.approx(0.5)
    assert rms(array("h", [0] * 10).tobytes()) == 0.0


# ------------------------------------------------------------ the stand-in file


def test_the_stand_in_file_is_recorded_as_it_comes_into_a_private_wav(tmp_path, monkeypatch):
    source = tone_wav(tmp_path / "said.wav", seconds=3.0, rate=22050)
    monkeypatch.setenv("INTERVIEWER_MIC_FILE", str(source))
    monkeypatch.setenv("INTERVIEWER_MIC_SPEED", "10")
    folder = tmp_path / "audio"
    folder.mkdir()
    seen = []
    write = mic.WavSink.write
    monkeypatch.setattr(
        mic.WavSink, "write", lambda self, data: (seen.append(self.seconds), write(self, data))
    )
    started = time.monotonic()
    rec = record(folder, io.StringIO())
    took = time.monotonic() - started
    assert rec.ended == "end" and rec.seconds == 3.0 and rec.path.parent == folder
    assert frames(rec.path) == frames(source)  # every frame, 16-bit mono at the file's rate
    assert stat.S_IMODE(rec.path.stat().st_mode) == 0o600
    assert len(seen) == 30  # in chunks of 0.1 s, through the sink's callback
    assert 0.25 < took < 2.5  # at ten times real time (0.3 s): not at once, not at real time (3 s)


def test_a_stereo_stand_in_is_mixed_down_to_mono(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_MIC_FILE", str(tone_wav(tmp_path / "s.wav", 0.3, 8000, channels=2)))
    monkeypatch.setenv("INTERVIEWER_MIC_SPEED", "50")
    params, data = frames(record(tmp_path, io.StringIO()).path)
    assert params == (1, 2, 8000) and data == b"\x00\x10" * 2400


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, "no such file; point it at a 16-bit WAV file, or unset it"),
        (lambda p: p.write_text("not audio"), "not a WAV file that can be read"),
    ],
)
def test_a_stand_in_that_cannot_be_read_is_one_line(tmp_path, monkeypatch, setup, message):
    path = tmp_path / "x.wav"
    setup(path)
    monkeypatch.setenv("INTERVIEWER_MIC_FILE", str(path))
    with pytest.raises(MicrophoneUnavailable) as err:
        record(tmp_path, io.StringIO())
    assert message in str(err.value) and "\n" not in str(err.value)
    assert list(tmp_path.glob("recording-*")) == []


def test_a_bad_speed_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_MIC_FILE", str(tone_wav(tmp_path / "s.wav")))
    monkeypatch.setenv("INTERVIEWER_MIC_SPEED", "fast")
    with pytest.raises(MicrophoneUnavailable, match="INTERVIEWER_MIC_SPEED=fast: not a speed"):
        record(tmp_path, io.StringIO())


def keep_pressing(master: int, key: bytes, every: float = 0.3) -> threading.Event:
    """Press `key` on the terminal every `every` seconds until the event is set (a key pressed before the
    recording is listening is dropped, as it should be, however slow the machine is)."""
    done = threading.Event()

    def press():
        while not done.wait(every):
            os.write(master, key)

    threading.Thread(target=press, daemon=True).start()
    return done


def test_enter_in_the_terminal_stops_the_recording(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_MIC_FILE", str(tone_wav(tmp_path / "long.wav", seconds=20)))
    master, slave = pty.openpty()
    with open(slave, "rb", buffering=0) as terminal:
        pressing = keep_pressing(master, b"\r")
        rec = record(tmp_path, io.StringIO(), stdin=terminal)
        pressing.set()
    os.close(master)
    assert rec.ended == "enter" and 0 < rec.seconds <= 5 and frames(rec.path)[0] == (1, 2, 8000)


def test_t_stops_the_recording_to_type_instead_and_drops_it(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_MIC_FILE", str(tone_wav(tmp_path / "long.wav", seconds=20)))
    folder = tmp_path / "audio"
    folder.mkdir()
    master, slave = pty.openpty()
    with open(slave, "rb", buffering=0) as terminal:
        pressing = keep_pressing(master, b"t")
        rec = record(folder, io.StringIO(), stdin=terminal)
        pressing.set()
    os.close(master)
    assert rec.ended == "type" and rec.path is None and list(folder.iterdir()) == []


def test_ctrl_c_keeps_what_was_recorded_as_a_whole_wav(tmp_path, monkeypatch):
    import _thread

    monkeypatch.setenv("INTERVIEWER_MIC_FILE", str(tone_wav(tmp_path / "long.wav", seconds=20)))
    folder = tmp_path / "audio"
    folder.mkdir()
    err = io.StringIO()
    threading.Timer(1.0, _thread.interrupt_main).start()
    with pytest.raises(KeyboardInterrupt):
        record(folder, err)
    (kept,) = folder.iterdir()
    params, data = frames(kept)  # the header is brought up to date with every chunk
    assert params == (1, 2, 8000) and 0 < len(data) / 2 / 8000 <= 5
    assert f"what was recorded is kept in {kept}" in err.getvalue()


# ------------------------------------------------------------ the microphone (sounddevice)


class FakeStream:
    """sounddevice.RawInputStream: chunks of a tone from a thread, as PortAudio delivers them."""

    def __init__(self, samplerate, channels, dtype, blocksize, callback):
        assert channels == 1 and dtype == "int16"
        self.rate, self.blocksize, self.callback = samplerate, blocksize, callback
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        block = memoryview(b"\x00\x08" * self.blocksize)
        while not self.stopped.wait(self.blocksize / self.rate / 10):
            self.callback(block, self.blocksize, None, None)

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopped.set()
        self.thread.join()

    def close(self):
        pass


def fake_sounddevice(monkeypatch, device: bool = True, rate_16k: bool = True):
    sd = types.ModuleType("sounddevice")

    def query_devices(kind=None):
        if not device:
            raise RuntimeError("Error querying device -1")
        return {"name": "fake", "default_samplerate": 48000.0}

    def check_input_settings(samplerate=None, channels=None, dtype=None):
        if not rate_16k:
            raise RuntimeError("Invalid sample rate")

    sd.query_devices, sd.check_input_settings, sd.RawInputStream = (
        query_devices,
        check_input_settings,
        FakeStream,
    )
    monkeypatch.setitem(sys.modules, "sounddevice", sd)


@pytest.mark.parametrize(("rate_16k", "rate"), [(True, 16000), (False, 48000)])
def test_the_microphone_is_recorded_through_the_same_sink(tmp_path, monkeypatch, rate_16k, rate):
    fake_sounddevice(monkeypatch, rate_16k=rate_16k)
    rec = record(tmp_path, io.StringIO(), deadline=time.monotonic() + 0.3)  # the time limit stops it
    params, data = frames(rec.path)
    assert rec.ended == "time" and params == (1, 2, rate) and data and set(data[1::2]) == {8}


def test_without_the_audio_library_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # `import sounddevice` fails
    folder = tmp_path / "audio"
    folder.mkdir()
    with pytest.raises(MicrophoneUnavailable) as err:
        record(folder, io.StringIO())
    assert str(err.value) == (
        "no microphone: the audio library is not installed; pip install 'interviewer[voice]' — answer by typing"
    )
    assert list(folder.iterdir()) == []


def test_without_portaudio_the_error_says_so(tmp_path, monkeypatch):
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n", encoding="utf-8")
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.syspath_prepend(str(shim))
    with pytest.raises(MicrophoneUnavailable, match="the PortAudio library is not installed"):
        record(tmp_path, io.StringIO())


def test_without_an_input_device_the_error_says_so(tmp_path, monkeypatch):
    fake_sounddevice(monkeypatch, device=False)
    with pytest.raises(MicrophoneUnavailable) as err:
        record(tmp_path, io.StringIO())
    assert str(err.value).startswith("no microphone: no input device was found (Error querying device -1)")
    assert "INTERVIEWER_MIC_FILE" in str(err.value) and "answer by typing" in str(err.value)


@pytest.mark.slow
def test_help_and_an_offline_session_never_import_sounddevice(tmp_path, home):
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sounddevice.py").write_text("raise SystemExit('sounddevice was imported')\n", encoding="utf-8")
    env = {**os.environ, "INTERVIEWER_HOME": str(home), "PYTHONPATH": str(shim)}
    answers = tmp_path / "a.txt"
    answers.write_text("并行计算\n", encoding="utf-8")
    for args in (["--help"], ["start", "--help"], ["start", "-n", "1", "--answers", str(answers)]):
        r = subprocess.run(
            [sys.executable, "-m", "interviewer", *args], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert r.returncode == 0 and "sounddevice was imported" not in r.stderr, (args, r.stderr)


def test_voice_with_scripted_answers_is_a_usage_error(cli, tmp_path):
    answers = tmp_path / "a.txt"
    answers.write_text("并行计算\n", encoding="utf-8")
    r = cli("start", "-n", "1", "--voice", "--answers", str(answers))
    assert r.exit_code == 2 and "--voice records answers at the terminal" in r.stderr


# ------------------------------------------------------------ in a real pseudo-terminal


@pytest.fixture
def stt():
    with FakeOpenAI() as server:
        server.transcription_default = Transcript(SAID)
        yield server


@pytest.fixture
def spoken(tmp_path) -> Path:
    path = tmp_path / "said.wav"
    subprocess.run([ESPEAK, "-w", str(path), SAID], check=True, capture_output=True, timeout=30)
    return path


@pytest.fixture
def spawn(home, stt):
    """`interviewer ARGS` in a pseudo-terminal, transcribing on the local server; `mic`: the stand-in WAV."""
    import pexpect

    children = []

    def run(*args, mic: Path | None = None, speed: str = "4", env: dict | None = None):
        full = {**os.environ, "INTERVIEWER_HOME": str(home), "NO_COLOR": "1", "TERM": "xterm"}
        full |= {"INTERVIEWER_RETRIES": "1", "INTERVIEWER_MIC_SPEED": speed} | (env or {})
        if mic is not None:
            full["INTERVIEWER_MIC_FILE"] = str(mic)
        stt_args = ["--stt-model", "openai/whisper-1", "--stt-api-base", stt.base_url]
        child = pexpect.spawn(
            sys.executable, ["-m", "interviewer", *args, *stt_args], env=full, cwd=str(ROOT), encoding="utf-8",
            timeout=30, dimensions=(40, 160),
        )  # fmt: skip
        children.append(child)
        return child

    yield run
    for c in children:
        c.terminate(force=True)


def spoken_turns(home):
    return rows(
        home,
        """SELECT t.answer, a.path, a.status, json_extract(a.transcript_json, '$.text'), a.duration_s
           FROM turns t LEFT JOIN audio a ON a.turn_id = t.id ORDER BY t.idx, t.attempt""",
    )


def finish(child, retry_prompts: int = 1):
    import pexpect

    for _ in range(retry_prompts):
        child.expect(":retry")
        child.send("\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


@pytest.mark.slow
@needs_espeak
def test_voice_is_transcribed_shown_accepted_and_graded(spawn, spoken, stt, home):
    child = spawn("start", "-n", "1", "--order", "bank", "--follow-ups", "0", mic=spoken)
    child.expect("Question 1/1")
    child.expect(PROMPT)
    child.send(":voice\r")
    child.expect("REC 0:0")  # the recording line
    child.expect("Enter: stop")
    child.expect("Transcript: Attention takes the dot product")
    child.expect("Enter: submit · e: edit · r: record again · t: type instead")
    child.send("\r")
    child.expect("Score:")
    finish(child)
    ((answer, path, status, transcript, duration),) = spoken_turns(home)
    assert answer == SAID and status == "transcribed" and transcript == SAID
    kept = Path(path)
    assert kept.parent == home / "audio" and stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert frames(kept) == frames(spoken) and duration == mic_seconds(spoken)
    assert list((home / "audio").iterdir()) == [kept]  # the recording itself went once the turn had its copy
    (upload,) = stt.transcriptions
    assert upload["files"]["file"][1] == kept.read_bytes()
    ((grade,),) = rows(home, "SELECT grade_json FROM grades")
    assert json.loads(grade)["status"] == "graded"


@pytest.mark.slow
@needs_espeak
def test_voice_then_edit_grades_the_edited_text_and_keeps_the_audio(spawn, spoken, home):
    child = spawn("start", "-n", "1", "--order", "bank", "--follow-ups", "0", mic=spoken)
    child.expect(PROMPT)
    child.send(":voice\r")
    child.expect("Transcript: ")
    child.expect("e: edit")
    child.send("e")
    child.expect(PROMPT)
    child.expect("then softmax")  # the transcript, in the editor to be finished
    child.send(" Then it multiplies by V." + SUBMIT)
    child.expect("Score:")
    finish(child)
    ((answer, path, status, transcript, _),) = spoken_turns(home)
    assert answer == SAID + " Then it multiplies by V." and transcript == SAID and status == "transcribed"
    assert Path(path).is_file()


@pytest.mark.slow
@needs_espeak
def test_a_voice_session_records_every_answer_and_t_types_instead(spawn, spoken, home):
    child = spawn(
        "start", "-n", "2", "--order", "bank", "--follow-ups", "0", "--voice", mic=spoken, speed="2"
    )
    child.expect("Question 1/2")
    child.expect("Enter: stop")  # recording at once, no prompt first
    child.expect("Transcript: ")
    child.expect("Enter: submit")
    child.send("\r")
    child.expect("Score:")
    child.expect(":retry")
    child.send("\r")
    child.expect("Question 2/2")
    child.expect("Enter: stop")
    child.send("t")  # type instead (while recording, or at the choice if the file has ended)
    child.expect(PROMPT)
    child.send("残差连接让梯度直接回传，LayerNorm 控制尺度。" + SUBMIT)
    child.expect("Score:")
    finish(child)
    (first, second) = spoken_turns(home)
    assert first[0] == SAID and first[2] == "transcribed"
    assert second == ("残差连接让梯度直接回传，LayerNorm 控制尺度。", None, None, None, None)
    assert len(list((home / "audio").iterdir())) == 1


@pytest.mark.slow
@needs_espeak
def test_a_follow_up_can_be_answered_by_voice(spawn, spoken, home):
    child = spawn("start", "-n", "1", "--order", "bank", "--follow-ups", "1", mic=spoken)
    child.expect(PROMPT)
    child.send("Transformer 可以并行计算。" + SUBMIT)
    child.expect("Follow-up")
    child.expect(PROMPT)
    child.send(":voice\r")
    child.expect("Transcript: ")
    child.expect("Enter: submit")
    child.send("\r")
    child.expect("Score:")
    finish(child)
    assert rows(home, "SELECT answer FROM follow_ups") == [(SAID,)]
    assert rows(home, "SELECT COUNT(*) FROM audio") == [(0,)]  # a follow-up keeps its transcript only
    assert list((home / "audio").iterdir()) == []


@pytest.mark.slow
@needs_espeak
def test_a_failed_transcription_keeps_the_recording_pending_for_resume(spawn, spoken, stt, home, cli):
    import pexpect

    stt.transcription_default = Status(500)
    child = spawn(
        "start", "-n", "1", "--order", "bank", "--mode", "interview", "--follow-ups", "0", mic=spoken
    )
    child.expect(PROMPT)
    child.send(":voice\r")
    child.expect(r"transcription failed \(server")
    child.expect("Enter: keep the recording untranscribed")
    child.send("\r")
    child.expect("unfinished")
    child.expect(pexpect.EOF)
    ((answer, path, status, transcript, _),) = spoken_turns(home)
    assert answer == "" and status == "pending" and transcript is None and Path(path).is_file()
    stt.transcription_default = Transcript(SAID)
    r = cli("resume", "--stt-model", "openai/whisper-1", "--stt-api-base", stt.base_url)
    assert r.exit_code == 0, r
    ((answer, _, status, _, _),) = spoken_turns(home)
    assert answer == SAID and status == "transcribed"


@pytest.mark.slow
def test_without_the_audio_library_voice_says_so_once_and_answers_are_typed(spawn, home, tmp_path):
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sounddevice.py").write_text(
        "raise ImportError('No module named sounddevice')\n", encoding="utf-8"
    )
    env = {"PYTHONPATH": str(shim)}  # no stand-in: the microphone itself is tried, and cannot be had
    child = spawn("start", "-n", "2", "--order", "bank", "--follow-ups", "0", "--voice", env=env)
    child.expect("Question 1/2")
    child.expect("no microphone: the audio library is not installed; pip install 'interviewer\\[voice\\]'")
    child.expect(PROMPT)
    child.send("Transformer 可以并行计算。" + SUBMIT)
    child.expect("Score:")
    child.expect(":retry")
    child.send("\r")
    child.expect("Question 2/2")
    child.expect(PROMPT)
    assert "no microphone" not in child.before  # said once: the session goes on typed
    child.send(":voice\r")  # asked for, it is said again, and the prompt goes on
    child.expect("no microphone: the audio library is not installed")
    child.expect(PROMPT)
    child.send("残差连接让梯度直接回传。" + SUBMIT)
    child.expect("Score:")
    finish(child)
    assert [a for a, *_ in spoken_turns(home)] == ["Transformer 可以并行计算。", "残差连接让梯度直接回传。"]
    assert rows(home, "SELECT COUNT(*) FROM audio") == [(0,)]


def test_whatever_is_being_read_aloud_is_stopped_before_a_recording(tmp_path, monkeypatch, home):
    from interviewer.ui import InteractiveSource

    monkeypatch.setenv("INTERVIEWER_MIC_FILE", str(tone_wav(tmp_path / "said.wav", 0.3)))
    monkeypatch.setenv("INTERVIEWER_MIC_SPEED", "10")
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))  # Enter keeps the recording
    hushed = []
    source = InteractiveSource(err=io.StringIO(), home=home, before_recording=lambda: hushed.append(1))
    action, said = source._speak(None, follow_up=False)
    assert hushed == [1]
    assert action == "submit" and Path(said.audio).parent == home / "audio"
