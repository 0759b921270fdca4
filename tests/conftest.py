from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from openai_server import FakeOpenAI, Reply  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "bank" / "llm-basics.md"
ENV_VARS = [
    "INTERVIEWER_MODEL", "INTERVIEWER_API_BASE", "INTERVIEWER_API_KEY", "INTERVIEWER_GRADER", "INTERVIEWER_LANG",
    "INTERVIEWER_TIMEOUT", "INTERVIEWER_RETRIES", "INTERVIEWER_CLIENT", "OPENAI_API_KEY", "ANTHROPIC_API_KEY",
    "OPENAI_BASE_URL", "OPENAI_API_BASE", "VISUAL", "EDITOR",
]  # fmt: skip
CLIENTS = ("litellm", "openai")  # the two ways the LLM grader reaches an OpenAI-compatible server


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    """Every test gets its own INTERVIEWER_HOME and no provider keys; no test reads a real home."""
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("INTERVIEWER_HOME", str(h))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    # a session that grades with an LLM checks the model with one request before the first question; tests that
    # count or script requests do not expect it, and the tests of the check turn it on
    monkeypatch.setenv("INTERVIEWER_CHECK", "off")
    return h


class _Main:
    """Lets click's CliRunner drive `interviewer.cli.main`, so error handling and exit codes are the real ones."""

    name = "interviewer"

    def main(self, args=(), prog_name=None, **_):
        from interviewer.cli import main

        main(list(args))  # a list, as the console script never passes: no fast exit inside the test process


class Result:
    def __init__(self, r):
        self.exit_code = r.exit_code
        self.stdout = r.stdout
        self.stderr = r.stderr
        self.exception = r.exception

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def __repr__(self):
        return f"<exit {self.exit_code}\nstdout: {self.stdout[-2000:]}\nstderr: {self.stderr[-2000:]}>"


@pytest.fixture
def cli():
    def run(*args: str, input: str | None = None) -> Result:
        runner = CliRunner()
        return Result(runner.invoke(_Main(), list(args), input=input))

    return run


def criterion_ids(request_json: dict) -> list[str]:
    """The rubric's criterion ids, read from the schema enum, else from the prompt text."""
    rf = (request_json or {}).get("response_format") or {}
    try:
        return rf["json_schema"]["schema"]["properties"]["criteria"]["items"]["properties"]["id"]["enum"]
    except (KeyError, TypeError):
        text = "\n".join(m.get("content", "") for m in request_json["messages"])
        return re.findall(r"^- ([a-z][a-z0-9_]*) \| ", text, flags=re.M)


def grade_reply(verdict: str = "met", score: float = 9.0, holistic: float | None = None, **extra):
    """A callable reply: a valid grade for whatever rubric the request carries."""

    def content(request_json):
        ids = criterion_ids(request_json)
        body = {
            "criteria": [
                {"id": i, "evidence": "quoted", "verdict": verdict, "score": score, "comment": "ok"}
                for i in ids
            ],
            "wrong_claims": [],
            "strengths": ["clear"],
            "missing": [],
            "feedback": "Good.",
            "better_answer": "An outline.",
            "follow_up": "Why?",
            "injection_suspected": False,
            "off_topic": False,
            "holistic_score": score if holistic is None else holistic,
        }
        body.update(extra)
        return json.dumps(body)

    return content


class InFlightGate:
    """A reply that holds every request until `n` are in flight at once (or `timeout` passes), counting the peak."""

    def __init__(self, n: int, timeout: float = 10.0):
        import threading

        self.n, self.timeout = n, timeout
        self.now = self.max = 0
        self.lock = threading.Lock()
        self.all_in = threading.Event()
        self.reply = grade_reply()

    def __call__(self, request_json):
        with self.lock:
            self.now += 1
            self.max = max(self.max, self.now)
            if self.now >= self.n:
                self.all_in.set()
        self.all_in.wait(self.timeout)
        with self.lock:
            self.now -= 1
        return self.reply(request_json)


@pytest.fixture
def llm_server():
    with FakeOpenAI() as server:
        server.default = Reply(grade_reply())
        yield server


@pytest.fixture
def llm_env(llm_server, monkeypatch):
    """Settings that point the LLM grader at the local server, fast retries."""
    monkeypatch.setenv("INTERVIEWER_MODEL", "openai/fake-model")
    monkeypatch.setenv("INTERVIEWER_API_BASE", llm_server.base_url)
    monkeypatch.setenv("INTERVIEWER_TIMEOUT", "5")
    return llm_server


@pytest.fixture
def seed_questions():
    from interviewer.content.bank import load_bank

    return {q.id: q for q in load_bank(SEED).questions}


@pytest.fixture
def q21(seed_questions):
    """The Scaled Dot-Product Attention question of the seed."""
    return seed_questions["2.1"]


ANSWER_21 = "先算 QK^T，再除以 √d_k，softmax 后乘 V。缩放避免 softmax 饱和。"


def chat_model(
    server, api_key=None, timeout=5.0, structured="auto", client="litellm", model="openai/fake-model"
):
    """`openai/fake-model` on the local OpenAI-protocol server, through litellm or the openai SDK."""
    if client == "openai":
        from interviewer.grading.openai_chat import OpenAIModel as Model
    else:
        from interviewer.grading.litellm_chat import LiteLLMModel as Model
    return Model(model, server.base_url, api_key, timeout, structured)


def llm_grader(
    server, retries: int = 2, api_key=None, structured="auto", timeout=5.0, client="litellm", **kw
):
    """An LLM grader through litellm (or the openai SDK) on the local server, with short timeouts and backoff."""
    from interviewer.grading.llm import LLMGrader

    chat = chat_model(server, api_key, timeout, structured, client)
    return LLMGrader(chat, backoff=0.01, retries=retries, **kw)


@pytest.fixture(params=[pytest.param("litellm", marks=pytest.mark.slow), "openai"])
def llm_client(request) -> str:
    """Each client in turn: a test that takes it runs once through litellm, once through the openai SDK (the
    default for an OpenAI-compatible server; the litellm run is in the full suite only)."""
    return request.param


def varying_replies(scores: list[float], **fields):
    """A reply script for K samples: one grade per call, with these scores in turn (thread-safe)."""
    import threading

    left = iter(scores)
    lock = threading.Lock()

    def reply(req):
        with lock:
            s = next(left)
        verdict = "met" if s >= 7 else "partial" if s >= 3 else "missed"
        extra = {k: (v(s) if callable(v) else v) for k, v in fields.items()}
        return grade_reply(verdict=verdict, score=s, **extra)(req)

    return reply
