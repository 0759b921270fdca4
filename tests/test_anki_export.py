"""`interviewer export --format anki`: a bank as an Anki package whose collection holds one note per question."""

from __future__ import annotations

import html
import json
import re
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, SEED

from interviewer.content.bank import load_bank
from interviewer.content.formats.table import read_anki
from interviewer.content.rubric import rubric_for
from interviewer.results.anki import text_to_html

FIELD_SEP = "\x1f"


def collection(apkg: Path, tmp_path: Path) -> sqlite3.Connection:
    with zipfile.ZipFile(apkg) as z:
        assert set(z.namelist()) == {"collection.anki2", "media"}
        assert json.loads(z.read("media")) == {}
        z.extract("collection.anki2", tmp_path / "unzipped")
    return sqlite3.connect(tmp_path / "unzipped" / "collection.anki2")


def notes(db: sqlite3.Connection) -> list[dict]:
    fields = [
        f["name"]
        for f in next(iter(json.loads(db.execute("select models from col").fetchone()[0]).values()))["flds"]
    ]
    rows = db.execute("select guid, flds, tags from notes order by id").fetchall()
    return [
        {"guid": g, "tags": t.split(), **dict(zip(fields, flds.split(FIELD_SEP), strict=True))}
        for g, flds, t in rows
    ]


def decks(db: sqlite3.Connection) -> dict[str, int]:
    return {
        d["name"]: d["id"] for d in json.loads(db.execute("select decks from col").fetchone()[0]).values()
    }


@pytest.fixture
def seed_package(cli, tmp_path):
    out = tmp_path / "deck.apkg"
    r = cli("export", "--format", "anki", "-o", str(out))
    assert r.exit_code == 0, r
    assert r.stdout == "" and "50 notes" in r.stderr
    return out


def test_the_package_is_a_zip_whose_collection_lists_every_seed_question(seed_package, tmp_path):
    db = collection(seed_package, tmp_path)
    assert db.execute("select count(*) from cards").fetchone() == (50,)
    got = notes(db)
    assert [n["Question"] for n in got] == [html.escape(q.text) for q in load_bank(SEED).questions]
    assert "Weights &amp; Biases" in got[40]["Question"]
    assert len({n["guid"] for n in got}) == 50
    assert oct(seed_package.stat().st_mode & 0o777) == "0o600"
    assert not list(tmp_path.glob(".deck.apkg*"))  # no partial file left behind


def test_the_back_holds_the_hint_and_the_curated_reference_answer(seed_package, tmp_path):
    q21 = {q.id: q for q in load_bank(SEED).questions}["2.1"]
    note = next(n for n in notes(collection(seed_package, tmp_path)) if n["Ref"] == "llm-basics:2.1")
    assert note["Hint"] == q21.hint and note["Section"] == "注意力机制与训练优化"
    assert note["Answer"] == text_to_html(rubric_for(q21).reference_answer) and "√d_k" in note["Answer"]
    assert note["Info"] == "频率 高 · 难度 易" and note["tags"] == ["freq::high", "difficulty::easy"]


def test_the_english_edition_uses_the_english_reference_answers(cli, tmp_path):
    out = tmp_path / "en.apkg"
    assert cli("export", "--format", "anki", "--lang", "en", "-o", str(out)).exit_code == 0
    got = notes(collection(out, tmp_path))
    note = next(n for n in got if n["Ref"] == "llm-basics:2.1")
    assert "scaled dot-product attention" in note["Question"].lower()
    assert note["Answer"].startswith("The input X is linearly projected") and not re.search(
        r"[\u4e00-\u9fff]", note["Answer"]
    )
    assert note["Info"] == "frequency high · difficulty easy"
    assert "LLM and Model Fundamentals::Attention Mechanisms and Training Optimization" in decks(
        collection(out, tmp_path / "again")
    )


def test_sections_are_subdecks_of_one_deck_per_bank(seed_package, tmp_path):
    db = collection(seed_package, tmp_path)
    sections = load_bank(SEED).sections
    names = decks(db)
    assert {f"LLM 与模型基础::{s}" for s in sections} | {"LLM 与模型基础"} <= set(names)
    by_id = {v: k for k, v in names.items()}
    for (did,) in db.execute("select did from cards"):
        assert by_id[did].split("::")[1] in sections


def test_ids_are_stable_so_importing_again_updates_the_notes(cli, tmp_path, seed_package):
    again = tmp_path / "again.apkg"
    assert cli("export", "--format", "anki", "-o", str(again)).exit_code == 0
    first, second = collection(seed_package, tmp_path / "a"), collection(again, tmp_path / "b")
    assert [n["guid"] for n in notes(first)] == [n["guid"] for n in notes(second)]
    assert decks(first) == decks(second)
    model_ids = [
        json.loads(db.execute("select models from col").fetchone()[0]).keys() for db in (first, second)
    ]
    assert model_ids[0] == model_ids[1]
    en = tmp_path / "en.apkg"
    assert cli("export", "--format", "anki", "--lang", "en", "-o", str(en)).exit_code == 0
    assert not {n["guid"] for n in notes(collection(en, tmp_path / "c"))} & {n["guid"] for n in notes(first)}


