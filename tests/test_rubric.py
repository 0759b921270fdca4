import pytest
from conftest import ROOT, SEED

from interviewer.content.bank import Question, load_bank
from interviewer.content.rubric import (
    ACCURACY_ID,
    derive_rubric,
    hint_terms,
    parse_rubric,
    reference_rubric,
    rubric_for,
)
from interviewer.errors import RubricError


def test_hint_with_list_and_angle_phrase_gives_three_criteria():
    assert hint_terms("从并行化、全局感受野、梯度传播角度分析。") == ["并行化", "全局感受野", "梯度传播"]


@pytest.mark.parametrize(
    "hint, terms",
    [
        ("关注输入输出对齐、对话生成与翻译等场景。", ["输入输出对齐", "对话生成", "翻译"]),
        ("强调梯度流动和参数尺度控制。", ["梯度流动", "参数尺度控制"]),
        ("结合多语言 Adapter、LoRA 或 embedding 扩展。", ["多语言 Adapter", "LoRA", "embedding 扩展"]),
        ("结合张量并行、流水线并行以及 ZeRO 等策略。", ["张量并行", "流水线并行", "ZeRO"]),
        ("提及 vLLM、TGI、SGLang 等。", ["vLLM", "TGI", "SGLang"]),
        ("关注评估、性能、合规流程。", ["评估", "性能", "合规流程"]),
        (
            "Focus on parallelism, global receptive field and gradient flow.",
            ["parallelism", "global receptive field", "gradient flow"],
        ),
    ],
)
def test_hint_shapes(hint, terms):
    assert hint_terms(hint) == terms


def test_every_seed_hint_derives_at_least_two_named_criteria():
    for q in load_bank(SEED).questions:
        r = derive_rubric(q)
        assert len(r.criteria) >= 2, q.id
        assert all(c.name.strip() and c.key_points for c in r.criteria), q.id
        assert len({c.id for c in r.criteria}) == len(r.criteria)
        assert r.all_criteria[-1].id == ACCURACY_ID


def test_derivation_is_deterministic():
    q = load_bank(SEED).questions[0]
    assert derive_rubric(q).to_dict() == derive_rubric(q).to_dict()
    assert derive_rubric(q).version_tag == derive_rubric(q).version_tag


def test_single_aspect_hint_borrows_the_question_parts(seed_questions):
    r = derive_rubric(seed_questions["2.4"])
    assert len(r.criteria) == 2
    assert "Query/Key" in r.criteria[0].name


def test_derived_criteria_match_english_through_the_glossary(seed_questions):
    r = derive_rubric(seed_questions["1.1"])
    aliases = {a.lower() for c in r.criteria for kp in c.key_points for a in kp.aliases}
    assert "parallel" in aliases or "parallelism" in aliases


def test_curated_rubric_replaces_derived(seed_questions):
    r = rubric_for(seed_questions["2.1"])
    assert r.source == "curated" and r.version_tag == f"curated-v{r.version}" and r.version >= 1
    assert {c.id for c in r.criteria} >= {"flow", "scaling"}
    assert r.reference_answer and r.mistakes


def test_user_rubric_in_home_overrides_shipped(home, seed_questions):
    d = home / "rubrics" / "llm-basics"
    d.mkdir(parents=True)
    (d / "2.1.toml").write_text(
        'question_id = "2.1"\nversion = 7\n[[criteria]]\nid = "only"\nname = "Only"\n'
        '[[criteria.key_points]]\ntext = "t"\naliases = ["softmax"]\n',
        encoding="utf-8",
    )
    r = rubric_for(seed_questions["2.1"], home)
    assert r.version == 7 and [c.id for c in r.criteria] == ["only"]


@pytest.mark.parametrize(
    "body, fragment",
    [
        ('version = 1\n[[criteria]]\nid="a"\nname="A"\n', "question_id"),
        ('question_id="2.1"\n', "at least one criterion"),
        ('question_id="2.1"\n[[criteria]]\nid="Bad Id"\nname="A"\n', "slug"),
        ('question_id="2.1"\n[[criteria]]\nid="accuracy"\nname="A"\n', "reserved"),
        ('question_id="2.1"\n[[criteria]]\nid="a"\nname="A"\nweight=0\n', "weight"),
        ('question_id="2.1"\n[[criteria]]\nid="a"\nname=""\n', "no name"),
        ('question_id="2.1"\n[[criteria]]\nid="a"\nname="A"\n', "no key_points"),
        (
            'question_id="2.1"\n[[criteria]]\nid="a"\nname="A"\n[[criteria.key_points]]\ntext="t"\naliases=[""]\n',
            "empty",
        ),
        (
            'question_id="2.1"\n[[criteria]]\nid="a"\nname="A"\n[[criteria.key_points]]\ntext="t"\naliases=["x"]\n'
            '[[criteria]]\nid="a"\nname="B"\n[[criteria.key_points]]\ntext="t"\naliases=["x"]\n',
            "duplicate criterion",
        ),
        ('question_id = "2.1\n', "invalid TOML"),
    ],
)
def test_invalid_rubric_files_are_rejected(body, fragment):
    with pytest.raises(RubricError, match=fragment):
        parse_rubric(body, "r.toml")


def test_reference_rubric_points_come_from_the_reference():
    r = reference_rubric(
        "x",
        "What does a KV cache store?",
        "It stores the keys and values of past tokens. This avoids recomputing them.",
    )
    assert r.source == "reference"
    assert len(r.criteria[0].key_points) == 2


def test_shipped_rubrics_all_validate(cli):
    r = cli("rubric", "validate")
    assert r.exit_code == 0, r
    count = int(r.stdout.split()[1])
    assert count == len(list((ROOT / "rubrics").rglob("*.toml"))) - 1  # all but the glossary


def test_rubric_validate_rejects_unknown_question(cli, tmp_path):
    d = tmp_path / "llm-basics"
    d.mkdir()
    (d / "9.9.toml").write_text(
        'question_id="9.9"\n[[criteria]]\nid="a"\nname="A"\n[[criteria.key_points]]\ntext="t"\naliases=["x"]\n'
    )
    r = cli("rubric", "validate", str(d))
    assert r.exit_code == 2
    assert "9.9" in r.stderr and "9.9.toml" in r.stderr


def test_rubric_show_says_curated_or_derived(cli, tmp_path):
    r = cli("rubric", "show", "2.1")
    assert r.exit_code == 0 and "curated" in r.stdout
    bank = tmp_path / "b.md"
    bank.write_text(
        "## S\n1. [freq:high][difficulty:easy] Q? Hint: 讨论平滑性、对称性与训练稳定性。\n", encoding="utf-8"
    )
    r = cli("rubric", "show", "1.1", "--bank", str(bank))
    assert r.exit_code == 0 and "derived" in r.stdout and "平滑性" in r.stdout


def test_question_with_no_hint_gets_rubric_from_its_text():
    q = Question(
        id="1.1", bank="b", section="S", section_index=1, text="解释 KV Cache 的原理，并说明如何复用缓存？"
    )
    assert len(derive_rubric(q).criteria) >= 2
