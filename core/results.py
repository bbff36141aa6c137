"""The result of a run: a versioned record in four namespaced parts.

A record is read by people comparing machines months later and by scripts
(``bench/``, reporters, plugins), so every number says what it means and which
part of the run it comes from:

* ``config``: the run configuration as given (``options``: every option's
  value; ``explicit``: the names the user set, the rest were defaults);
* ``plan``: what cnnb resolved from it (model, devices, per-device
  ``batch_size`` and ``global_batch_size``, number of batches, ...);
* ``measurements``: what the run measured (images/sec, step times, loss,
  accuracy, evaluation, where training stopped);
* ``environment``: what the numbers depend on besides the flags (versions,
  machine, the performance-relevant environment variables).

:class:`Result` holds the parts; ``Result.as_dict()`` is the JSON file (with
``schema_version``) and :meth:`Result.from_dict` reads one back. The schema is
described in docs/results.md. Key names are constants here so readers can rely
on them. Files are written by :mod:`cnnb.outputs` (atomic, through symlinks,
never over a device node).
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import sys
from typing import Any, Mapping

from cnnb.errors import ResultFormatError
from cnnb.outputs import masked_command, masked_options, recorded_env_vars, write_json

#: Version 1 was one flat dict (config, plan and measurements mixed, ``batch_size``
#: global); version 2 has the four parts below and ``batch_size`` is per device.
SCHEMA_VERSION = 2
PARTS = ("config", "plan", "measurements", "environment")

# measurements
IMAGES_PER_SEC = "images_per_sec"
UNCERTAINTY = "images_per_sec_uncertainty"
JITTER = "images_per_sec_jitter"
NUM_STEPS = "num_steps"
AVERAGE_WALL_TIME = "average_wall_time"
LAST_LOSS = "last_average_loss"
STEP_TIMES = "step_times"
TOP_1 = "top_1_accuracy"
TOP_5 = "top_5_accuracy"
EVAL = "eval"
GLOBAL_STEP = "global_step"
CHECKPOINT = "checkpoint"
STOP_REASON = "stop_reason"
INTERRUPTED = "interrupted"
DIVERGED = "diverged"
# plan
BATCH_SIZE = "batch_size"
GLOBAL_BATCH_SIZE = "global_batch_size"
NUM_WORKERS = "num_workers"
# config
OPTIONS = "options"
EXPLICIT = "explicit"
# the part itself
ENVIRONMENT = "environment"

#: What a record holds where nothing was measured (``step_times`` gets a fresh list).
_EMPTY_MEASUREMENTS = {
    IMAGES_PER_SEC: None, UNCERTAINTY: None, JITTER: None, AVERAGE_WALL_TIME: None,
    NUM_STEPS: 0, STEP_TIMES: None, LAST_LOSS: None, TOP_1: None, TOP_5: None, EVAL: None,
    GLOBAL_STEP: None, CHECKPOINT: None, STOP_REASON: None, INTERRUPTED: False, DIVERGED: False,
    "flops_per_image": None, "achieved_flops": None, "mfu": None,   # cnnb.utilization
    "peak_flops": None,
    "workers": None, "global_images_per_sec": None,     # multi-worker runs (engine/workers.py)
    "loss_scale": None, "skipped_updates": None,        # reduced precision (engine/loss_scale.py)
}


def new_measurements(**measured: Any) -> dict[str, Any]:
    """Every measurement key, ``None`` (or empty) where nothing was measured, updated
    with ``measured``: a reader finds each key in every record, whatever the mode."""
    unknown = set(measured) - set(_EMPTY_MEASUREMENTS)
    if unknown:
        raise KeyError(f"not a measurement: {', '.join(sorted(unknown))}")
    return {**_EMPTY_MEASUREMENTS, STEP_TIMES: [], **measured}



def config_part(values: Mapping[str, Any], explicit: Any = None) -> dict[str, Any]:
    """The configuration as given: every option's value (secret-looking ones masked)
    and, when known, which options the user set (sorted names; ``None``: unknown)."""
    return {OPTIONS: masked_options(values),
            EXPLICIT: None if explicit is None else sorted(explicit)}


@dataclasses.dataclass(frozen=True)
class Result:
    """One run's record: what ``cnnb.api.run(plan)`` returns, ``cnnb_run_end`` hooks
    receive and ``--result_json`` holds (as :meth:`as_dict`).

    The parts are plain JSON data (tuples become lists, other values strings), so a
    Result equals the one read back from its own file.
    """

    config: dict
    plan: dict
    measurements: dict
    environment: dict

    def __post_init__(self) -> None:
        for part in PARTS:
            object.__setattr__(self, part, _json_plain(getattr(self, part)))

    @property
    def options(self) -> dict:
        """Every option's value, as given (``config["options"]``)."""
        return self.config[OPTIONS]

    @property
    def images_per_sec(self) -> float | None:
        """The run's total images/sec (``None``: no step was timed)."""
        return self.measurements.get(IMAGES_PER_SEC)

    @property
    def top_1_accuracy(self) -> float | None:
        return self.measurements.get(TOP_1)

    @property
    def top_5_accuracy(self) -> float | None:
        return self.measurements.get(TOP_5)

    @property
    def num_steps(self) -> int:
        return self.measurements.get(NUM_STEPS, 0)

    @property
    def interrupted(self) -> bool:
        """A signal (Ctrl-C, SIGTERM) ended the run early."""
        return bool(self.measurements.get(INTERRUPTED))

    @property
    def stop_reason(self) -> str | None:
        return self.measurements.get(STOP_REASON)

    def as_dict(self) -> dict[str, Any]:
        """The versioned record, as written to ``--result_json``."""
        return {"schema_version": SCHEMA_VERSION,
                **{part: json.loads(json.dumps(getattr(self, part))) for part in PARTS}}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Result:
        """Read a record written by :meth:`as_dict`; raises :class:`ResultFormatError`
        (one line) for another schema version or a missing part."""
        if not isinstance(record, Mapping):
            raise ResultFormatError(
                f"a result record is a JSON object, not {type(record).__name__}")
        version = record.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ResultFormatError(_version_problem(record, version))
        missing = [part for part in PARTS if not isinstance(record.get(part), Mapping)]
        if missing:
            raise ResultFormatError(f"result record (schema_version {SCHEMA_VERSION}) lacks its "
                                    f"{', '.join(missing)} part(s): not written by cnnb, or edited")
        return cls(**{part: dict(record[part]) for part in PARTS})

    @classmethod
    def read(cls, path: str) -> Result:
        """The Result in a ``--result_json`` file."""
        with open(path, encoding="utf-8") as file:
            return cls.from_dict(json.load(file))

    def write(self, path: str) -> None:
        """Write the record to ``path`` (``-``: stdout), safely: see :mod:`cnnb.outputs`."""
        write_json(path, self.as_dict())


