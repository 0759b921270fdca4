"""`interviewer bank import`: every format's reader, the bank it writes (read back identically), the answers kept as
rubric files, and what a tired user throws at it."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT, SEED

from interviewer.content.bank import load_bank, parse_markdown
from interviewer.content.formats import build_bank, detect_format, import_text, read_questions, read_source
from interviewer.content.formats.bankfile import guessed_tags, rubric_folder
from interviewer.content.formats.jsondoc import read_json
from interviewer.content.formats.markdown import read_markdown
from interviewer.content.formats.table import read_anki, read_csv
from interviewer.content.rubric import parse_rubric
from interviewer.errors import BankError

DATA = ROOT / "tests" / "data" / "import"
SAMPLES = sorted(DATA.iterdir())


def read(name: str):
    path = DATA / name
    return read_questions(read_source(path), "auto", str(path))[0]


def by_text(imported) -> dict:
    return {q.text: q for q in imported.questions}


# ---------------------------------------------------------------- the readers


def test_chinese_numbered_list_reads_sections_wrapped_questions_and_answers():
    got = read("numbered.zh.md")
    assert got.title == "大模型岗位面试题（整理版）"
    assert [(q.line, q.section) for q in got.questions] == [
        (7, "基础概念"), (11, "基础概念"), (17, "基础概念"), (21, "工程实践"), (26, "工程实践"),
    ]  # fmt: skip
    q = by_text(got)
    # an indented line continues the question; Chinese lines join without a space
    temperature = q["解释一下 Temperature 参数，它对生成结果有什么影响？"]
    # the answer's own numbered list stays in the answer instead of becoming questions 1 and 2
    assert temperature.answer.splitlines()[1:] == [
        "1. 温度低，分布更尖锐，输出更确定；",
        "2. 温度高，分布更平坦，输出更多样。",
    ]
    assert q["什么是 Token？中文和英文的 Token 化有什么不同？"].answer.startswith(
        "Token 是模型处理文本的最小单位"
    )
    assert "RAGAS" in q["如何评估一个 RAG 系统？"].answer  # a paragraph after a blank line, with no marker
    tagged = q["为什么大模型会产生幻觉？"]
    assert (tagged.frequency, tagged.difficulty, tagged.hint) == (
        "high",
        "medium",
        "训练数据、解码策略、知识边界。",
    )
    assert q["vLLM 的 PagedAttention 解决了什么问题？"].answer == ""
    assert got.rejections == [(25, "unknown difficulty '超难'; use 易/中/难 or easy/medium/hard")]


def test_headed_markdown_takes_the_deepest_headings_as_questions_and_the_text_under_them_as_answers():
    got = read("baguwen.md")
    assert got.title == "大模型面试八股文" and got.rejections == []
    assert [q.section for q in got.questions] == ["Transformer 基础"] * 3 + ["微调"] * 3
    q = by_text(got)
    assert list(q)[0] == "Transformer 为什么用 LayerNorm 而不是 BatchNorm？"  # "1. " taken off
    layer_norm = q["Transformer 为什么用 LayerNorm 而不是 BatchNorm？"].answer
    assert (
        layer_norm.startswith("- BatchNorm 依赖") and "**答案**" not in layer_norm and "---" not in layer_norm
    )
    scaling = q["自注意力为什么要除以 √d_k？"].answer
    assert scaling.startswith("点积的方差") and "```python\nscores = q @ k" in scaling  # code kept as written
    rope = q["介绍一下 RoPE 旋转位置编码"]
    assert rope.hint == "绝对位置的旋转、相对位置的内积" and rope.answer.startswith("RoPE 把位置信息")
    assert q["LoRA 的原理是什么？r 和 alpha 怎么选？"].answer.startswith("冻结原权重 W")  # <details> answer
    assert q["全量微调和 LoRA 各自的优缺点？"].answer == ""
    nf4 = q["QLoRA 中的 NF4 是什么？"]
    assert nf4.frequency == "low" and nf4.answer.startswith("NF4 是按正态分布")


def test_answer_marker_headings_and_q_a_lines_are_markers_not_questions():
    headed = read_markdown(
        "## RAG\n\n### 什么是 RAG？\n\n#### 答案\n\n检索增强生成。\n\n### 什么是 HyDE？\n\n假设文档嵌入。\n"
    )
    assert [(q.text, q.answer) for q in headed.questions] == [
        ("什么是 RAG？", "检索增强生成。"),
        ("什么是 HyDE？", "假设文档嵌入。"),
    ]
    qa = read_markdown(
        "Q: What is RAG?\nA: Retrieval-augmented generation.\n\nQ: What is HyDE?\nA: Hypothetical documents.\n"
    )
    assert [(q.text, q.answer) for q in qa.questions] == [
        ("What is RAG?", "Retrieval-augmented generation."),
        ("What is HyDE?", "Hypothetical documents."),
    ]


def test_csv_line_numbers_count_the_lines_of_a_multi_line_quoted_answer():
    got = read("questions.csv")  # UTF-8 with a BOM and Windows line endings, as Excel saves it
    assert got.rejections == [
        (8, "no question (the '问题' column is empty)"),
        (10, "unknown difficulty '超级难'; use 易/中/难 or easy/medium/hard"),
    ]
    assert got.notes == ["columns ignored: 备注"]
    q = {x.id or x.text: x for x in got.questions}
    assert q["chunking"].line == 3 and q["chunking"].answer.splitlines() == [
        "常见策略：", "1. 固定长度切分，简单但可能切断语义；", "2. 按段落或标题切分，保留结构；",
        "3. 语义切分，用 embedding 相似度决定边界。", "一般还会加重叠窗口，避免信息落在边界上。",
    ]  # fmt: skip
    assert (q["chunking"].difficulty, q["chunking"].frequency, q["chunking"].section) == (
        "hard",
        "medium",
        "RAG",
    )
    assert q["rag-eval"].hint == "检索与生成分开评估"
    spec = q["什么是投机解码（speculative decoding）?"]
    assert (spec.line, spec.difficulty, spec.frequency) == (9, "hard", "high")  # 困难, 常考
    assert q["KV Cache 为什么能加速推理？"].line == 11


def test_csv_header_names_match_in_either_language_whatever_the_case_and_spacing():
    text = " Question \tReference_Answer\t难度（1-3）\tCATEGORY\tHint\nWhat is RoPE?\tRotary positions.\t易\tAttention\tangles\n"
    (q,) = read_csv(text).questions
    assert (q.text, q.answer, q.difficulty, q.section, q.hint) == (
        "What is RoPE?",
        "Rotary positions.",
        "easy",
        "Attention",
        "angles",
    )


def test_csv_without_a_question_column_is_a_file_error_at_its_header_line():
    with pytest.raises(BankError) as exc:
        read_questions("\n\nterm,definition\nx,y\n", "csv", "cards.csv")
    assert exc.value.line == 3 and "'term', 'definition'" in exc.value.message and "问题" in exc.value.message


def test_csv_broken_quotes_and_extra_fields_are_rejected_at_the_line_the_record_starts():
    text = (
        'question,answer\n"ok?",fine\nsplit, by a comma,answer,extra\n"closed"oops,x\nlast?,"never\nclosed\n'
    )
    got = read_csv(text)
    assert [q.text for q in got.questions] == ["ok?"]
    assert [line for line, _ in got.rejections] == [3, 4, 5]
    assert "quote a field" in got.rejections[0][1]
    assert "never closed" in got.rejections[2][1]


def test_json_entries_are_rejected_with_their_number_and_line():
    got = read("questions.json")
    assert got.title == "LLM interview questions"
    assert got.rejections == [
        (18, "no question (entry 3 has no 'question' or '问题')"),
        (19, "entry 4 is a number; expected an object with a question"),
        (26, "entry 2: unknown difficulty 'extreme'; use 易/中/难 or easy/medium/hard"),
    ]
    q = by_text(got)
    assert q["What is the difference between RLHF and DPO?"].answer.count("\n") == 1
    assert q["What does continuous batching improve?"].section == "Serving"  # a plain string entry
    prefill = q["What is the prefill phase and the decode phase?"]
    assert (prefill.frequency, prefill.difficulty) == ("medium", "easy")  # from Anki-style tags


@pytest.mark.parametrize(
    "text",
    [
        '[{"问题": "什么是 MoE？", "答案": "混合专家", "分类": "架构"}]',
        '{"questions": [{"question": "什么是 MoE？", "answer": "混合专家", "section": "架构"}]}',
        '{"架构": [{"q": "什么是 MoE？", "a": "混合专家"}]}',
        '[{"name": "架构", "questions": [{"question": "什么是 MoE？", "answer": ["混合专家"]}]}]',
        '{"question": "什么是 MoE？", "answer": "混合专家", "category": "架构"}\n{"question": "什么是 MoE？"}\n',
    ],
    ids=["list", "questions-key", "section-map", "list-of-sections", "json-lines"],
)
def test_json_accepts_the_usual_shapes(text):
    first = read_json(text).questions[0]
    assert (first.text, first.answer, first.section) == ("什么是 MoE？", "混合专家", "架构")


def test_json_syntax_error_names_its_line():
    with pytest.raises(BankError) as exc:
        read_questions('[\n  {"question": "a"},\n  {"question": "b",}\n]\n', "json", "q.json")
    assert exc.value.line == 3 and "not valid JSON" in exc.value.message


def test_anki_text_export_gives_plain_text_sections_from_the_deck_and_levels_from_the_tags():
    got = read("anki-notes.txt")
    assert got.rejections == [(10, "no question (the first field is empty)")]
    q = by_text(got)
    mha = q["多头注意力（Multi-Head Attention）的作用是什么？"]
    assert (
        mha.answer
        == "让模型在不同的子空间里关注不同位置的信息。\n每个头的维度是 d_model / h，总计算量与单头相近。"
    )
    assert (mha.section, mha.frequency, mha.difficulty) == ("注意力", "high", "easy")
    assert "为什么 Q&K 的点积要除以 √d_k？" in q  # a quoted field, entities decoded
    assert q["为什么 Q&K 的点积要除以 √d_k？"].answer.endswith("导致梯度消失。\n方差随 d_k 线性增长。")
    assert "什么是 <eos> token？" in q
    assert (
        q["FlashAttention 为什么快？"].difficulty == "hard"
        and q["FlashAttention 为什么快？"].frequency is None
    )


def test_anki_text_export_without_a_header_reads_front_and_back():
    (q,) = read_anki("What is LoRA?\tLow-rank <i>adapters</i>&nbsp;for fine-tuning\n").questions
    assert (q.text, q.answer) == ("What is LoRA?", "Low-rank adapters for fine-tuning")


@pytest.mark.parametrize(
    ("name", "text", "fmt"),
    [
        ("notes.txt", "#separator:tab\n#html:true\nQ\tA\n", "anki"),
        (
            "deck.txt",
            "What is LoRA?\tLow-rank adapters\nWhat is DPO?\tDirect preference optimisation\n",
            "anki",
        ),
        ("q.json", "[]", "json"),
        ("q.txt", '[{"question": "x"}]', "json"),
        ("q.tsv", "question\tanswer\n", "csv"),
        ("q.txt", "问题,答案\n什么是 MoE？,混合专家\n", "csv"),
        ("q.md", "question,answer\n", "md"),
        ("q.txt", "1. 什么是 MoE？\n", "md"),
        ("q.txt", "[频率:高] 1. 什么是 MoE？\n", "md"),
    ],
)
def test_auto_detects_by_extension_then_content(name, text, fmt):
    assert detect_format(name, text) == fmt


# ---------------------------------------------------------------- the bank written


def _written_text(text: str, name: str):
    return import_text(text, "auto", Path(name), "imported", "zh")[0]


def _written(path: Path, bank_name: str = "imported", lang: str = "zh"):
    return import_text(read_source(path), "auto", path, bank_name, lang)[0]


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_import_write_parse_gives_back_the_same_questions(path):
    found = read_questions(read_source(path), "auto", str(path))[0]
    bank = _written(path)
    parsed = parse_markdown(bank.text, "x.md", "imported").questions
    rejected = {line for line, _ in bank.rejections}
    kept = [q for q in found.questions if q.line not in rejected]
    assert len(parsed) == len(kept) > 0
    by_text_written = {p.text: p for p in parsed}
    for q in kept:
        p = by_text_written[q.text]
        assert (p.hint, p.frequency or "", p.difficulty or "") == (
            q.hint,
            q.frequency or "medium",
            q.difficulty or "medium",
        )
        assert p.section == (q.section or found.title or "imported")
        if q.id:
            assert p.id == q.id
    assert [(p.id, p.text) for p in bank.questions] == [(p.id, p.text) for p in parsed]


def test_the_seed_bank_imports_to_the_same_questions():
    for seed in (SEED, SEED.with_name("llm-basics.en.md")):
        bank = _written(seed, "llm-basics", "en" if ".en." in seed.name else "zh")
        again = parse_markdown(bank.text, "x.md", "llm-basics").questions
        fields = lambda q: (q.id, q.section, q.text, q.hint, q.frequency, q.difficulty)  # noqa: E731
        assert [fields(q) for q in again] == [fields(q) for q in load_bank(seed).questions]
        assert bank.guessed == 0 and not bank.rejections and "guessed" not in bank.text


def test_absent_tags_are_written_as_medium_and_marked_guessed_in_a_comment_the_parser_ignores():
    bank = _written(DATA / "numbered.zh.md")
    lines = bank.text.splitlines()
    i = lines.index("2. [频率:中][难度:中] 解释一下 Temperature 参数，它对生成结果有什么影响？")
    assert lines[i + 1] == "<!-- guessed: frequency, difficulty -->"
    assert (
        "3. [频率:高][难度:中] 为什么大模型会产生幻觉？ 提示：训练数据、解码策略、知识边界。" in lines
    )  # given: no mark
    parsed = parse_markdown(bank.text, "x.md", "x").questions
    marked = guessed_tags(bank.text)
    assert {q.id for q in parsed if q.line in marked} == {"1.1", "1.2", "2.1", "2.2"}
    assert bank.guessed == 4
    only_difficulty = build_bank(read_json('[{"q": "x?", "frequency": "高"}]').questions, [], title="", default_section="S",
                                 source="s.json", bank_name="b", lang="zh")  # fmt: skip
    assert "<!-- guessed: difficulty -->" in only_difficulty.text
    again = _written_text(bank.text, "numbered.md")
    assert (
        again.text.split("\n", 3)[3] == bank.text.split("\n", 3)[3]
    )  # importing the bank again keeps the marks


def test_english_questions_are_written_with_english_tags():
    bank = _written(DATA / "questions.json")
    assert (
        "1. [freq:high][difficulty:hard] What is the difference between RLHF and DPO? Hint: reward model"
        in bank.text
    )


def test_text_a_bank_would_misread_is_rejected_with_its_line():
    text = "question,hint\n[注意:必考] 什么是 MoE？,\n什么是 CoT 提示：举例,思维链\n重复的问题？,\n重复的问题？,\n"
    got = read_csv(text)
    bank = build_bank(
        got.questions, got.rejections, title="", default_section="S", source="q.csv", bank_name="q", lang="zh"
    )
    reasons = dict(bank.rejections)
    assert (
        "unknown tag" in reasons[2] and "提示" in reasons[3] and reasons[5] == "the same question as line 4"
    )
    assert [q.text for q in bank.questions] == ["重复的问题？"]


def test_ids_are_kept_checked_and_position_like_ones_left_to_the_bank():
    text = "id,question\nmoe,什么是 MoE？\nmoe,什么是 MoD？\nbad id!,什么是 MLA？\n1.2,什么是 GQA？\n"
    got = read_csv(text)
    bank = build_bank(
        got.questions, got.rejections, title="", default_section="S", source="q.csv", bank_name="q", lang="zh"
    )
    assert [q.id for q in bank.questions] == [
        "moe",
        "1.2",
    ]  # "1.2" is the bank's own number for the GQA question
    assert dict(bank.rejections) == {
        3: "id 'moe' is already used at line 2",
        4: "bad id 'bad id!': use letters, digits, '.', '-' or '_'",
    }
    assert any("left out" in n for n in bank.notes)


def test_answers_become_the_reference_answer_of_a_rubric_file_that_parses():
    bank = _written(DATA / "questions.csv", "rag", "zh")
    assert set(bank.rubrics) == {"rag-eval", "chunking", "2.1", "2.2"}
    rubric = parse_rubric(bank.rubrics["chunking"])
    assert (
        rubric.question_id == "chunking" and rubric.criteria == []
    )  # the grader derives them from the answer
    assert rubric.question.startswith("文档切分")
    assert rubric.reference_answer == read("questions.csv").questions[1].answer
    tricky = 'C:\\path, a "quote", three """ quotes and a tab\there'
    bank = build_bank(read_json(json.dumps([{"q": "什么是 RAG？", "a": tricky}])).questions, [], title="",
                      default_section="S", source="s.json", bank_name="b", lang="zh")  # fmt: skip
    assert tomllib.loads(bank.rubrics["1.1"])["reference_answer"].strip() == tricky
    short = build_bank(read_json('[{"q": "RAG", "a": "检索增强生成"}]').questions, [], title="", default_section="S",
                       source="s.json", bank_name="b", lang="zh")  # fmt: skip
    assert parse_rubric(short.rubrics["1.1"]).reference_answer == "检索增强生成"


