"""The wheel carries bank/, rubrics/ and prompts/, and a scripted interview runs from outside the checkout."""

import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (whl,) = out.glob("interviewer-*.whl")
    return whl


def test_wheel_contains_assets(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "interviewer/_assets/bank/llm-basics.md" in names
    assert "interviewer/_assets/bank/llm-basics.en.md" in names
    assert "interviewer/_assets/prompts/grade_system.j2" in names
    assert "interviewer/_assets/rubrics/llm-basics/2.1.toml" in names
    assert sum(n.startswith("interviewer/_assets/rubrics/llm-basics/") for n in names) == 50
    assert "interviewer/results/templates/transcript.html.j2" in names


def outer_site_dirs() -> list[str]:
    """The site-packages folders of the interpreter running the tests: a venv's, the system's, the user's."""
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def venv_with_the_wheel(venv, wheel):
    """A new venv with the wheel installed in it, that finds the other dependencies where the tests' own
    interpreter has them. A `--system-site-packages` venv would not: made from inside a venv, it sees the base
    interpreter's packages, not that venv's. The outer folders are listed in a `.pth` file, so they come after
    the venv's own site-packages (its copy of `interviewer` is the one imported) and the `.pth` files in them,
    such as an editable install's hook pointing at the checkout, are not run."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "--no-deps", "--force-reinstall", "-q", str(wheel)],
        check=True,
        timeout=300,
    )
    inner = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    (Path(inner) / "_outer_site_packages.pth").write_text(
        "\n".join(outer_site_dirs()) + "\n", encoding="utf-8"
    )
    return py


def test_installed_wheel_runs_a_scripted_interview_outside_the_checkout(wheel, tmp_path):
    venv = tmp_path / "venv"
    py = venv_with_the_wheel(venv, wheel)
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "answers.txt").write_text("Transformer 可以并行计算\n---\n不知道\n", encoding="utf-8")
    env = {**os.environ, "INTERVIEWER_HOME": str(tmp_path / "home"), "PYTHONPATH": ""}
    code = "import interviewer, sys; print(interviewer.__file__)"
    where = subprocess.run(
        [str(py), "-c", code], cwd=work, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert str(venv) in where  # the installed copy, not the checkout
    r = subprocess.run(
        [str(venv / "bin" / "interviewer"), "start", "-n", "2", "--order", "bank", "--answers", "answers.txt"],
        cwd=work, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "Question 2/2" in r.stdout and "Total:" in r.stdout
    r = subprocess.run(
        [str(venv / "bin" / "interviewer"), "rubric", "show", "2.1"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert "curated" in r.stdout