def _version_problem(record: Mapping[str, Any], version: Any) -> str:
    """Why a record of another schema version cannot be read, and what to do."""
    if version is None:
        return ("not a cnnb result record: it has no schema_version (cnnb writes "
                f"schema_version {SCHEMA_VERSION})")
    environment_part = record.get(ENVIRONMENT)
    writer = environment_part.get("cnnb_version") if isinstance(environment_part, Mapping) else None
    by = f" (written by cnnb {writer})" if writer else ""
    return (f"result record has schema_version {version!r}{by}; this cnnb reads "
            f"schema_version {SCHEMA_VERSION} only: read it with the cnnb that wrote it, "
            "or rerun the benchmark")


def _json_plain(part: Mapping[str, Any]) -> dict[str, Any]:
    """``part`` as JSON would give it back: a record and its file never differ.
    NaN and infinities become null (strict JSON has no such numbers; a diverged
    run says why in ``stop_reason``)."""
    return json.loads(json.dumps(dict(part), default=str), parse_constant=lambda name: None)


def cpu_model() -> str:
    """The CPU's marketing name (Linux /proc/cpuinfo), else platform's guess."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(tf_version: str, devices: list[str], plugins=None) -> dict[str, Any]:
    """What a result depends on besides the flags: versions (cnnb's, the loaded plugin
    distributions', TF's, Python's), machine (CPU flags, GPUs and driver), devices,
    the git revision of the working directory, the command (secret-looking flag
    values masked) and the performance-relevant environment variables (an
    allow-list, so a credential never lands in a record); see cnnb.manifest."""
    from cnnb import __version__
    from cnnb.manifest import manifest
    return {**manifest(plugins),
        "cnnb_version": __version__,
        "tensorflow_version": tf_version,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "devices": devices,
        "command": masked_command(sys.argv),
        "env_vars": recorded_env_vars(os.environ),
    }
