"""The example plugin distributions under examples/ work as a new user finds them:
installed with pip (into a temporary --target, never the project's venv), listed
with their distribution, runnable, and their own tests pass with cnnb.testing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnnb.testing import ConformanceError
from cnnb.testing.components import check_run, check_variable_manager

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = ("cnnb-example-models", "cnnb-example-allreduce")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(site folder with both examples installed, folder with copies of their sources)."""
    root = tmp_path_factory.mktemp("examples")
    site, sources = root / "site", root / "src"
    for name in EXAMPLES:
        shutil.copytree(REPO / "examples" / name, sources / name, ignore=shutil.ignore_patterns(
            "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--disable-pip-version-check",
                    "--target", str(site), *(str(sources / name) for name in EXAMPLES)],
                   check=True, capture_output=True, text=True, timeout=600)
    return site, sources


@pytest.fixture(scope="module")
def env(installed, make_env):
    return make_env(installed[0])


def test_listings_show_the_plugins_with_their_distributions(cnnb_batch, env):
    models, algorithms = cnnb_batch([["models", "smallnet", "--json"], ["allreduce"]], env=env)
    rows = json.loads(models.out)
    assert {(row["dataset"], row["distribution"]) for row in rows} == {
        ("imagenet", "cnnb-example-models"), ("cifar10", "cnnb-example-models")}
    assert all(row["params"] > 0 for row in rows)
    line = next(line for line in algorithms.out_lines if line.split()[:1] == ["tree"])
    assert "cnnb-example-allreduce" in line


def test_a_failed_check_shows_the_command_and_its_output():
    """(The checks' passing side runs in the examples' own tests.)"""
    with pytest.raises(ConformanceError, match="(?s)--model=nosuch.*unknown model 'nosuch'"):
        check_run("--model=nosuch")
    with pytest.raises(ConformanceError, match="unknown variable manager 'nosuch_manager'"):
        check_variable_manager("nosuch_manager")


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_plugins_own_tests_pass_with_cnnb_testing(installed, env, name):
    source = installed[1] / name
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          cwd=source, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout and "failed" not in done.stdout