def test_rubric_files_go_beside_the_bank_folder_where_the_grader_looks(home):
    assert rubric_folder(home / "bank" / "mine.md", "mine") == home / "rubrics" / "mine"
    assert rubric_folder(Path("prep/mine.md"), "mine") == Path("prep/rubrics/mine")


# ---------------------------------------------------------------- the command


def test_import_writes_the_bank_and_rubrics_into_the_data_home_where_they_are_used(cli, home):
    out = home / "bank" / "rag.md"
    r = cli("bank", "import", str(DATA / "questions.csv"), "-o", str(out))
    assert r.exit_code == 0, r
    assert r.stdout == ""
    err = r.stderr.splitlines()
    assert err[:2] == [
        f"{DATA / 'questions.csv'}:8: no question (the '问题' column is empty)",
        f"{DATA / 'questions.csv'}:10: unknown difficulty '超级难'; use 易/中/难 or easy/medium/hard",
    ]
    assert (
        "Imported 4 question(s)" in err[-1] and "2 rejected" in err[-1] and "4 reference answer(s)" in err[-1]
    )
    assert (home / "rubrics" / "rag" / "chunking.toml").is_file()
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    shown = cli("rubric", "show", "rag:chunking")
    assert shown.exit_code == 0, shown
    assert "Reference answer:\n常见策略：" in shown.stdout and "Rubric: reference" in shown.stdout
    assert cli("rubric", "validate", str(home / "rubrics")).exit_code == 0
    listed = cli("bank", "list", "--json").json_lines()
    assert {row["ref"] for row in listed} >= {"rag:rag-eval", "rag:chunking", "rag:2.1", "rag:2.2"}
    validated = cli("bank", "validate", str(out), "--json").json_lines()[0]
    assert validated["guessed_tags"] == ["2.2"]


