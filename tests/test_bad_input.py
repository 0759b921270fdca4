"""Malformed input files and flags: each gives exit code 2 and exactly one line on stderr naming the problem.

Every case runs the real CLI main. The line must name the file, and the line number when the problem sits on
a line; no traceback may leak.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)) * 4

GOOD_BANK = "## Basics\n\n1. [freq:high][difficulty:easy] What is attention? Hint: softmax, scaling\n"


def assert_one_line_error(r, path: str | Path | None = None, line: int | None = None, *needles: str):
    """Exit 2, one stderr line, the path (and line number) in it, no traceback anywhere."""
    assert r.exit_code == 2, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r
    msg = lines[0]
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r
    assert "unexpected" not in msg, r  # the catch-all for bugs, not an input error
    if path is not None:
        assert str(path) in msg, r
    if line is not None:
        assert f"{path}:{line}:" in msg or f"line {line}" in msg, r
    for needle in needles:
        assert needle.lower() in msg.lower(), r
    return msg


def _garbage(n_lines: int, seed: int = 7) -> bytes:
    """Printable noise without anything that looks like a heading or a numbered item."""
    rnd = random.Random(seed)
    alphabet = string.ascii_letters + " ,;:!?'\"()[]{}<>/\\|@#$%^&*-+=~"
    out = []
    for _ in range(n_lines):
        out.append("".join(rnd.choice(alphabet) for _ in range(rnd.randint(20, 120))).lstrip("#"))
    return ("\n".join(out) + "\n").encode("utf-8")


# ---------------------------------------------------------------- banks


@dataclass(frozen=True)
class FileCase:
    id: str
    name: str  # file name (or folder name for a folder case)
    content: bytes | Callable[[Path], None] | None  # None: the file does not exist
    line: int | None = None
    needle: str = ""


def _empty_folder(folder: Path) -> None:
    folder.mkdir()
    (folder / "README.md").write_text("## Not a bank\n1. readme files are skipped\n", encoding="utf-8")
    (folder / "notes.txt").write_text("## S\n1. Not a bank either?\n", encoding="utf-8")


def _deep_bad_byte() -> bytes:
    head = GOOD_BANK.encode("utf-8")
    filler = b"Some prose paragraph that is allowed and ignored by the parser.\n" * 20000
    return head + filler + b"caf\xe9 au lait\n"


BANK_CASES = [
    FileCase("binary", "bin.md", BINARY, None, "binary"),
    FileCase(
        "gbk-encoding",
        "gbk.md",
        "# Bank\n\n## 基础原理\n1. [频率:高][难度:易] 什么是注意力？\n".encode("gbk"),
        3,
        "encoding",
    ),
    FileCase(
        "latin1-encoding",
        "latin.md",
        "## Section\n1. [freq:high] Qu'est-ce que l'attention ? Hint: caf\xe9\n".encode("latin-1"),
        2,
        "encoding",
    ),
    FileCase("utf16-encoding", "utf16.md", GOOD_BANK.encode("utf-16"), None),
    FileCase("huge-garbage", "garbage.md", _garbage(40000), None, "no questions"),
    FileCase("huge-bad-byte-deep-inside", "deep.md", _deep_bad_byte(), 20004, "encoding"),
    FileCase(
        "missing-section-heading",
        "nosection.md",
        b"# Title\n\nIntro prose.\n1. [freq:high][difficulty:easy] Orphan question?\n",
        4,
        "section",
    ),
    FileCase(
        "question-before-first-section",
        "early.md",
        b"1. Too early?\n## Later\n1. Fine?\n",
        1,
        "section",
    ),
    FileCase(
        "duplicate-id-tag",
        "dupid.md",
        b"## S\n1. [id:attn] First?\n2. [id:attn] Second?\n",
        3,
        "duplicate",
    ),
    FileCase(
        "id-tag-clashes-with-generated-id",
        "dupgen.md",
        b"## S\n1. First?\n2. [id:1.1] Second?\n",
        3,
        "duplicate",
    ),
    FileCase(
        "unknown-frequency",
        "freq.md",
        "## S\n1. [频率:高][难度:易] ok?\n2. [频率:超高][难度:易] bad?\n".encode(),
        3,
        "frequency",
    ),
    FileCase(
        "unknown-difficulty",
        "diff.md",
        b"## S\n\n1. [freq:high][difficulty:extreme] Hard?\n",
        3,
        "difficulty",
    ),
    FileCase("unknown-tag-name", "tagname.md", b"## S\n1. [level:3] Which level?\n", 2, "tag"),
    FileCase("empty-tag-value", "emptytag.md", "## S\n1. [频率:][难度:易] Empty?\n".encode(), 2),
    FileCase("bad-id-value", "badid.md", b"## S\n1. [id:has spaces!] Bad id?\n", 2, "id"),
    FileCase("tag-given-twice", "twice.md", "## S\n1. [频率:高][freq:low] Twice?\n".encode(), 2, "twice"),
    FileCase(
        "unclosed-tag-bracket",
        "unclosed.md",
        "## S\n1. [频率:高][难度:易 What is attention?\n".encode(),
        2,
        "tag",
    ),
    FileCase(
        "tags-but-no-question-text",
        "notext.md",
        b"## S\n1. [freq:high][difficulty:easy]\n",
        2,
        "no question text",
    ),
    FileCase("empty-file", "empty.md", b"", None, "no questions"),
    FileCase("only-bom-and-blank-lines", "blank.md", "\ufeff\n   \n\t\n".encode(), None, "no questions"),
    FileCase("headings-without-items", "headings.md", b"# T\n## A\n## B\n", None, "no questions"),
    FileCase("folder-without-bank-files", "emptydir", _empty_folder, None, "no bank files"),
    FileCase("missing-file", "nope.md", None, None, "not found"),
    FileCase(
        "toml-bad-syntax",
        "bad.toml",
        b'title = "T"\n[[sections]\nname = "S"\n',
        2,
        "toml",
    ),
    FileCase(
        "toml-missing-question-text",
        "notext.toml",
        b'[[sections]]\nname = "S"\n[[sections.questions]]\nhint = "h"\n',
        None,
        "no text",
    ),
    FileCase(
        "toml-section-without-name",
        "noname.toml",
        b'[[sections]]\n[[sections.questions]]\ntext = "Q?"\n',
        None,
        "no name",
    ),
    FileCase(
        "toml-unknown-difficulty",
        "diff.toml",
        b'[[sections]]\nname = "S"\n[[sections.questions]]\ntext = "Q?"\ndifficulty = "extreme"\n',
        None,
        "difficulty",
    ),
    FileCase(
        "toml-duplicate-id",
        "dup.toml",
        b'[[sections]]\nname = "S"\n[[sections.questions]]\ntext = "A?"\nid = "x"\n'
        b'[[sections.questions]]\ntext = "B?"\nid = "x"\n',
        None,
        "duplicate",
    ),
    FileCase("toml-no-sections", "nosec.toml", b'title = "Only a title"\n', None, "no questions"),
    FileCase("toml-sections-not-a-list", "seclist.toml", b'sections = "abc"\n', None),
    FileCase(
        "toml-question-not-a-table",
        "qtable.toml",
        b'[[sections]]\nname = "S"\nquestions = ["What is attention?"]\n',
        None,
    ),
]


def _materialise(case: FileCase, tmp_path: Path) -> Path:
    path = tmp_path / case.name
    if callable(case.content):
        case.content(path)
    elif case.content is not None:
        path.write_bytes(case.content)
    return path


@pytest.mark.parametrize("command", ["validate", "list"])
@pytest.mark.parametrize("case", BANK_CASES, ids=[c.id for c in BANK_CASES])
def test_bad_bank(cli, tmp_path, case, command):
    path = _materialise(case, tmp_path)
    args = ["bank", "validate", str(path)] if command == "validate" else ["bank", "list", "--bank", str(path)]
    r = cli(*args)
    assert_one_line_error(r, path, case.line, *([case.needle] if case.needle else []))


def test_good_bank_control(cli, tmp_path):
    path = tmp_path / "good.md"
    path.write_text(GOOD_BANK, encoding="utf-8")
    assert cli("bank", "validate", str(path)).exit_code == 0
    r = cli("bank", "list", "--bank", str(path))
    assert r.exit_code == 0, r
    assert "What is attention?" in r.stdout


# ---------------------------------------------------------------- rubrics

RUBRIC_OK = """question_id = "2.1"
version = 1

