"""Helpers of the multi-device tests (not a test module).

* :func:`install_test_plugins`: installs the test distributions,
  ``tests/plugins/varupdate_check`` (the predecessor's variable-update check),
  ``tests/plugins/acme_allreduce`` (the example vendor all-reduce) and
  ``tests/plugins/acme_manager`` (a third-party variable manager), once
  per session into a temporary ``--target`` directory for children's
  PYTHONPATH; never into the project's environment.
* :func:`simulate_losses`: the closed form of the variable-update check.
* :func:`child_code`: Python for a child process that runs one of the
  ``check_*`` functions of :mod:`multidevice_checks` (they import TensorFlow
  and make logical CPUs, which the pytest process must not do).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
TEST_DISTRIBUTIONS = (TESTS / "plugins" / "varupdate_check", TESTS / "plugins" / "acme_allreduce",
                      TESTS / "plugins" / "acme_manager")
_INSTALLED: dict[str, Path] = {}

#: the variable-update check's inputs: 127.5 * arange(16) normalized to [-1, 1] scale
VALUES = [float(x) for x in range(-1, 15)]


def install_test_plugins(tmp_path_factory) -> Path:
    """The directory holding the installed test distributions (cached per session).

    Sources are copied first so the in-tree build leaves no build/ or egg-info."""
    if "path" in _INSTALLED:
        return _INSTALLED["path"]
    root = tmp_path_factory.mktemp("multidevice_plugins")
    target = root / "site"
    sources = []
    for source in TEST_DISTRIBUTIONS:
        copy = root / source.name
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns(
            "build", "*.egg-info", "__pycache__"))
        sources.append(str(copy))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--disable-pip-version-check",
                    "--target", str(target), *sources],
                   check=True, capture_output=True, text=True, timeout=600)
    _INSTALLED["path"] = target
    return target


def simulate_losses(mode: str, num_devices: int, per_device: int, steps: int,
                    lr: float = 2 ** -4, weight_decay: float = 2 ** -4) -> list[float]:
    """Reported total losses of the check model x*A*B (A=1, B=2) under plain SGD.

    Each tower's loss is mean(x)*A*B + wd*(A^2 + B^2)/2 over its next
    ``per_device`` inputs; the reported loss is the towers' mean. Updates:
    parameter_server applies the mean of the tower gradients to one copy,
    replicated applies their sum to every copy, independent lets each tower
    apply its own."""
    a, b = [1.0] * num_devices, [2.0] * num_devices
    position, losses = 0, []
    for _ in range(steps):
        means = []
        for _tower in range(num_devices):
            batch = [VALUES[(position + k) % len(VALUES)] for k in range(per_device)]
            means.append(sum(batch) / per_device)
            position += per_device
        losses.append(sum(m * a[t] * b[t] + weight_decay * (a[t] ** 2 + b[t] ** 2) / 2
                          for t, m in enumerate(means)) / num_devices)
        grad_a = [m * b[t] + weight_decay * a[t] for t, m in enumerate(means)]
        grad_b = [m * a[t] + weight_decay * b[t] for t, m in enumerate(means)]
        a, b = _update(mode, a, b, grad_a, grad_b, lr)
    return losses


def _update(mode, a, b, grad_a, grad_b, lr):
    n = len(a)
    if mode == "independent":
        return ([a[t] - lr * grad_a[t] for t in range(n)],
                [b[t] - lr * grad_b[t] for t in range(n)])
    scale = 1.0 / n if mode == "parameter_server" else 1.0
    step_a, step_b = lr * scale * sum(grad_a), lr * scale * sum(grad_b)
    return [x - step_a for x in a], [x - step_b for x in b]


def printed_losses(output: str) -> list[float]:
    """The full-precision losses the varupdate_check plugin prints per timed step."""
    return [float(line.split()[2]) for line in output.splitlines()
            if line.startswith("cnnb-test-loss ")]


def child_code(check: str, *args) -> str:
    """Python source running ``multidevice_checks.<check>(*args)`` in a child."""
    return (f"import sys; sys.path.insert(0, {str(TESTS)!r}); import multidevice_checks; "
            f"multidevice_checks.{check}(*{args!r})")
