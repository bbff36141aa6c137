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


def test_runs_use_the_plugins_and_record_their_versions(cnnb_batch, env, tmp_path):
    record = tmp_path / "tree.json"
    tree, smallnet = cnnb_batch([
        ["run", "--device=cpu", "--num_gpus=2", "--variable_update=replicated",
         "--all_reduce_spec=tree", "--num_batches=2", "--num_warmup_batches=1",
         f"--result_json={record}"],
        ["run", "--model=smallnet", "--device=cpu", "--batch_size=4", "--num_batches=2",
         "--num_warmup_batches=1"]], env=env)
    assert tree.code == 0 and "AllReduce:   tree" in tree.out, tree
    assert smallnet.code == 0 and "Model:       smallnet" in smallnet.out, smallnet
    versions = json.loads(record.read_text())["environment"]["plugin_versions"]
    assert versions == {"cnnb-example-allreduce": "1.0.0", "cnnb-example-models": "1.0.0"}


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_plugins_own_tests_pass_with_cnnb_testing(installed, env, name):
    source = installed[1] / name
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          cwd=source, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout and "failed" not in done.stdout