[[criteria]]
id = "flow"
name = "Flow"
weight = 2.0

  [[criteria.key_points]]
  text = "softmax"
  aliases = ["softmax", "归一化"]
"""


@dataclass(frozen=True)
class RubricCase:
    id: str
    content: bytes | None
    rel: str = "llm-basics/2.1.toml"
    line: int | None = None
    needle: str = ""


def _r(old: str, new: str) -> bytes:
    assert old in RUBRIC_OK
    return RUBRIC_OK.replace(old, new).encode("utf-8")


RUBRIC_CASES = [
    RubricCase("bad-toml", b'question_id = "2.1"\nversion = \n', line=2, needle="toml"),
    RubricCase("unclosed-string", b'question_id = "2.1\nversion = 1\n', line=1, needle="toml"),
    RubricCase("missing-question-id", _r('question_id = "2.1"\n', ""), needle="question_id"),
    RubricCase("no-criteria", b'question_id = "2.1"\nversion = 1\n', needle="criteri"),
    RubricCase("criterion-missing-name", _r('name = "Flow"\n', ""), needle="name"),
    RubricCase("criterion-missing-key-points", RUBRIC_OK.split("  [[criteria.key_points]]")[0].encode()),
    RubricCase("key-point-missing-aliases", _r('  aliases = ["softmax", "归一化"]\n', ""), needle="aliases"),
    RubricCase("zero-weight", _r("weight = 2.0", "weight = 0"), needle="weight"),
    RubricCase("negative-weight", _r("weight = 2.0", "weight = -1.5"), needle="weight"),
    RubricCase("string-weight", _r("weight = 2.0", 'weight = "heavy"'), needle="weight"),
    RubricCase("zero-accuracy-weight", _r("version = 1\n", "version = 1\naccuracy_weight = 0\n")),
    RubricCase(
        "duplicate-criterion-id",
        (RUBRIC_OK + RUBRIC_OK.split("\n\n", 1)[1]).encode(),
        needle="duplicate",
    ),
    RubricCase("reserved-accuracy-id", _r('id = "flow"', 'id = "accuracy"'), needle="accuracy"),
    RubricCase("criterion-id-not-a-slug", _r('id = "flow"', 'id = "Flow Step"')),
    RubricCase("empty-aliases", _r('["softmax", "归一化"]', "[]"), needle="aliases"),
    RubricCase("blank-aliases", _r('["softmax", "归一化"]', '["", "  "]'), needle="aliases"),
    RubricCase("key-point-text-is-a-number", _r('text = "softmax"', "text = 42")),
    RubricCase("version-zero", _r("version = 1", "version = 0"), needle="version"),
    RubricCase(
        "common-mistake-without-patterns",
        (RUBRIC_OK + '\n[[common_mistakes]]\ntext = "Scaling saves compute"\n').encode(),
        needle="patterns",
    ),
    RubricCase("common-mistakes-not-a-list", _r("version = 1\n", "version = 1\ncommon_mistakes = 3\n")),
    RubricCase(
        "unknown-question-id",
        _r('question_id = "2.1"', 'question_id = "9.9"'),
        rel="llm-basics/9.9.toml",
        needle="9.9",
    ),
    RubricCase("folder-is-not-a-bank", RUBRIC_OK.encode(), rel="no-such-bank/2.1.toml", needle="bank"),
    RubricCase("file-name-does-not-match-id", RUBRIC_OK.encode(), rel="llm-basics/2.2.toml"),
    RubricCase("binary", BINARY, needle="binary"),
    RubricCase(
        "latin1-encoding",
        ('question_id = "2.1"\nversion = 1\n# caf\xe9\n').encode("latin-1"),
        line=3,
        needle="encoding",
    ),
    RubricCase("missing-file", None, needle="not found"),
]


@pytest.mark.parametrize("case", RUBRIC_CASES, ids=[c.id for c in RUBRIC_CASES])
def test_bad_rubric(cli, tmp_path, case):
    path = tmp_path / "rubrics" / case.rel
    path.parent.mkdir(parents=True)
    if case.content is not None:
        path.write_bytes(case.content)
    r = cli("rubric", "validate", str(path))
    assert_one_line_error(r, path, case.line, *([case.needle] if case.needle else []))


def test_good_rubric_control(cli, tmp_path):
    path = tmp_path / "rubrics" / "llm-basics" / "2.1.toml"
    path.parent.mkdir(parents=True)
    path.write_text(RUBRIC_OK, encoding="utf-8")
    r = cli("rubric", "validate", str(path))
    assert r.exit_code == 0, r
    assert "1 rubric file" in r.stdout


# ---------------------------------------------------------------- scripted answers (start --answers)

ANSWER_CASES = [
    FileCase("jsonl-invalid-line", "a.jsonl", b'{"answer": "first"}\n{"answer": "second",}\n', 2, "json"),
    FileCase("jsonl-without-answer", "a.jsonl", b'{"answer": "first"}\n\n{"text": "second"}\n', 3, "answer"),
    FileCase("jsonl-answer-not-a-string", "a.jsonl", b'{"answer": 42}\n', 1, "answer"),
    FileCase("jsonl-line-is-an-array", "a.jsonl", b'{"answer": "a"}\n["b"]\n', 2, "answer"),
    FileCase("jsonl-question-id-not-a-string", "a.jsonl", b'{"answer": "a", "question_id": 21}\n', 1),
    FileCase(
        "jsonl-unknown-question-id",
        "a.jsonl",
        b'{"answer": "a", "question_id": "2.1"}\n{"answer": "b", "question_id": "9.9"}\n',
        2,
        "9.9",
    ),
    FileCase(
        "jsonl-deeply-nested-line",
        "a.jsonl",
        b'{"answer": "a"}\n{"answer": ' + b"[" * 5000 + b"\n",
        2,
        "json",
    ),
    FileCase("binary", "a.txt", BINARY, None, "binary"),
    FileCase(
        "gbk-encoding",
        "a.txt",
        "first answer\n---\n先算 QK^T，再除以根号 d_k\n".encode("gbk"),
        3,
        "encoding",
    ),
    FileCase("latin1-encoding", "a.txt", "r\xe9ponse\n".encode("latin-1"), 1, "encoding"),
    FileCase("missing-file", "nope.txt", None, None, "not found"),
    FileCase("empty-file", "a.txt", b"", None, "no answers"),
    FileCase("folder-instead-of-file", "adir", lambda p: p.mkdir(), None, "folder"),
]


@pytest.mark.parametrize("case", ANSWER_CASES, ids=[c.id for c in ANSWER_CASES])
def test_bad_answers_file(cli, tmp_path, case):
    path = _materialise(case, tmp_path)
    r = cli("start", "-n", "1", "--grader", "offline", "--answers", str(path))
    assert_one_line_error(r, path, case.line, *([case.needle] if case.needle else []))


def test_good_answers_control(cli, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"answer": "softmax(QK^T/sqrt(d_k))V", "question_id": "2.1"}) + "\n")
    r = cli("start", "--grader", "offline", "--answers", str(path), "--json")
    assert r.exit_code == 0, r


# ---------------------------------------------------------------- batch files (grade --batch)

BATCH_CASES = [
    FileCase(
        "invalid-json",
        "b.jsonl",
        b'{"question_id": "2.1", "answer": "a"}\n{"question_id": "2.1", "answer": }\n',
        2,
        "json",
    ),
    FileCase(
        "unknown-question-id",
        "b.jsonl",
        b'{"question_id": "2.1", "answer": "a"}\n{"question_id": "9.9", "answer": "b"}\n',
        2,
        "9.9",
    ),
    FileCase("missing-answer", "b.jsonl", b'{"question_id": "2.1"}\n', 1, "answer"),
    FileCase("answer-not-a-string", "b.jsonl", b'{"question_id": "2.1", "answer": ["x"]}\n', 1, "answer"),
    FileCase("neither-question-id-nor-question", "b.jsonl", b'\n{"id": 7, "answer": "a"}\n', 2, "question"),
    FileCase("blank-question", "b.jsonl", b'{"question": "   ", "answer": "a"}\n', 1, "question"),
    FileCase("hint-not-a-string", "b.jsonl", b'{"question": "Q?", "hint": 3, "answer": "a"}\n', 1, "hint"),
    FileCase("line-not-an-object", "b.jsonl", b'{"question_id": "2.1", "answer": "a"}\n42\n', 2, "object"),
    FileCase(
        "deeply-nested-line",
        "b.jsonl",
        b'{"question_id": "2.1", "answer": "a"}\n{"answer": ' + b"[" * 5000 + b"\n",
        2,
        "json",
    ),
    FileCase("empty-file", "b.jsonl", b"\n\n", None, "no lines"),
    FileCase("binary", "b.jsonl", BINARY, None, "binary"),
    FileCase(
        "latin1-encoding", "b.jsonl", '{"question_id": "2.1", "answer": "caf\xe9"}\n'.encode("latin-1"), 1
    ),
    FileCase("missing-file", "nope.jsonl", None, None, "not found"),
]


@pytest.mark.parametrize("case", BATCH_CASES, ids=[c.id for c in BATCH_CASES])
def test_bad_batch_file(cli, tmp_path, case):
    path = _materialise(case, tmp_path)
    r = cli("grade", "--grader", "offline", "--batch", str(path))
    assert_one_line_error(r, path, case.line, *([case.needle] if case.needle else []))
    assert r.stdout.strip() == ""  # every line is checked before anything is graded


def test_good_batch_control(cli, tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_text(
        json.dumps({"question_id": "2.1", "answer": "softmax"})
        + "\n"
        + json.dumps({"question": "What is 2+2?", "reference": "It is four.", "answer": "four"})
        + "\n"
    )
    r = cli("grade", "--grader", "offline", "--batch", str(path))
    assert r.exit_code == 0, r
    assert len(r.json_lines()) == 2


# ---------------------------------------------------------------- config.toml (config show)


@dataclass(frozen=True)
class ConfigCase:
    id: str
    content: bytes
    mode: int = 0o600
    line: int | None = None
    needle: str = ""


CONFIG_CASES = [
    ConfigCase("invalid-toml", b'model = "openai/gpt-4o-mini"\ntimeout = = 3\n', line=2, needle="toml"),
    ConfigCase("unknown-key", b'model = "x"\ntemperature = 0.2\n', needle="temperature"),
    ConfigCase("timeout-not-a-number", b'timeout = "abc"\n', needle="timeout"),
    ConfigCase("timeout-is-a-list", b"timeout = [1, 2]\n", needle="timeout"),
    ConfigCase("timeout-is-a-boolean", b"timeout = true\n", needle="timeout"),
    ConfigCase("retries-not-an-int", b'retries = "many"\n', needle="retries"),
    ConfigCase("unknown-grader", b'grader = "magic"\n', needle="grader"),
    ConfigCase("unknown-mode", b'mode = "exam"\n', needle="mode"),
    ConfigCase("api-key-world-readable", b'api_key = "sk-test-1234567890"\n', mode=0o644, needle="chmod"),
    ConfigCase("api-key-group-readable", b'api_key = "sk-test-1234567890"\n', mode=0o640, needle="chmod"),
    ConfigCase("latin1-encoding", 'model = "caf\xe9"\n'.encode("latin-1"), needle="encoding"),
    ConfigCase("binary", BINARY),
]


@pytest.mark.parametrize("case", CONFIG_CASES, ids=[c.id for c in CONFIG_CASES])
def test_bad_config_file(cli, home, case):
    path = home / "config.toml"
    path.write_bytes(case.content)
    path.chmod(case.mode)
    r = cli("config", "show")
    assert_one_line_error(r, path, case.line, *([case.needle] if case.needle else []))


def test_good_config_control(cli, home):
    path = home / "config.toml"
    path.write_text('timeout = 12\ngrader = "offline"\napi_key = "sk-test-1234567890"\n')
    path.chmod(0o600)
    r = cli("config", "show")
    assert r.exit_code == 0, r
    assert "sk-test-1234567890" not in r.stdout


# ---------------------------------------------------------------- flags

FLAG_CASES = [
    pytest.param(["start", "--order", "sideways"], "--order", id="order-sideways"),
    pytest.param(["start", "--mode", "exam"], "--mode", id="mode-exam"),
    pytest.param(["start", "--grader", "magic"], "--grader", id="start-grader-magic"),
    pytest.param(["grade", "--grader", "magic", "-q", "2.1", "-a", "x"], "--grader", id="grade-grader-magic"),
    pytest.param(["export", "--last", "--format", "pdf"], "--format", id="export-format-pdf"),
    pytest.param(
        ["start", "--difficulty", "extreme"], "--difficulty 'extreme'", id="start-difficulty-is-named"
    ),
    pytest.param(["start", "-n", "0"], "-n", id="num-zero"),
    pytest.param(
        ["grade", "--batch", "x.jsonl", "--concurrency", "0"], "--concurrency", id="concurrency-zero"
    ),
    pytest.param(["start", "--colour"], "--colour", id="unknown-option"),
]


@pytest.mark.parametrize(("args", "needle"), FLAG_CASES)
def test_bad_flag(cli, args, needle):
    r = cli(*args, input="an answer on stdin\n")
    assert_one_line_error(r, None, None, needle)
