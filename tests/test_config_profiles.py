"""Named model profiles in config.toml (`[models.fast]`, used as `--model fast`) and `config set/get/path/edit`:
the file is changed one setting at a time, kept 0600, and checked before it is written."""

import os
import stat
import sys

import pytest

PROFILES = """# my settings
timeout = 30

[models.fast]
model = "openai/gpt-4o-mini"
api_key_env = "MY_FAST_KEY"   # the key stays in the environment

[models.local]
model = "openai/qwen2.5-7b-instruct"
api_base = "http://127.0.0.1:8000/v1"
timeout = 120
"""


@pytest.fixture
def config(home):
    path = home / "config.toml"
    path.write_text(PROFILES, encoding="utf-8")
    path.chmod(0o600)
    return path


def show(cli, *args) -> dict:
    (rows,) = cli("config", "show", "--json", *args).json_lines()
    return rows


def test_a_profile_named_as_the_model_stands_in_for_its_settings(config, monkeypatch):
    from interviewer.config import load_settings

    monkeypatch.setenv("MY_FAST_KEY", "sk-fast-0123456789")
    monkeypatch.setenv("INTERVIEWER_API_BASE", "http://elsewhere/v1")  # the profile names its own endpoint
    local = load_settings({"model": "local"})
    assert (local.model, local.api_base, local.timeout, local.profile) == (
        "openai/qwen2.5-7b-instruct", "http://127.0.0.1:8000/v1", 120.0, "local",
    )  # fmt: skip
    assert local.sources["api_base"] == f"profile local ({config})"
    assert (
        load_settings({"model": "local", "api_base": "http://flag/v1"}).api_base == "http://flag/v1"
    )  # flag wins
    fast = load_settings({"model": "fast"})
    assert (fast.model, fast.api_key, fast.timeout) == ("openai/gpt-4o-mini", "sk-fast-0123456789", 30.0)
    assert fast.sources["api_key"] == "env MY_FAST_KEY (profile fast)"
    plain = load_settings({"model": "openai/gpt-4o"})
    assert plain.profile is None and plain.api_base == "http://elsewhere/v1"


def test_a_session_graded_through_a_profile_uses_its_model_and_endpoint(cli, home, llm_server, tmp_path):
    path = home / "config.toml"
    path.write_text(f'[models.here]\nmodel = "openai/fake-model"\napi_base = "{llm_server.base_url}"\n')
    path.chmod(0o600)
    answers = tmp_path / "a.txt"
    answers.write_text("Transformer 可以并行计算，任意两个位置直接交互。\n", encoding="utf-8")
    r = cli("start", "-n", "1", "--order", "bank", "--model", "here", "--answers", str(answers), "--json")
    assert r.exit_code == 0, r
    assert [q["json"]["model"] for q in llm_server.requests] == ["fake-model"]
    assert show(cli)["profile"] == {"value": None, "source": "derived"}
    r = cli("check", "--model", "here")
    assert r.exit_code == 0 and f"at {llm_server.base_url}" in r.stdout, r


def test_a_broken_profile_is_one_error_naming_the_file_and_the_profile(cli, home):
    path = home / "config.toml"
    for text, said in (
        ('[models.fast]\napi_base = "x"\n', "[models.fast]: needs model"),
        ('[models.fast]\nmodel = "openai/x"\nkey = "x"\n', "unknown field 'key'"),
        ('[models.fast]\nmodel = "openai/x"\ntimeout = "soon"\n', "timeout must be a float"),
        ('models = "fast"\n', "models must be tables"),
    ):
        path.write_text(text)
        path.chmod(0o600)
        r = cli("config", "show")
        assert r.exit_code == 2 and said in r.stderr and str(path) in r.stderr, (text, r)


def test_a_key_in_a_profile_needs_a_private_file(cli, home):
    path = home / "config.toml"
    path.write_text('[models.fast]\nmodel = "openai/x"\napi_key = "sk-in-the-file-123"\n')
    path.chmod(0o640)
    r = cli("config", "show")
    assert r.exit_code == 2 and "models.fast.api_key" in r.stderr and "chmod 600" in r.stderr


