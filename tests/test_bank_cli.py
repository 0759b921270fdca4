def test_bank_list_json_filters(cli):
    r = cli("bank", "list", "--section", "2", "--difficulty", "easy", "--json")
    assert r.exit_code == 0, r
    rows = r.json_lines()
    assert [row["id"] for row in rows] == ["2.1", "2.2"]
    assert rows[0]["frequency"] == "high"


def test_bank_show_prints_hint(cli):
    r = cli("bank", "show", "2.1")
    assert r.exit_code == 0
    assert "softmax" in r.stdout and "llm-basics:2.1" in r.stdout


def test_unknown_question_is_one_line_exit_2(cli):
    r = cli("bank", "show", "9.9")
    assert r.exit_code == 2
    assert r.stderr.strip().count("\n") == 0
    assert "9.9" in r.stderr and "Traceback" not in r.stderr


def test_bad_bank_file_error_names_file_and_line(cli, tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("## S\n1. [频率:高][难度:易] ok\n2. [频率:超高][难度:易] bad\n", encoding="utf-8")
    r = cli("bank", "list", "--bank", str(bad))
    assert r.exit_code == 2
    assert f"{bad}:3:" in r.stderr and "unknown frequency" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_bank_validate_notes_missing_hints(cli, tmp_path):
    b = tmp_path / "mine.md"
    b.write_text(
        "## S\n1. [freq:high][difficulty:easy] With hint? Hint: h\n2. [freq:low][difficulty:hard] No hint?\n"
    )
    r = cli("bank", "validate", str(b))
    assert r.exit_code == 0, r
    assert "2 questions" in r.stdout and "no hint for 1.2" in r.stdout


def test_user_banks_in_home_are_loaded_and_qualified(cli, home):
    (home / "bank").mkdir()
    (home / "bank" / "mine.md").write_text(
        "## Mine\n1. [freq:high][difficulty:easy] My own question? Hint: a, b\n"
    )
    r = cli("bank", "list", "--json")
    refs = [row["ref"] for row in r.json_lines()]
    assert "mine:1.1" in refs and "llm-basics:2.1" in refs
    assert cli("bank", "show", "mine:1.1").exit_code == 0


def test_lang_en_selects_the_english_edition(cli):
    r = cli("bank", "show", "2.1", "--lang", "en", "--json")
    assert r.exit_code == 0
    assert "scaled dot-product attention" in r.json_lines()[0]["text"].lower()
    assert r.json_lines()[0]["hint"].isascii()
