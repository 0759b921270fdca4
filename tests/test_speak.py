"""Questions read aloud (`--speak`): the speech API through the local OpenAI-protocol server and espeak-ng, saved
as WAV files in INTERVIEWER_SPEAK_TO; a slow server never holds up the prompt; a new question stops the one still
playing; failures are one line and the session goes on; litellm stays off the start-up path."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import wave
from pathlib import Path

import pytest
from conftest import ROOT
from openai_server import FakeOpenAI, Hang, Speech, Status, tone_wav
from test_startup import run_probe
from test_voice import needs_espeak

from interviewer.speech.speak import (
    LiteLLMSpeech,
    Player,
    Saver,
    Speaker,
    espeak_voice,
    find_player,
    spoken_text,
)

TTS_VARS = ("INTERVIEWER_TTS_MODEL", "INTERVIEWER_TTS_API_BASE", "INTERVIEWER_TTS_API_KEY", "INTERVIEWER_TTS_VOICE",
            "INTERVIEWER_SPEAK_TO")  # fmt: skip
FAILED = "could not read the question aloud"
PER_CHAR = Speech().seconds_per_char


@pytest.fixture(autouse=True)
def no_tts_settings(monkeypatch):
    for var in TTS_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def tts(monkeypatch):
    """The speech API on the local server."""
    with FakeOpenAI() as server:
        monkeypatch.setenv("INTERVIEWER_TTS_MODEL", "openai/tts-1")
        monkeypatch.setenv("INTERVIEWER_TTS_API_BASE", server.base_url)
        monkeypatch.setenv("INTERVIEWER_TIMEOUT", "10")
        yield server


@pytest.fixture
def spoken(tmp_path, monkeypatch) -> Path:
    """Where the spoken questions are saved."""
    folder = tmp_path / "spoken"
    monkeypatch.setenv("INTERVIEWER_SPEAK_TO", str(folder))
    return folder


@pytest.fixture
def fake_player(tmp_path, monkeypatch) -> Path:
    """A `paplay` on PATH that writes its pid and the size of the file it was given to a log, then plays for 30 s
    (sleeps); returns the log."""
    folder = tmp_path / "bin"
    folder.mkdir()
    log = tmp_path / "played.log"
    player = folder / "paplay"
    player.write_text(f'#!/bin/sh\necho "$$ $(wc -c < "$1")" >> {log}\nexec sleep 30\n', encoding="utf-8")
    player.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return log


def answers_file(tmp_path: Path, *answers: str) -> Path:
    path = tmp_path / f"answers-{len(answers)}.txt"
    path.write_text("\n---\n".join(answers) + "\n", encoding="utf-8")
    return path


def wavs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.wav")) if folder.is_dir() else []


def seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def speak_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if "aloud" in ln]


class Instant:
    """A backend that has the audio at once."""

    def __init__(self):
        self.texts: list[str] = []

    def synthesize(self, text: str) -> bytes:
        self.texts.append(text)
        return tone_wav(0.2)


# ------------------------------------------------------------ pure


def test_the_voice_follows_the_text_then_the_session_language():
    assert espeak_voice("为什么要除以 √d_k？") == "cmn"
    assert espeak_voice("Why divide by the square root of d_k?", "zh") == "en"
    assert espeak_voice("1 + 1", "zh") == "cmn" and espeak_voice("1 + 1", "en") == "en"


def test_markup_is_not_read_out():
    assert spoken_text("What does `softmax(QK^T)` do?\n**Explain** $d_k$.") == (
        "What does softmax(QK^T) do? Explain d_k ."
    )


def test_the_first_player_installed_is_used():
    installed = {"aplay": "/usr/bin/aplay", "ffplay": "/usr/bin/ffplay"}
    assert find_player(installed.get) == ["/usr/bin/aplay", "-q"]
    assert find_player({"ffplay": "/bin/ffplay"}.get) == [
        "/bin/ffplay", "-nodisp", "-autoexit", "-loglevel", "quiet"
    ]  # fmt: skip
    assert find_player({}.get) is None


# ------------------------------------------------------------ the speech API, saved


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_each_question_is_synthesized_and_saved_as_a_numbered_wav(cli, tts, spoken, tmp_path, lang):
    r = cli("start", "-n", "2", "--order", "bank", "--lang", lang, "--speak",
            "--answers", str(answers_file(tmp_path, "one", "two")))  # fmt: skip
    assert r.exit_code == 0, r
    assert speak_lines(r.stderr) == []
    turns = json.loads(cli("export", "--last", "--format", "json").stdout)["turns"]
    said = [spoken_text(t["question"]["text"]) for t in turns]
    sent = [s["json"] for s in tts.speeches]
    assert [s["input"] for s in sent] == said  # the edition the session printed
    assert {(s["model"], s["voice"], s["response_format"]) for s in sent} == {("tts-1", "alloy", "wav")}
    files = wavs(spoken)
    assert [f.name for f in files] == [f"{i + 1:03d}-{t['question']['id']}.wav" for i, t in enumerate(turns)]
    for f, text in zip(files, said, strict=True):
        assert seconds(f) == pytest.approx(max(0.1, len(text) * PER_CHAR), abs=0.01)


def test_follow_ups_are_spoken_too(cli, tts, spoken, tmp_path):
    answers = answers_file(tmp_path, "先算 Q 乘 K 的转置，然后 softmax，再乘 V。", "不知道")
    r = cli("start", "-n", "1", "--section", "2", "--order", "bank", "--follow-ups", "1", "--speak",
            "--answers", str(answers))  # fmt: skip
    assert r.exit_code == 0, r
    turn = json.loads(cli("export", "--last", "--format", "json").stdout)["turns"][0]
    assert [s["json"]["input"] for s in tts.speeches] == [
        spoken_text(turn["question"]["text"]),
        spoken_text(turn["follow_ups"][0]["question"]),
    ]
    qid = turn["question"]["id"]
    assert [f.name for f in wavs(spoken)] == [f"001-{qid}.wav", f"002-{qid}-follow-up.wav"]


def test_resume_speaks_too_and_numbers_on(cli, tts, spoken, tmp_path):
    r = cli("start", "-n", "2", "--order", "bank", "--speak", "--answers", str(answers_file(tmp_path, "one")))
    assert r.exit_code == 0, r
    assert len(wavs(spoken)) == 2  # the second question was asked (and said) when the answers ran out
    r = cli("resume", "--speak", "--answers", str(answers_file(tmp_path, "two")))
    assert r.exit_code == 0, r
    names = [f.name for f in wavs(spoken)]
    assert len(names) == 3 and names[2].startswith("003-") and names[2][4:] == names[1][4:]
    assert json.loads(cli("export", "--last", "--format", "json").stdout)["status"] == "finished"


def test_the_tts_key_is_used_never_stored_and_never_shown(cli, tts, spoken, tmp_path, monkeypatch):
    key = "sk-tts-Qw8Er5Ty2Ui9Op"
    monkeypatch.setenv("INTERVIEWER_TTS_API_KEY", key)
    r = cli("start", "-n", "1", "--speak", "--answers", str(answers_file(tmp_path, "one")))
    assert r.exit_code == 0, r
    assert tts.speeches[0]["headers"]["authorization"] == f"Bearer {key}"
    tts.speech_default = Status(401, body={"error": {"message": f"Incorrect API key provided: {key}."}})
    r = cli("start", "-n", "1", "--speak", "--answers", str(answers_file(tmp_path, "one")))
    assert r.exit_code == 0 and len(speak_lines(r.stderr)) == 1, r
    for name in ("json", "md", "html"):
        assert key[6:14] not in cli("export", "--last", "--format", name).stdout
    assert key[6:14] not in r.stderr + r.stdout


# ------------------------------------------------------------ espeak-ng, saved


@needs_espeak
def test_espeak_ng_speaks_when_no_tts_model_is_set(cli, spoken, tmp_path):
    r = cli(
        "start", "-n", "2", "--order", "bank", "--speak", "--answers", str(answers_file(tmp_path, "一", "二"))
    )
    assert r.exit_code == 0, r
    assert speak_lines(r.stderr) == []
    files = wavs(spoken)
    assert len(files) == 2
    for f in files:
        with wave.open(str(f), "rb") as w:
            assert w.getframerate() == 22050 and w.getnframes() / w.getframerate() > 0.5


# ------------------------------------------------------------ never in the way


def test_say_returns_at_once_when_the_server_is_slow(tts, tmp_path):
    tts.speech_default = Hang(3)
    speaker = Speaker(LiteLLMSpeech("openai/tts-1", tts.base_url, timeout=10), Saver(tmp_path / "s"), True)
    started = time.monotonic()
    speaker.say("What is attention?", "2.1")
    speaker.say("Why divide by the square root of d_k?", "2.2")
    assert time.monotonic() - started < 1.0  # not the 3 s the server takes (margins for a busy machine)
    started = time.monotonic()
    speaker.close(wait=False)
    assert time.monotonic() - started < 1.5 and speaker.notes() == []


def test_a_slow_server_does_not_slow_a_session(cli, tts, fake_player, tmp_path):
    answers = answers_file(tmp_path, "one", "two", "three")
    started = time.monotonic()
    assert cli("start", "-n", "3", "--answers", str(answers)).exit_code == 0
    silent = time.monotonic() - started
    tts.speech_default = Speech(latency=3)
    started = time.monotonic()
    r = cli("start", "-n", "3", "--speak", "--answers", str(answers))
    assert r.exit_code == 0, r
    assert time.monotonic() - started < silent + 2.5  # never the 3 s a question takes to synthesize
    assert speak_lines(r.stderr) == []


def test_a_new_text_stops_the_one_playing_and_closing_stops_the_last(fake_player):
    backend = Instant()
    speaker = Speaker(backend, Player([shutil.which("paplay")]))
    played = lambda: fake_player.read_text().split("\n")[:-1] if fake_player.exists() else []  # noqa: E731
    speaker.say("The first question.")
    assert wait_for(lambda: len(played()) == 1)
    speaker.say("The second question.")
    assert wait_for(lambda: len(played()) == 2)
    first, second = (int(line.split()[0]) for line in played())
    assert int(played()[0].split()[1]) == len(tone_wav(0.2))  # the player was given the audio
    assert wait_for(lambda: not alive(first), 2.0)
    assert alive(second)
    speaker.close()
    assert not alive(second)
    assert backend.texts == ["The first question.", "The second question."] and speaker.notes() == []


def test_hush_stops_the_question_being_read_before_the_candidate_speaks(fake_player):
    speaker = Speaker(Instant(), Player([shutil.which("paplay")]))
    played = lambda: fake_player.read_text().split("\n")[:-1] if fake_player.exists() else []  # noqa: E731
    speaker.say("The question.")
    assert wait_for(lambda: len(played()) == 1)
    (playing,) = (int(line.split()[0]) for line in played())
    speaker.hush()  # a recording starts
    assert wait_for(lambda: not alive(playing), 2.0)
    speaker.say("The follow-up.")  # the speaker goes on with the next text
    assert wait_for(lambda: len(played()) == 2)
    speaker.close()


def test_texts_waiting_behind_a_slow_one_are_dropped_for_the_newest(tts, fake_player):
    tts.script_speech(Speech(latency=1.0))
    speaker = Speaker(
        LiteLLMSpeech("openai/tts-1", tts.base_url, timeout=10), Player([shutil.which("paplay")])
    )
    speaker.say("Question number 1.")
    assert tts.wait_for_requests(1, 15)
    for n in range(2, 5):
        speaker.say(f"Question number {n}.")
    assert wait_for(lambda: fake_player.exists(), 15)
    speaker.close()
    assert [s["json"]["input"] for s in tts.speeches] == ["Question number 1.", "Question number 4."]
    assert len(fake_player.read_text().splitlines()) == 1  # the first was cut off before it was played


# ------------------------------------------------------------ failures: one line, the session goes on


def test_a_server_error_is_one_line_tried_twice_and_the_session_completes(cli, tts, spoken, tmp_path):
    tts.speech_default = Status(500)
    r = cli("start", "-n", "2", "--speak", "--answers", str(answers_file(tmp_path, "one", "two")))
    assert r.exit_code == 0, r
    (line,) = speak_lines(r.stderr)
    assert (
        line.lower().startswith(FAILED) and "server" in line and line.endswith("the session goes on silent.")
    )
    assert len(tts.speeches) == 2 and wavs(spoken) == []  # the first question, once more, then silence
    assert json.loads(cli("export", "--last", "--format", "json").stdout)["status"] == "finished"


def test_an_unreachable_server_is_one_line(cli, spoken, tmp_path, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_TTS_MODEL", "openai/tts-1")
    monkeypatch.setenv("INTERVIEWER_TTS_API_BASE", "http://127.0.0.1:9/v1")
    r = cli("start", "-n", "2", "--speak", "--answers", str(answers_file(tmp_path, "one", "two")))
    assert r.exit_code == 0, r
    (line,) = speak_lines(r.stderr)
    assert "connection" in line and "--tts-api-base" in line


def test_a_hosted_model_without_a_key_is_one_line_at_the_start(cli, spoken, tmp_path, monkeypatch):
    r = cli("start", "-n", "1", "--speak", "--tts-model", "openai/tts-1", "--answers",
            str(answers_file(tmp_path, "one")))  # fmt: skip
    assert r.exit_code == 0, r
    (line,) = speak_lines(r.stderr)
    assert "OPENAI_API_KEY" in line and "INTERVIEWER_TTS_API_KEY" in line and r.stderr.index(line) == 0


@pytest.mark.parametrize("saving", [True, False], ids=["no-espeak", "no-player"])
def test_nothing_to_speak_with_is_one_line_and_the_session_goes_on(cli, tmp_path, monkeypatch, saving):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    if saving:
        monkeypatch.setenv("INTERVIEWER_SPEAK_TO", str(tmp_path / "spoken"))
    r = cli("start", "-n", "2", "--speak", "--answers", str(answers_file(tmp_path, "one", "two")))
    assert r.exit_code == 0, r
    (line,) = speak_lines(r.stderr)
    assert ("espeak-ng is not installed" if saving else "no audio player found") in line
    assert line.endswith("the session goes on silent.") and "Question 2/2" in r.stdout


# ------------------------------------------------------------ start-up


def probe(*args: str, home: Path, **env: str) -> str:
    r, loaded = run_probe(*args, home=home, watch=("litellm", "openai", "interviewer.speech.speak"), **env)
    assert r.returncode == 0, r.stderr
    return loaded


def test_help_and_a_session_without_speak_load_neither_litellm_nor_speech(home, tmp_path):
    assert probe("--help", home=home) == ""
    assert probe("start", "--help", home=home) == ""
    answers = str(answers_file(tmp_path, "并行计算", "不知道"))
    assert (
        probe("start", "-n", "2", "--answers", answers, home=home, INTERVIEWER_TTS_MODEL="openai/tts-1") == ""
    )


@needs_espeak
def test_a_spoken_session_with_espeak_ng_never_loads_litellm(home, tmp_path):
    answers = str(answers_file(tmp_path, "并行计算", "不知道"))
    spoken = tmp_path / "spoken"
    loaded = probe(
        "start", "-n", "2", "--speak", "--answers", answers, home=home, INTERVIEWER_SPEAK_TO=str(spoken)
    )
    assert loaded == "interviewer.speech.speak" and len(wavs(spoken)) == 2


# ------------------------------------------------------------ a real terminal


@pytest.mark.slow
def test_the_prompt_is_up_before_the_question_is_heard(home, tts, spoken):
    import pexpect

    tts.speech_default = Speech(latency=3)
    env = {**os.environ, "INTERVIEWER_HOME": str(home), "NO_COLOR": "1", "TERM": "xterm"}
    child = pexpect.spawn(
        sys.executable, ["-m", "interviewer", "start", "-n", "1", "--follow-ups", "0", "--speak"], env=env,
        cwd=str(ROOT), encoding="utf-8", timeout=30, dimensions=(40, 160),
    )  # fmt: skip
    try:
        child.expect("Question 1/1")
        child.expect("to submit")
        assert wavs(spoken) == []  # the prompt did not wait for the speech
        assert wait_for(lambda: len(wavs(spoken)) == 1, 20)  # ...which came while it waited for the answer
        child.send(":quit\r")
        child.expect(pexpect.EOF)
    finally:
        child.terminate(force=True)