def test_config_set_changes_one_setting_and_keeps_the_rest_of_the_file(cli, config):
    assert cli("config", "set", "timeout", "45").exit_code == 0
    assert cli("config", "set", "models.local.timeout", "90").exit_code == 0
    r = cli("config", "set", "models.new.model", "anthropic/claude-3-5-haiku-latest")
    assert r.exit_code == 0 and f"in {config}" in r.stderr, r
    text = config.read_text()
    assert text.startswith("# my settings\ntimeout = 45.0\n")
    assert 'api_key_env = "MY_FAST_KEY"   # the key stays in the environment' in text
    assert "timeout = 90.0\n" in text and "timeout = 120" not in text
    assert text.endswith('[models.new]\nmodel = "anthropic/claude-3-5-haiku-latest"\n')
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert cli("config", "get", "timeout").stdout == "45.0\n"
    assert cli("config", "get", "models.local.timeout").stdout == "90.0\n"
    assert cli("config", "get", "models").stdout.splitlines() == [
        "fast = openai/gpt-4o-mini", "local = openai/qwen2.5-7b-instruct", "new = anthropic/claude-3-5-haiku-latest",
    ]  # fmt: skip


def test_config_set_refuses_what_would_break_the_file(cli, config):
    before = config.read_text()
    for args, said in (
        (["timeout", "soon"], "timeout must be a float"),
        (["check", "maybe"], "check must be one of on, off"),
        (["colour", "blue"], "unknown setting 'colour'"),
        (["models.fast.temperature", "0"], "unknown setting"),
        (["models.fast.api_key_env", "not a name"], "must name an environment variable"),
    ):
        r = cli("config", "set", *args)
        assert r.exit_code == 2 and said in r.stderr, (args, r)
    assert config.read_text() == before


def test_config_set_of_a_key_reads_it_unseen_and_writes_a_private_file(cli, home):
    path = home / "config.toml"
    r = cli("config", "set", "models.fast.api_key", input="sk-typed-unseen-42\n")
    assert r.exit_code == 2 and f"{path}: not changed: [models.fast]: needs model" in r.stderr, r
    assert not path.exists() and "sk-typed" not in r.stderr
    assert cli("config", "set", "models.fast.model", "openai/gpt-4o-mini").exit_code == 0
    r = cli("config", "set", "models.fast.api_key", input="sk-typed-unseen-42\n")
    assert r.exit_code == 0 and "sk-typed" not in r.stdout + r.stderr, r
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and 'api_key = "sk-typed-unseen-42"' in path.read_text()
    assert cli("config", "get", "models.fast.api_key").stdout == "sk-…42\n"  # masked
    assert cli("config", "get", "api_key").exit_code == 1  # not set: the profile is not in use


def test_config_get_of_a_setting_without_a_value_prints_nothing_and_exits_1(cli):
    r = cli("config", "get", "api_base")
    assert (r.exit_code, r.stdout) == (1, "") and "not set" in r.stderr


def test_config_path_and_edit(cli, home, tmp_path, monkeypatch):
    path = home / "config.toml"
    assert cli("config", "path").stdout == f"{path}\n"
    editor = tmp_path / "editor.py"
    editor.write_text("import sys\nopen(sys.argv[1], 'a').write('timeout = 15\\n')\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    r = cli("config", "edit")
    assert r.exit_code == 0 and "is valid" in r.stderr, r
    assert path.read_text().startswith("# interviewer settings") and path.read_text().endswith(
        "timeout = 15\n"
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cli("config", "get", "timeout").stdout == "15.0\n"
    editor.write_text("import sys\nopen(sys.argv[1], 'a').write('timeout = [\\n')\n")
    r = cli("config", "edit")
    assert r.exit_code == 2 and "invalid TOML" in r.stderr and "config edit" in r.stderr
    assert os.path.exists(path)  # kept as written, to fix