def test_import_without_o_prints_the_bank_and_says_the_answers_were_not_kept(cli, tmp_path):
    r = cli("bank", "import", str(DATA / "baguwen.md"))
    assert r.exit_code == 0, r
    assert (
        parse_markdown(r.stdout, "x.md", "x").questions[0].text.startswith("Transformer 为什么用 LayerNorm")
    )
    assert "5 answer(s) not kept: give -o" in r.stderr
    assert not (tmp_path / "rubrics").exists()


def test_import_never_overwrites_without_force(cli, tmp_path):
    out = tmp_path / "mine.md"
    out.write_text("my own bank\n", encoding="utf-8")
    r = cli("bank", "import", str(DATA / "questions.json"), "-o", str(out))
    assert r.exit_code == 2 and "--force" in r.stderr and out.read_text(encoding="utf-8") == "my own bank\n"
    out.unlink()
    (tmp_path / "rubrics" / "mine").mkdir(parents=True)
    (tmp_path / "rubrics" / "mine" / "1.1.toml").write_text("# mine\n", encoding="utf-8")
    r = cli("bank", "import", str(DATA / "questions.json"), "-o", str(out))
    assert r.exit_code == 2 and "1.1.toml" in r.stderr and "--force" in r.stderr and not out.exists()
    r = cli("bank", "import", str(DATA / "questions.json"), "-o", str(out), "--force")
    assert r.exit_code == 0, r
    assert "reference_answer" in (tmp_path / "rubrics" / "mine" / "1.1.toml").read_text(encoding="utf-8")
    assert load_bank(out).questions[0].text == "What is the difference between RLHF and DPO?"


