"""Start-up stays light: litellm (seconds to import) is never loaded for help, bank, offline grading or exports."""

import os
import subprocess
import sys

import pytest
from conftest import ROOT
from typer.testing import CliRunner

PROBE = """
import sys
from interviewer.cli import main
watched = sys.argv[1].split(",")
try:
    main(sys.argv[2:])
except SystemExit:
    pass
print("LOADED=" + ",".join(sorted(m for m in watched if m in sys.modules)), file=sys.stderr)
"""
HEAVY = ("litellm", "openai", "tiktoken")


def run_probe(*args, home, stdin=None, watch=HEAVY, **env):
    """Run the program with `args`; (the process, which of the `watch` modules it loaded, comma-separated)."""
    r = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(watch), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "INTERVIEWER_HOME": str(home), "NO_COLOR": "1", **env},
        input=stdin,
        cwd=ROOT,
        timeout=60,
    )
    loaded = [ln for ln in r.stderr.splitlines() if ln.startswith("LOADED=")]
    return r, loaded[-1].removeprefix("LOADED=") if loaded else None


def test_import_cli_does_not_import_litellm():
    code = "import sys, interviewer.cli; print('litellm' in sys.modules, 'openai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT).stdout
    assert out.strip() == "False False"


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["bank", "list"],
        ["bank", "show", "2.1"],
        ["rubric", "show", "2.1"],
        ["grade", "-q", "2.1", "-a", "QK^T 除以根号 d_k 再 softmax"],
        ["sessions"],
        ["config", "show"],
    ],
)
def test_commands_that_need_no_model_never_import_litellm(args, home):
    r, heavy = run_probe(*args, home=home)
    assert r.returncode == 0, r.stderr
    assert heavy == ""


def test_offline_session_and_export_never_import_litellm(home, tmp_path):
    answers = tmp_path / "a.txt"
    answers.write_text("并行计算\n---\n不知道\n", encoding="utf-8")
    r, heavy = run_probe("start", "-n", "2", "--answers", str(answers), home=home)
    assert r.returncode == 0, r.stderr
    assert heavy == ""
    r, heavy = run_probe("export", "--last", "--format", "html", home=home)
    assert r.returncode == 0 and heavy == ""


def test_python_dash_m_and_version():
    r = subprocess.run(
        [sys.executable, "-m", "interviewer", "--version"], capture_output=True, text=True, cwd=ROOT
    )
    assert r.returncode == 0 and r.stdout.startswith("interviewer ")


def commands(app):
    """Every command and group of the app, with the words that name it: (["bank"], group), (["bank", "list"], …)."""
    import typer.main

    for name, cmd in typer.main.get_command(app).commands.items():
        yield [name], cmd
        for sub, sub_cmd in getattr(cmd, "commands", {}).items():
            yield [name, sub], sub_cmd


def test_every_command_has_help_with_an_example_and_is_in_the_readme():
    from interviewer.cli import app

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for words, cmd in commands(app):
        if getattr(cmd, "commands", None):
            continue  # a group: its commands are checked
        name = " ".join(words)
        assert cmd.help and cmd.help.strip(), name
        assert "xample" in cmd.help or name in ("config show",), name
        assert f"interviewer {name}" in readme, name


def test_a_command_runs_in_an_app_of_its_own_with_the_same_help_and_usage(cli):
    from interviewer.cli import app, app_for

    for args, _ in commands(app):
        lean = app_for([*args, "--help"])
        assert lean is not app, args
        full_help = CliRunner().invoke(app, [*args, "--help"], prog_name="interviewer")
        lean_help = CliRunner().invoke(lean, [*args, "--help"], prog_name="interviewer")
        assert lean_help.exit_code == full_help.exit_code == 0, args
        assert lean_help.stdout == full_help.stdout, args
    # the root's help, version, completion and unknown names go to the whole app (its help lists every command)
    for args in ([], ["--help"], ["-V"], ["--debug"], ["nosuch"], ["--debug", "--help"]):
        assert app_for(args) is app, args
    assert app_for(["--debug", "bank", "list"]) is not app
    r = cli("nosuch")
    assert r.exit_code == 2 and "No such command 'nosuch'" in r.stderr
