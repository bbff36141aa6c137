"""Shared test helpers: the real ``cnnb`` command line, run in subprocesses.

Anything that imports TensorFlow runs in a child process, so the pytest
process never initializes TensorFlow's devices (tests that split the CPU into
logical devices need a fresh process) and every check sees the real CLI: its
exit status, stdout and stderr.

The example plugin distribution in ``tests/plugins/example_dist`` is installed
once per session into a temporary ``--target`` directory and put on
``PYTHONPATH`` of the children that ask for it; the project's environment
never sees it (it ships a deliberately broken plugin).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_DIST = REPO / "tests" / "plugins" / "example_dist"
CLI_TIMEOUT = 600
_BATCH_MARKER = "CNNB-BATCH-RESULTS="

# Runs several command lines in one child process, so TensorFlow is imported
# once; each run's stdout/stderr is captured separately.
_BATCH_SCRIPT = f"""
import contextlib, io, json, sys, traceback
from cnnb.cli import main
results = []
for args in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = 1
    results.append({{"code": code, "out": out.getvalue(), "err": err.getvalue()}})
print({_BATCH_MARKER!r} + json.dumps(results))
"""


@dataclasses.dataclass(frozen=True)
class CliResult:
    """What one ``cnnb`` invocation did."""

    args: tuple
    code: int
    out: str
    err: str

    @property
    def out_lines(self) -> list[str]:
        return self.out.splitlines()

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]

    def __str__(self) -> str:   # shown by pytest when an assertion about it fails
        return (f"cnnb {' '.join(self.args)} -> exit {self.code}\n--- stdout\n{self.out}"
                f"--- stderr\n{self.err}")


def cli_env(extra_path: Path | str | None = None, **variables: str) -> dict[str, str]:
    """The environment of a child: ours without CNNB_* switches, plus ``variables``;
    ``extra_path`` goes on PYTHONPATH (where the example distribution lives)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CNNB_")}
    env.pop("PYTHONPATH", None)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if extra_path is not None:
        env["PYTHONPATH"] = str(extra_path)
    env.update(variables)
    return env


def run_cnnb(*args: str, env: dict[str, str] | None = None) -> CliResult:
    """``python -m cnnb ARGS`` in a child process."""
    proc = subprocess.run([sys.executable, "-m", "cnnb", *args], capture_output=True, text=True,
                          env=env or cli_env(), timeout=CLI_TIMEOUT, check=False)
    return CliResult(tuple(args), proc.returncode, proc.stdout, proc.stderr)


def run_cnnb_batch(runs: list[list[str]], env: dict[str, str] | None = None) -> list[CliResult]:
    """Several ``cnnb`` command lines in one child process (TensorFlow imported once)."""
    proc = subprocess.run([sys.executable, "-c", _BATCH_SCRIPT, json.dumps(runs)],
                          capture_output=True, text=True, env=env or cli_env(),
                          timeout=CLI_TIMEOUT, check=False)
    found = [line for line in proc.stdout.splitlines() if line.startswith(_BATCH_MARKER)]
    assert found, f"batch runner failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    rows = json.loads(found[-1][len(_BATCH_MARKER):])
    return [CliResult(tuple(args), row["code"], row["out"], row["err"])
            for args, row in zip(runs, rows)]


def run_python(code: str, *args: str, env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess:
    """``python -c CODE ARGS`` in a child process; fails the test if the child fails."""
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env or cli_env(), timeout=CLI_TIMEOUT, check=False)
    assert proc.returncode == 0, f"child failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="session")
def example_plugins_path(tmp_path_factory) -> Path:
    """A directory holding the installed example distribution (for PYTHONPATH).

    The source is copied first so that the in-tree build leaves no build/ or
    egg-info folders in the repository.
    """
    root = tmp_path_factory.mktemp("example_dist")
    source, target = root / "src", root / "site"
    shutil.copytree(EXAMPLE_DIST, source, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--disable-pip-version-check",
                    "--target", str(target), str(source)],
                   check=True, capture_output=True, text=True, timeout=CLI_TIMEOUT)
    return target


@pytest.fixture(scope="session")
def example_env(example_plugins_path) -> dict[str, str]:
    """A child environment in which the example distribution is installed."""
    return cli_env(example_plugins_path)


@pytest.fixture(scope="session")
def cnnb():
    """``cnnb(*args, env=None) -> CliResult``: the CLI in a child process."""
    return run_cnnb


@pytest.fixture(scope="session")
def cnnb_batch():
    """``cnnb_batch([[args], ...], env=None) -> [CliResult]``: one child, many runs."""
    return run_cnnb_batch


@pytest.fixture(scope="session")
def python_child():
    """``python_child(code, *args, env=None)``: Python code in a child; it must succeed."""
    return run_python


@pytest.fixture(scope="session")
def make_env():
    """``make_env(extra_path=None, **VARS)``: a child environment (see :func:`cli_env`)."""
    return cli_env


@pytest.fixture(scope="session")
def listed_models() -> dict[tuple[str, str], dict]:
    """`cnnb models --json`, once per session, keyed by (dataset family, name)."""
    result = run_cnnb("models", "--json")
    assert result.code == 0, result
    return {(row["dataset"], row["name"]): row for row in json.loads(result.out)}