def _one_line_error(r, *needles):
    assert r.exit_code == 2, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr and "unexpected" not in r.stderr, r
    for needle in needles:
        assert needle in lines[0], r
    return lines[0]


def test_the_output_must_be_a_markdown_bank_file(cli, tmp_path):
    _one_line_error(
        cli("bank", "import", str(DATA / "questions.csv"), "-o", str(tmp_path / "mine.toml")), "NAME.md"
    )
    assert not (tmp_path / "mine.toml").exists()


def test_a_wrong_format_flag_is_a_usage_error(cli):
    _one_line_error(
        cli("bank", "import", str(DATA / "questions.csv"), "--format", "xlsx"), "--format", "anki"
    )
    md = DATA / "baguwen.md"
    _one_line_error(
        cli("bank", "import", str(md), "--format", "json"), f"{md}:1:", "not valid JSON", "--format auto"
    )
    _one_line_error(cli("bank", "import", str(md), "--format", "csv"), f"{md}:1:", "no question column")


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("blob.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        ("empty.md", b"", "empty"),
        ("blank.csv", b"\n  \r\n\t\n", "empty"),
        ("gbk.csv", "问题,答案\n什么是注意力？,加权求和\n".encode("gbk"), "UTF-8"),
        ("deck.apkg", b"PK\x03\x04" + b"\x00" * 64, "Notes in Plain Text"),
        ("sheet.xlsx", b"PK\x03\x04" + b"\x00" * 64, "CSV UTF-8"),
        ("prose.md", "只是一段笔记，没有题目。\n".encode(), "no questions found"),
        ("all-bad.json", b'[{"answer": "a"}, 3]', "every entry was rejected"),
        ("missing.md", None, "not found"),
        ("folder", "dir", "folder"),
    ],
)
def test_unusable_files_give_one_line_naming_the_file(cli, tmp_path, name, content, needle):
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    r = cli("bank", "import", str(path))
    if name == "all-bad.json":  # the rejected entries are listed first, each with its line, then the error
        assert r.exit_code == 2 and r.stderr.count(f"{path}:1:") == 2, r
        assert needle in r.stderr.strip().splitlines()[-1]
        return
    line = _one_line_error(r, str(path), needle)
    if name == "gbk.csv":
        assert f"{path}:1:" in line


def test_bom_windows_line_endings_and_utf16_import_like_plain_utf8(cli, tmp_path):
    plain = '分类,问题,答案\n基础,什么是 BOM？,"字节顺序标记\n放在文件开头"\n'
    variants = {
        "bom.csv": b"\xef\xbb\xbf" + plain.encode(),
        "crlf.csv": plain.replace("\n", "\r\n").encode(),
        "utf16.csv": plain.encode("utf-16"),
        "old-mac.csv": plain.replace("\n", "\r").encode(),
    }
    for name, data in variants.items():
        (tmp_path / name).write_bytes(data)
        r = cli(
            "bank", "import", str(tmp_path / name), "-o", str(tmp_path / "out" / name.replace(".csv", ".md"))
        )
        assert r.exit_code == 0, (name, r)
        (q,) = load_bank(tmp_path / "out" / name.replace(".csv", ".md")).questions
        assert (q.section, q.text) == ("基础", "什么是 BOM？"), name
        answer = tomllib.loads(
            (tmp_path / "out" / "rubrics" / name[:-4] / "1.1.toml").read_text(encoding="utf-8")
        )
        assert answer["reference_answer"].strip() == "字节顺序标记\n放在文件开头", name
