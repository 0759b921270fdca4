"""Spoken answers: delivery signals, transcription through the local OpenAI-protocol server, scripted sessions of
audio files (made with espeak-ng), a failed or killed transcription resumed, and `grade --answer-file`."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import wave
from pathlib import Path

import pytest
from openai_server import FakeOpenAI, Hang, Status, Transcript

from interviewer.speech.delivery import (
    count_fillers,
    count_units,
    delivery_signals,
    format_delivery,
    long_pauses,
)

ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(
    ESPEAK is None, reason="espeak-ng is not installed (apt-get install espeak-ng)"
)

SPOKEN = {
    "a1": ("Attention takes the dot product of queries and keys, um, divides by the square root of d k, "
           "applies softmax and multiplies by the values."),
    "a2": "Like, I think layer normalization, um, keeps the activations stable.",
}  # fmt: skip


# ------------------------------------------------------------ delivery signals (pure)


def test_fillers_counted_in_chinese_and_as_whole_english_words():
    assert count_fillers("嗯，那个，就是说 attention 嗯") == {"嗯": 2, "那个": 1, "就是": 1}
    assert count_fillers("Um, I like it, like, a lot. Umbrella unlike") == {"um": 1, "like": 2}


def test_units_are_words_or_cjk_characters():
    assert count_units("scaled dot-product attention") == (3, "words")
    assert count_units("缩放点积注意力 QK") == (8, "chars")


def test_long_pauses_are_gaps_between_segments():
    assert long_pauses([(0, 1), (1.5, 3), (6.2, 7), (9.0, 9.5)]) == [3.2, 2.0]
    assert long_pauses([]) == []


def test_signals_and_their_line():
    d = delivery_signals("um so like attention um", 30.0, [(0, 10), (14, 30)])
    assert d["speaking_time_s"] == 30.0 and d["words"] == 5 and d["per_minute"] == 10.0
    assert d["long_pauses"] == 1 and d["longest_pause_s"] == 4.0
    assert d["fillers"] == {"um": 2, "like": 1} and d["fillers_per_minute"] == 6.0
    line = format_delivery(d)
    assert line.startswith("Delivery: 30 s · 10 words/min · 1 long pause (longest 4 s)") and "um 2" in line
    unknown = delivery_signals("嗯 好", None)
    assert unknown["per_minute"] is None and unknown["long_pauses"] is None
    assert "fillers: 嗯 1" in format_delivery(unknown)


# ------------------------------------------------------------ helpers


def tone_wav(path: Path, seconds: float = 1.0) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x10" * int(8000 * seconds))
    return path


def speak(text: str, path: Path) -> Path:
    subprocess.run([ESPEAK, "-w", str(path), text], check=True, capture_output=True, timeout=30)
    return path


def by_audio(texts: dict[bytes, str]):
    """A transcription default that knows each uploaded file by its bytes, with timed segments."""

    def step(record):
        _, data = record["files"]["file"]
        text = texts[hashlib.sha256(data).hexdigest().encode()]
        return Transcript(text, segments=[(0.0, 2.0, text[:20]), (4.5, 6.0, text[20:])], duration=6.0)

    return step


def digest(path: Path) -> bytes:
    return hashlib.sha256(path.read_bytes()).hexdigest().encode()


@pytest.fixture
def stt(monkeypatch):
    with FakeOpenAI() as server:
        monkeypatch.setenv("INTERVIEWER_STT_API_BASE", server.base_url)
        monkeypatch.setenv("INTERVIEWER_STT_MODEL", "openai/whisper-1")
        monkeypatch.setenv("INTERVIEWER_RETRIES", "1")
        yield server


# ------------------------------------------------------------ the transcriber on the local server


def test_transcriber_retries_a_server_error_and_reads_segments(stt, tmp_path):
    from interviewer.speech.transcribe import LiteLLMTranscriber

    audio = tone_wav(tmp_path / "a.wav")
    stt.script_transcription(
        Status(503), Transcript("hello there", segments=[(0, 1, "hello"), (3.5, 4, "there")])
    )
    t = LiteLLMTranscriber("openai/whisper-1", stt.base_url, retries=2, backoff=0.01).transcribe(audio)
    assert t.text == "hello there" and t.segments[1] == (3.5, 4.0, "there")
    first, second = stt.transcriptions
    assert second["form"]["model"] == "whisper-1" and second["form"]["response_format"] == "verbose_json"
    assert second["files"]["file"][1] == audio.read_bytes()


def test_transcriber_gives_up_with_the_error_kind(stt, tmp_path):
    from interviewer.grading.chat import CallError
    from interviewer.speech.transcribe import LiteLLMTranscriber

    stt.transcription_default = Status(401)
    with pytest.raises(CallError) as err:
        LiteLLMTranscriber("openai/whisper-1", stt.base_url, retries=3, backoff=0.01).transcribe(
            tone_wav(tmp_path / "a.wav")
        )
    assert err.value.kind == "auth" and len(stt.transcriptions) == 1  # not retried


# ------------------------------------------------------------ grade --answer-file


def test_grade_an_audio_answer_file(cli, stt, tmp_path):
    audio = tone_wav(tmp_path / "answer.wav", seconds=12.0)
    stt.transcription_default = Transcript(
        "先算 QK^T，再除以 √d_k，嗯，softmax 后乘 V。", segments=[(0, 4, "先算"), (7, 12, "后乘 V")]
    )
    r = cli("grade", "-q", "2.1", "--answer-file", str(audio), "--json")
    assert r.exit_code == 0, r
    out = json.loads(r.stdout)
    assert out["status"] == "graded" and out["transcript"]["text"].startswith("先算")
    assert out["delivery"]["speaking_time_s"] == 12.0  # from the WAV itself
    assert out["delivery"]["long_pauses"] == 1 and out["delivery"]["fillers"] == {"嗯": 1}
    text = cli("grade", "-q", "2.1", "--answer-file", str(audio))
    assert "Transcript: 先算" in text.stdout and "Delivery: 12 s" in text.stdout


def test_grade_an_audio_file_whose_transcription_fails(cli, stt, tmp_path):
    stt.transcription_default = Status(500)
    r = cli("grade", "-q", "2.1", "--answer-file", str(tone_wav(tmp_path / "a.wav")))
    assert r.exit_code == 1 and "transcription failed (server" in r.stderr


# ------------------------------------------------------------ spoken sessions


def scripted_audio(tmp_path: Path) -> tuple[Path, dict[bytes, str]]:
    """An answers file naming two WAVs spoken by espeak-ng, and what each says."""
    folder = tmp_path / "spoken"
    folder.mkdir()
    texts = {}
    for name, text in SPOKEN.items():
        texts[digest(speak(text, folder / f"{name}.wav"))] = text
    answers = folder / "answers.jsonl"
    answers.write_text(
        '{"question_id": "2.1", "audio": "a1.wav"}\n{"question_id": "2.2", "audio": "a2.wav"}\n',
        encoding="utf-8",
    )
    return answers, texts


@needs_espeak
@pytest.mark.parametrize("mode", ["practice", "interview"])
def test_a_spoken_session_is_transcribed_graded_and_exported(cli, stt, tmp_path, home, mode):
    answers, texts = scripted_audio(tmp_path)
    stt.transcription_default = by_audio(texts)
    r = cli("start", "--answers", str(answers), "--mode", mode)
    assert r.exit_code == 0, r
    assert "Delivery: " in r.stdout and "words/min" in r.stdout
    data = json.loads(cli("export", "--last", "--format", "json").stdout)
    assert data["status"] == "finished"
    for t, spoken in zip(data["turns"], SPOKEN.values(), strict=True):
        assert t["answer"] == spoken and t["grade"]["status"] == "graded"
        audio = t["audio"]
        assert audio["status"] == "transcribed" and audio["transcript"]["segments"]
        assert audio["delivery"]["speaking_time_s"] > 2 and audio["delivery"]["long_pauses"] == 1
        assert audio["delivery"]["fillers"]["um"] == 1 and t["grade"]["delivery"] == audio["delivery"]
        kept = Path(audio["path"])
        assert kept.parent == home / "audio" and stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "audio").stat().st_mode) == 0o700
    md = cli("export", "--last", "--format", "md").stdout
    assert "Spoken answer (a1.wav). Delivery: " in md and SPOKEN["a1"] in md
    html = cli("export", "--last", "--format", "html").stdout
    assert "Spoken answer (a2.wav)" in html


def test_a_failed_transcription_leaves_the_turn_pending_and_resume_transcribes_it(cli, stt, tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    tone_wav(folder / "one.wav", 3.0)
    (folder / "answers.txt").write_text("one.wav\n", encoding="utf-8")
    stt.transcription_default = Status(503)
    r = cli("start", "--answers", str(folder / "answers.txt"), "-n", "1", "--mode", "interview")
    assert r.exit_code == 0, r
    data = json.loads(cli("export", "--last", "--format", "json").stdout)
    turn = data["turns"][0]
    assert data["status"] == "active" and turn["answer"] == "" and turn["audio"]["status"] == "pending"
    assert turn["grade"]["status"] == "ungraded" and "transcription failed (server" in turn["grade"]["error"]
    assert "transcription failed" in turn["audio"]["error"] and Path(turn["audio"]["path"]).is_file()
    stt.transcription_default = Transcript("先算 QK^T，再除以 √d_k，softmax 后乘 V。")
    r = cli("resume")
    assert r.exit_code == 0, r
    data = json.loads(cli("export", "--last", "--format", "json").stdout)
    turn = data["turns"][0]
    assert data["status"] == "finished" and turn["answer"].startswith("先算")
    assert turn["grade"]["status"] == "graded" and turn["audio"]["delivery"]["speaking_time_s"] == 3.0


@pytest.mark.slow
def test_a_killed_transcription_resumes(cli, stt, tmp_path, home):
    folder = tmp_path / "s"
    folder.mkdir()
    tone_wav(folder / "one.wav", 2.0)
    (folder / "answers.txt").write_text("one.wav\n", encoding="utf-8")
    stt.script_transcription(Hang(60))
    env = {**os.environ, "INTERVIEWER_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "interviewer", "start", "--answers", str(folder / "answers.txt"), "-n", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        assert stt.wait_for_requests(1, timeout=60), "the transcription was never sent"
        kept = list((home / "audio").iterdir())
        assert (
            len(kept) == 1 and kept[0].read_bytes() == (folder / "one.wav").read_bytes()
        )  # saved before sent
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    stt.transcription_default = Transcript("先算 QK^T，再除以 √d_k，softmax 后乘 V。")
    deadline = time.monotonic() + 10
    while True:  # the killed process's lock goes with it
        r = cli("resume")
        if r.exit_code == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.exit_code == 0, r
    data = json.loads(cli("export", "--last", "--format", "json").stdout)
    assert data["status"] == "finished" and data["turns"][0]["grade"]["status"] == "graded"
    assert data["turns"][0]["answer"].startswith("先算")


def test_scripted_audio_that_is_missing_is_an_input_error(cli, tmp_path):
    answers = tmp_path / "answers.txt"
    answers.write_text("missing.m4a\n---\ntyped answer\n", encoding="utf-8")
    r = cli("start", "--answers", str(answers))
    assert r.exit_code == 2 and "audio file not found" in r.stderr


def test_the_graders_key_goes_to_a_speech_endpoint_only_on_the_graders_own_server():
    from interviewer.speech.transcribe import own_key

    grader = {"api_key": "sk-grader", "api_base": "http://127.0.0.1:8000/v1"}
    assert own_key({**grader, "stt_api_base": "http://127.0.0.1:8000/v1"}, "stt") == "sk-grader"
    assert own_key({**grader, "stt_api_base": "http://stt.example/v1"}, "stt") is None
    assert (
        own_key({**grader, "tts_api_base": "http://tts.example/v1", "tts_api_key": "sk-tts"}, "tts")
        == "sk-tts"
    )
    assert own_key({**grader}, "stt") is None  # a hosted STT model reads its provider's key, as litellm does