def test_question_text_is_html_escaped(cli, tmp_path):
    bank = tmp_path / "html.md"
    bank.write_text(
        "# <b>Deck</b>\n\n## <i>S</i>\n\n"
        "1. [freq:high][difficulty:easy] Why is <script>alert(1)</script> & a<b not markup? Hint: use &lt; and <br>\n",
        encoding="utf-8",
    )
    out = tmp_path / "html.apkg"
    assert cli("export", "--format", "anki", "--bank", str(bank), "-o", str(out)).exit_code == 0
    (note,) = notes(collection(out, tmp_path))
    assert note["Question"] == "Why is &lt;script&gt;alert(1)&lt;/script&gt; &amp; a&lt;b not markup?"
    assert note["Hint"] == "use &amp;lt; and &lt;br&gt;" and note["Section"] == "&lt;i&gt;S&lt;/i&gt;"
    assert note["Answer"] == ""


def test_reference_answers_become_html_paragraphs_lists_and_code():
    text = "第一段的第一行，\n接着写。\n\n- 要点一\n- 要点 <二>\n\n```python\nif a < b:\n    pass\n```"
    assert text_to_html(text) == (
        "第一段的第一行，接着写。<br><br>- 要点一<br>- 要点 &lt;二&gt;<br><br>"
        "<pre><code>if a &lt; b:\n    pass</code></pre>"
    )
    assert text_to_html("wrapped English\nline") == "wrapped English line"


def test_the_package_reads_back_through_its_anki_text_export(seed_package, tmp_path):
    """What Anki's "Notes in Plain Text" export of this deck gives (GUID, note type, deck, fields, tags columns),
    imported again, is the same questions with their levels and reference answers."""
    db = collection(seed_package, tmp_path)
    model = next(iter(json.loads(db.execute("select models from col").fetchone()[0]).values()))
    by_id = {v: k for k, v in decks(db).items()}
    lines = [
        "#separator:tab",
        "#html:true",
        "#guid column:1",
        "#notetype column:2",
        "#deck column:3",
        "#tags column:10",
    ]
    for guid, flds, tags, did in db.execute(
        "select n.guid, n.flds, n.tags, c.did from notes n join cards c on c.nid = n.id"
    ):
        lines.append("\t".join([guid, model["name"], by_id[did], *flds.split(FIELD_SEP), tags.strip()]))
    back = read_anki("\n".join(lines) + "\n")
    seed = load_bank(SEED).questions
    assert not back.rejections
    assert [(q.text, q.section, q.hint, q.frequency, q.difficulty) for q in back.questions] == [
        (q.text, q.section, q.hint, q.frequency, q.difficulty) for q in seed
    ]
    assert back.questions[7].answer.startswith(rubric_for(seed[7]).reference_answer.split("\n")[0][:20])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["export", "--format", "anki"], "-o NAME.apkg"),
        (["export", "--format", "anki", "-o", "deck.txt"], "-o NAME.apkg"),
        (["export", "--last", "--format", "anki", "-o", "deck.apkg"], "not a session"),
        (["export", "--last", "--bank", "bank/llm-basics.md"], "--format anki"),
        (["export", "--format", "apkg", "-o", "deck.apkg"], "--format"),
    ],
)
def test_anki_export_flags_are_checked(cli, args, needle):
    r = cli(*args)
    assert r.exit_code == 2, r
    assert len(r.stderr.strip().splitlines()) == 1 and needle in r.stderr, r


def test_an_unwritable_output_is_one_line_exit_1(cli, tmp_path):
    r = cli("export", "--format", "anki", "-o", str(tmp_path / "missing-folder" / "deck.apkg"))
    assert r.exit_code == 1 and "cannot write" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r


@pytest.mark.slow
def test_anki_itself_imports_the_package_and_updates_it_on_a_second_import(cli, tmp_path):
    """With Anki's own Python library installed (`pip install anki`; not a dependency), the package is imported
    as Anki would: every question a new note, and the next export's import updates them all."""
    anki = pytest.importorskip("anki.collection")
    first, second = tmp_path / "a.apkg", tmp_path / "b.apkg"
    assert cli("export", "--format", "anki", "-o", str(first)).exit_code == 0
    assert cli("export", "--format", "anki", "-o", str(second)).exit_code == 0
    col = anki.Collection(str(tmp_path / "collection.anki2"))
    try:
        options = anki.ImportAnkiPackageOptions(with_scheduling=False)
        log = col.import_anki_package(
            anki.ImportAnkiPackageRequest(package_path=str(first), options=options)
        ).log
        assert (len(log.new), col.note_count(), col.card_count()) == (50, 50, 50)
        log = col.import_anki_package(
            anki.ImportAnkiPackageRequest(package_path=str(second), options=options)
        ).log
        assert (len(log.new), len(log.updated), col.note_count()) == (0, 50, 50)
    finally:
        col.close()


def test_genanki_is_loaded_only_by_the_anki_export():
    code = "import sys, interviewer.cli, interviewer.results.anki; print('genanki' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr
