"""Conformance checks for the plugin kinds that need several devices or a whole run.

Models are checked in-process (:func:`cnnb.testing.check_model`). All-reduce
algorithms and variable managers need logical CPU devices, which a process can
make only before TensorFlow starts, so these checks run the real ``cnnb`` in a
child process (the one your users will run) and raise
:class:`cnnb.testing.ConformanceError` with its output when a rule is broken:

* :func:`check_allreduce`: exact sums on 2, 3 and 4 devices, placed on each
  device, identical copies (``python -m cnnb.allreduce_conformance``).
* :func:`check_variable_manager`: the registration declares valid
  capabilities, and ``cnnb run --variable_update=NAME`` trains the trivial model
  on two logical CPUs with a finite, recorded loss, one tower per device and
  the global batch the contract promises.
* :func:`check_run`: any ``cnnb run`` command line, returning its record, for
  your own assertions (e.g. ``--model=your_net``).

Nothing here imports TensorFlow in the calling process.
"""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
import tempfile

from cnnb.testing import ConformanceError

CHILD_TIMEOUT = 600


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    """One ``cnnb run`` in a child: exit status, output, and its record."""

    args: tuple
    code: int
    out: str
    err: str
    result: object = None            # the cnnb.results.Result (None if none was written)

    def __str__(self) -> str:
        return (f"cnnb {' '.join(self.args)} -> exit {self.code}\n--- stdout\n{self.out}"
                f"--- stderr\n{self.err}")


def child_env(**variables: str) -> dict[str, str]:
    """This process's environment, quiet TensorFlow logs, plus ``variables``."""
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.update(variables)
    return env


def check_run(*args: str, env: dict | None = None, expect_code: int = 0) -> RunOutcome:
    """``cnnb run ARGS --result_json=...`` in a child; raises ConformanceError unless it
    exits with ``expect_code``. ``--device=cpu`` is added unless ``--device`` is given."""
    from cnnb.results import Result
    extra = [] if any(a.startswith("--device=") for a in args) else ["--device=cpu"]
    with tempfile.TemporaryDirectory(prefix="cnnb-check-") as folder:
        record = os.path.join(folder, "result.json")
        command = [sys.executable, "-m", "cnnb", "run", *args, *extra,
                   f"--result_json={record}"]
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              env=env or child_env(), timeout=CHILD_TIMEOUT)
        result = Result.read(record) if os.path.exists(record) else None
    outcome = RunOutcome(tuple(command[3:]), done.returncode, done.stdout, done.stderr, result)
    if done.returncode != expect_code:
        raise ConformanceError(f"expected exit status {expect_code}:\n{outcome}")
    return outcome


def check_allreduce(name: str, device_counts=(2, 3, 4), shards=(1,),
                    env: dict | None = None) -> list[str]:
    """Check the sums of all-reduce algorithm ``name`` on logical CPU devices;
    returns the per-case lines (``ok ...`` or ``rejected ...``)."""
    command = [sys.executable, "-m", "cnnb.allreduce_conformance", name,
               "--devices", ",".join(str(c) for c in device_counts),
               "--shards", ",".join(str(s) for s in shards)]
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          env=env or child_env(), timeout=CHILD_TIMEOUT)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines:
        raise ConformanceError(f"all-reduce '{name}' failed its conformance check "
                               f"(exit {done.returncode}):\n{done.stdout}{done.stderr}")
    return lines


def check_variable_manager(name: str, plugins=None, num_devices: int = 2,
                           env: dict | None = None, extra_args=()) -> RunOutcome:
    """Check variable manager ``name``: declared capabilities, then a short training
    run of the trivial model on ``num_devices`` logical CPUs (plus ``extra_args``,
    e.g. ``("--all_reduce_spec=tree",)`` to train with an all-reduce algorithm)."""
    from cnnb.replication import Capabilities
    if plugins is None:
        from cnnb.pluginmanager import load_plugins
        plugins = load_plugins()
    from cnnb.errors import CnnbError
    try:
        capabilities = Capabilities.of(plugins.registry("variable_manager").get(name))
    except CnnbError as error:          # not registered (not installed?), bad capabilities
        raise ConformanceError(f"variable manager '{name}': {error}") from error
    outcome = check_run("--model=trivial", f"--variable_update={name}",
                        f"--num_gpus={num_devices}", "--batch_size=2", "--num_batches=2",
                        "--num_warmup_batches=1", *extra_args, env=env)
    plan, measured = outcome.result.plan, outcome.result.measurements
    problems = []
    if plan.get("variable_update") != name or plan.get("num_devices") != num_devices:
        problems.append(f"the record says variable_update={plan.get('variable_update')}, "
                        f"num_devices={plan.get('num_devices')}")
    if plan.get("global_batch_size") != 2 * num_devices:
        problems.append(f"global_batch_size is {plan.get('global_batch_size')}, "
                        f"expected 2 per device x {num_devices}")
    loss = measured.get("last_average_loss")
    if loss is None or not math.isfinite(loss) or measured.get("num_steps") != 2:
        problems.append(f"loss {loss} after {measured.get('num_steps')} timed steps")
    if problems:
        raise ConformanceError(f"variable manager '{name}' ({capabilities}): "
                               + "; ".join(problems) + f"\n{outcome}")
    return outcome
