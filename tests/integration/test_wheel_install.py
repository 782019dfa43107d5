"""The wheel as a pip user gets it: built from this checkout, installed into a fresh venv in a
folder outside the repository (dependencies from the package index or pip's cache), then
`stress demo --duration 10s` and `model-stress init --example tabular` run with no repository
and no PYTHONPATH. Also: the core install has no scikit-learn.

Needs the package index (or a pip cache holding every dependency): a few minutes cold.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT_S = 900
# Not copied into the clean source tree the wheel is built from.
LEFT_OUT = ("build", "dist", "*.egg-info", ".git", ".venv*", "reports", "__pycache__", ".*cache")
LEFT_OUT += (".hypothesis",)


def _run(args: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    assert not root.is_relative_to(REPO)
    # A clean copy: a build/ or *.egg-info left in the checkout would leak files into the wheel.
    source = root / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*LEFT_OUT))
    wheel_args = ["wheel", "--no-deps", "-q", "-w", str(root / "dist"), str(source)]
    build = _run([sys.executable, "-m", "pip", *wheel_args], root, INSTALL_TIMEOUT_S)
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = (root / "dist").glob("model_stress-*.whl")
    venv.create(root / "venv", with_pip=True)
    install = _run(
        [str(root / "venv/bin/python"), "-m", "pip", "install", "-q", str(wheel)],
        root,
        INSTALL_TIMEOUT_S,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    work = root / "work"
    work.mkdir()
    return root


def test_the_core_install_has_no_scikit_learn(installed: Path) -> None:
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('sklearn') is not None)"
    done = _run([str(installed / "venv/bin/python"), "-c", probe], installed, 60)
    assert done.returncode == 0, "scikit-learn was installed with the core"


def test_stress_demo_runs_from_the_installed_wheel(installed: Path) -> None:
    work = installed / "work"
    done = _run([str(installed / "venv/bin/stress"), "demo", "--duration", "10s"], work, 300)
    # The demo server has deliberate bugs: a finished run with findings exits 1.
    assert done.returncode == 1, done.stderr[-3000:]
    (run_dir,) = (work / "reports").glob("demo-*")
    assert done.stdout.strip().endswith(run_dir.name)
    for name in ("summary.json", "report.html", "junit.xml", "summary.md", "failures.jsonl"):
        assert (run_dir / name).is_file(), name
    # The run used the installed package, not this checkout.
    assert str(REPO) not in (run_dir / "run.json").read_text(encoding="utf-8")


def test_init_writes_a_packaged_example(installed: Path) -> None:
    work = installed / "work"
    done = _run(
        [str(installed / "venv/bin/model-stress"), "init", "--example", "tabular"], work, 120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    written = (work / "scenarios/tabular.yaml").read_text(encoding="utf-8")
    assert written == (REPO / "scenarios/tabular.yaml").read_text(encoding="utf-8")
    check = _run(
        [str(installed / "venv/bin/stress"), "validate", "scenarios/tabular.yaml"], work, 120
    )
    assert check.returncode == 0, check.stdout + check.stderr
