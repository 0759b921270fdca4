"""Several deployments of one model behind a profile ([[models.NAME.model_list]], litellm's format), routed by
litellm's Router against two local OpenAI-protocol servers: each grade records the deployment that served it, a
failing deployment leaves the work to the others, and nothing ever goes to another model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import grade_reply
from openai_server import FakeOpenAI, Reply, Status

from interviewer.errors import ConfigError


@pytest.fixture
def two_servers():
    with FakeOpenAI() as eu, FakeOpenAI() as us:
        eu.default = us.default = Reply(grade_reply())
        yield eu, us


def write_config(home: Path, eu: str, us: str, extra: str = "", mode: int = 0o600) -> Path:
    path = home / "config.toml"
    path.write_text(
        f"""[models.cohort]
model = "openai/gpt-4o-mini"
timeout = 5
retries = 4
{extra}
[[models.cohort.model_list]]
litellm_params = {{ model = "openai/gpt-4o-mini", api_base = "{eu}", api_key = "os.environ/EU_KEY", rpm = 600 }}
model_info = {{ id = "eu" }}

[[models.cohort.model_list]]
litellm_params = {{ model = "gpt-4o-mini", api_base = "{us}", api_key = "os.environ/US_KEY", rpm = 600 }}
model_info = {{ id = "us" }}
""",
        encoding="utf-8",
    )
    path.chmod(mode)
    return path


@pytest.fixture
def cohort(home, two_servers, monkeypatch):
    eu, us = two_servers
    write_config(home, eu.base_url, us.base_url)
    monkeypatch.setenv("EU_KEY", "sk-eu-0123456789")
    monkeypatch.setenv("US_KEY", "sk-us-0123456789")
    return eu, us


def batch_file(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "answers.jsonl"
    lines = [json.dumps({"id": f"a{i}", "question_id": "2.1", "answer": f"Attention scales QK^T by sqrt(d) {i}"})
             for i in range(n)]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def chat_requests(server) -> list[dict]:
    return [r for r in server.requests if r["path"].endswith("/chat/completions")]


# ------------------------------------------------------------ reading the profile


def test_a_profile_names_its_deployments_with_their_ids_and_limits(cohort):
    from interviewer.config import load_settings
    from interviewer.grading.deployments import describe

    settings = load_settings({"model": "cohort"})
    assert settings.model == "openai/gpt-4o-mini" and settings.profile == "cohort"
    assert settings.api_base is None  # never a stray endpoint: each deployment names its own
    rows = describe(settings.deployments)
    assert [r["id"] for r in rows] == ["eu", "us"]
    assert rows[0]["rpm"] == 600 and "api_key" not in rows[0]


def test_a_deployment_of_another_model_is_refused(home, two_servers):
    from interviewer.config import load_settings

    eu, us = two_servers
    path = write_config(home, eu.base_url, us.base_url)
    path.write_text(path.read_text().replace('model = "gpt-4o-mini"', 'model = "openai/gpt-4o"'))
    with pytest.raises(ConfigError) as err:
        load_settings({"model": "cohort"})
    assert "deployment 2 serves 'openai/gpt-4o', not the profile's 'openai/gpt-4o-mini'" in str(err.value)


def test_a_deployment_under_another_name_says_which_model_it_is(home, two_servers):
    from interviewer.config import load_settings

    eu, us = two_servers
    path = write_config(home, eu.base_url, us.base_url)
    text = path.read_text().replace('model = "gpt-4o-mini"', 'model = "azure/my-gpt4o-mini"')
    path.write_text(text.replace('id = "us"', 'id = "us", base_model = "gpt-4o-mini"'))
    assert [d["model_info"]["id"] for d in load_settings({"model": "cohort"}).deployments] == ["eu", "us"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('rpm = 600 }\nmodel_info = { id = "eu" }', 'rpm = 0 }\nmodel_info = { id = "eu" }'), "rpm must be a positive whole number, got 0"),
        (("rpm = 600", "rpm = 600, fallbacks = ['x']"), "unknown litellm_params field 'fallbacks'"),
        (('id = "us"', 'id = "eu"'), "model_info.id must be a word of its own"),
        (("[[models.cohort.model_list]]\nlitellm_params = { model = \"gpt", "[[models.cohort.model_list]]\n"
          "model_name = \"other\"\nlitellm_params = { model = \"gpt"), "different model groups (cohort, other)"),
        (("rpm = 600", 'rpm = 600, api_key_env = "EU"'), 'api_key = "os.environ/EU"'),
        (('api_key = "os.environ/EU_KEY"', "api_key = 12"), "api_key must be a string, got 12"),
        (("timeout = 5", 'timeout = 5\napi_base = "http://x/v1"'), "api_base belongs in each deployment"),
        (("timeout = 5", 'timeout = 5\nrouting_strategy = "fastest"'), "routing_strategy must be one of"),
    ],
)  # fmt: skip
def test_a_mistake_in_the_model_list_names_the_deployment(home, two_servers, change, message):
    from interviewer.config import load_settings

    eu, us = two_servers
    path = write_config(home, eu.base_url, us.base_url)
    path.write_text(path.read_text().replace(*change, 1))
    with pytest.raises(ConfigError) as err:
        load_settings({"model": "cohort"})
    assert message in str(err.value)


def test_a_proxy_configs_public_model_name_is_taken_when_every_deployment_shares_it(home, two_servers):
    from interviewer.config import load_settings

    eu, us = two_servers
    path = write_config(home, eu.base_url, us.base_url)
    shared = '[[models.cohort.model_list]]\nmodel_name = "gpt-4o-mini"\n'
    path.write_text(path.read_text().replace("[[models.cohort.model_list]]\n", shared))
    assert {d["model_name"] for d in load_settings({"model": "cohort"}).deployments} == {"cohort"}


def test_a_key_written_in_the_model_list_needs_a_private_file(home, two_servers):
    from interviewer.config import load_settings

    eu, us = two_servers
    path = write_config(home, eu.base_url, us.base_url, mode=0o644)
    load_settings({"model": "cohort"})  # keys named by variable: the file may be readable
    path.write_text(path.read_text().replace('"os.environ/EU_KEY"', '"sk-written-here-123"'))
    with pytest.raises(ConfigError) as err:
        load_settings({"model": "cohort"})
    assert "models.cohort.model_list but is readable by others" in str(err.value)


def test_api_base_flag_with_a_routed_profile_is_a_clear_error(cohort, cli):
    r = cli("grade", "--model", "cohort", "--api-base", "http://127.0.0.1:9/v1", "--question", "2.1",
            "--answer", "x")  # fmt: skip
    assert r.exit_code == 2, r
    assert "--api-base cannot be used with it: its deployments name their own endpoints" in r.stderr


def test_a_key_variable_that_is_not_set_is_named(cohort, cli, monkeypatch):
    monkeypatch.delenv("US_KEY")
    r = cli("grade", "--model", "cohort", "--question", "2.1", "--answer", "Attention uses softmax.")
    assert r.exit_code == 2, r
    assert "deployment us of profile cohort reads its key from US_KEY, which is not set" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------ routed grades


def test_grades_are_spread_over_the_deployments_and_each_names_its_own(cohort, cli, tmp_path):
    eu, us = cohort
    r = cli("grade", "--batch", str(batch_file(tmp_path, 24)), "--model", "cohort")
    assert r.exit_code == 0, r
    grades = r.json_lines()
    assert [g["id"] for g in grades] == [f"a{i}" for i in range(24)]
    served = [g["grader"]["deployment"] for g in grades]
    assert set(served) == {"eu", "us"}
    assert served.count("eu") == len(chat_requests(eu)) and served.count("us") == len(chat_requests(us))
    # each deployment's own key, and the one model, on every request
    assert {r["headers"]["authorization"] for r in chat_requests(eu)} == {"Bearer sk-eu-0123456789"}
    assert {r["headers"]["authorization"] for r in chat_requests(us)} == {"Bearer sk-us-0123456789"}
    assert {r["json"]["model"] for r in chat_requests(eu) + chat_requests(us)} == {"gpt-4o-mini"}
    assert all("sk-" not in json.dumps(g) for g in grades)


def test_a_failing_deployment_leaves_the_grades_to_the_others_never_to_another_model(cohort, cli, tmp_path):
    eu, us = cohort
    eu.default = Status(500)
    r = cli("grade", "--batch", str(batch_file(tmp_path, 12)), "--model", "cohort")
    assert r.exit_code == 0, r
    grades = r.json_lines()
    assert all(g["status"] == "graded" for g in grades)
    assert {g["grader"]["deployment"] for g in grades} == {"us"}
    assert {g["grader"]["model"] for g in grades} == {"openai/gpt-4o-mini"}
    assert {r["json"]["model"] for r in chat_requests(eu) + chat_requests(us)} == {"gpt-4o-mini"}


def test_when_every_deployment_fails_the_grade_is_ungraded_with_the_reason(cohort, cli, monkeypatch):
    eu, us = cohort
    monkeypatch.setenv("INTERVIEWER_RETRIES", "1")
    eu.default = us.default = Status(500)
    r = cli("grade", "--model", "cohort", "--question", "2.1", "--answer",
            "Attention uses softmax over QK^T.", "--json")  # fmt: skip
    (grade,) = r.json_lines()
    assert grade["status"] == "ungraded" and grade["score"] is None
    assert grade["error"].startswith("server: ")


def test_a_session_keeps_the_deployment_with_each_grade_and_shows_it(cohort, cli, home, tmp_path):
    answers = tmp_path / "a.txt"
    answers.write_text("Attention: softmax(QK^T / sqrt(d)) V.\n---\nLayerNorm normalises each token.\n")
    r = cli("start", "--model", "cohort", "--answers", str(answers), "--num", "2", "--json")
    assert r.exit_code == 0, r
    exported = cli("export", "last", "--format", "json")
    turns = json.loads(exported.stdout)["turns"]
    assert all(t["grade"]["grader"]["deployment"] in ("eu", "us") for t in turns)
    md = cli("export", "last", "--format", "md").stdout
    assert "(deployment eu)" in md or "(deployment us)" in md


def test_check_reports_each_deployment_and_fails_when_one_cannot_grade(cohort, cli):
    eu, us = cohort
    eu.default = Reply('{"ok": true}')
    us.default = Status(401)
    r = cli("check", "--model", "cohort", "--json")
    assert r.exit_code == 1, r
    (found,) = r.json_lines()
    assert found["profile"] == "cohort" and found["ok"] is False
    rows = {d["deployment"]: d for d in found["deployments"]}
    assert rows["eu"]["ok"] is True and rows["us"]["problem"] == "auth"
    text = cli("check", "--model", "cohort").stdout
    assert "Deployment eu: model openai/gpt-4o-mini" in text and "Key refused" in text


def test_the_batch_api_path_refuses_a_routed_profile(cohort, cli, tmp_path):
    r = cli("grade", "--batch", str(batch_file(tmp_path, 2)), "--model", "cohort", "--via", "batch-api")
    assert r.exit_code == 2, r
    assert "profile cohort has several deployments" in r.stderr


def test_forcing_the_sdk_client_on_a_routed_profile_is_refused(cohort, cli, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_CLIENT", "openai")
    r = cli("grade", "--model", "cohort", "--question", "2.1", "--answer", "x")
    assert r.exit_code == 2, r
    assert "litellm's Router routes" in r.stderr


def test_every_deployment_at_its_limit_is_a_rate_limit_waited_until_the_minute_turns():
    from interviewer.grading.router_chat import classify_routed, until_next_minute

    err = classify_routed(ValueError("No deployments available for selected model. Passed model=cohort"))
    assert err.kind == "rate_limit" and 0 < err.retry_after <= 60.5
    assert until_next_minute(120.0) == 60.5 and until_next_minute(179.5) == 1.0


def test_config_show_lists_the_deployments_without_their_keys(cohort, cli, monkeypatch):
    monkeypatch.setenv("INTERVIEWER_MODEL", "cohort")
    (rows,) = cli("config", "show", "--json").json_lines()
    assert [d["id"] for d in rows["deployments"]["value"]] == ["eu", "us"]
    text = cli("config", "show").stdout
    assert "eu (http://127.0.0.1:" in text and "sk-" not in text
