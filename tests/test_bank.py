from pathlib import Path

import pytest
from conftest import ROOT, SEED

from interviewer.content.bank import QuestionSet, load_bank, parse_markdown
from interviewer.errors import BankError, NotFoundError


def test_seed_bank_is_the_shared_seed_verbatim():
    shared = ROOT.parent.parent / "shared" / "seed" / "000_989b0a7f361169b6.txt"
    if not shared.exists():
        shared = ROOT.parent / "shared" / "seed" / "000_989b0a7f361169b6.txt"
    if shared.exists():
        assert SEED.read_bytes() == shared.read_bytes()


def test_seed_has_50_questions_in_7_sections_with_stable_ids():
    bank = load_bank(SEED)
    assert bank.name == "llm-basics"
    assert len(bank.questions) == 50
    assert len(bank.sections) == 7
    ids = [q.id for q in bank.questions]
    assert ids[:8] == ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "2.1"]
    assert ids[-1] == "7.8"
    q = {q.id: q for q in bank.questions}["2.1"]
    assert "Scaled Dot-Product Attention" in q.text
    assert q.hint == "关注内积数值范围与 softmax 梯度。"
    assert (q.frequency, q.difficulty) == ("high", "easy")
    assert all(q.hint and q.frequency and q.difficulty for q in bank.questions)
    assert "提示" not in "".join(q.text for q in bank.questions)


def test_english_tags_half_width_colons_and_id_tag():
    text = "## Basics\n1. [freq:high][difficulty:hard] What is X? Hint: cover Y.\n2. [频率：低][难度：中][id:custom-x] 问题 提示:要点\n"
    bank = parse_markdown(text, "b.md", "b")
    a, b = bank.questions
    assert (a.id, a.frequency, a.difficulty, a.text, a.hint) == (
        "1.1",
        "high",
        "hard",
        "What is X?",
        "cover Y.",
    )
    assert (b.id, b.frequency, b.difficulty, b.hint) == ("custom-x", "low", "medium", "要点")


def test_question_without_hint_is_allowed_and_continuation_lines_join():
    bank = parse_markdown(
        "## S\n1. [freq:low][difficulty:easy] A long\n   question? Hint: h\n2. No tags here?\n", "b.md", "b"
    )
    assert bank.questions[0].text == "A long question?"
    assert bank.questions[0].hint == "h"
    assert bank.questions[1].hint == "" and bank.questions[1].frequency is None


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ("## S\n1. [频率:很高][难度:易] Q\n", 2, "unknown frequency"),
        ("## S\n1. [freq:high][difficulty:trivial] Q\n", 2, "unknown difficulty"),
        ("## S\n1. [colour:red] Q\n", 2, "unknown tag"),
        ("1. [freq:high] Q\n", 1, "outside a section"),
        ("## S\n1. [id:a] Q\n2. [id:a] R\n", 3, "duplicate question id"),
        ("## S\n1. [freq:high][difficulty:easy]   提示：只有提示\n", 2, "no question text"),
        ("# Title only\n", None, "no questions"),
    ],
)
def test_broken_bank_names_file_and_line(text, line, fragment):
    with pytest.raises(BankError) as err:
        parse_markdown(text, "bad.md", "bad")
    assert err.value.line == line
    assert fragment in err.value.message
    assert str(err.value).startswith("bad.md")


def test_bad_encoding_and_binary_files_are_reported(tmp_path: Path):
    gbk = tmp_path / "gbk.md"
    gbk.write_bytes("## 节\n1. [频率:高][难度:易] 问题\n".encode("gbk"))
    with pytest.raises(BankError, match="UTF-8") as err:
        load_bank(gbk)
    assert err.value.line == 1
    binary = tmp_path / "bin.md"
    binary.write_bytes(b"\x00\x01\x02" * 10)
    with pytest.raises(BankError, match="binary"):
        load_bank(binary)


def test_lookup_by_plain_and_qualified_id(tmp_path):
    other = parse_markdown("## S\n1. Q one\n", "o.md", "other")
    qs = QuestionSet([load_bank(SEED), other])
    assert qs.get("2.1").bank == "llm-basics"
    assert qs.get("other:1.1").text == "Q one"
    with pytest.raises(NotFoundError, match="several banks"):
        qs.get("1.1")
    with pytest.raises(NotFoundError, match="bank list"):
        qs.get("9.9")


def test_filters_by_section_difficulty_frequency():
    qs = QuestionSet([load_bank(SEED)])
    assert [q.id for q in qs.filter(section="2", difficulty="易")] == ["2.1", "2.2"]
    assert all(q.section == "推理与性能优化" for q in qs.filter(section="推理"))
    assert {q.frequency for q in qs.filter(frequency="low")} == {"low"}


def test_english_edition_has_the_same_ids_and_tags():
    zh = load_bank(SEED)
    en = load_bank(ROOT / "bank" / "llm-basics.en.md")
    assert en.name == "llm-basics" and en.lang == "en"
    assert [(q.id, q.frequency, q.difficulty) for q in en.questions] == [
        (q.id, q.frequency, q.difficulty) for q in zh.questions
    ]
    assert all(q.hint for q in en.questions)
