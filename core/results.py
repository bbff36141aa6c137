"""The flat result record of a run, and writing it safely.

Key names are constants here so reporters and log readers can rely on them.
Files are written atomically (temporary file in the same directory, fsync,
rename): a reader never sees half a record.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from typing import Any

SCHEMA_VERSION = 1

IMAGES_PER_SEC = "images_per_sec"
UNCERTAINTY = "images_per_sec_uncertainty"
JITTER = "images_per_sec_jitter"
NUM_STEPS = "num_steps"
NUM_WORKERS = "num_workers"
AVERAGE_WALL_TIME = "average_wall_time"
LAST_LOSS = "last_average_loss"
STEP_TIMES = "step_times"
TOP_1 = "top_1_accuracy"
TOP_5 = "top_5_accuracy"
INTERRUPTED = "interrupted"
ENVIRONMENT = "environment"
#: Environment variables that change what TensorFlow does, kept with each result.
RECORDED_ENV_PREFIXES = ("TF_", "CUDA_", "OMP_", "KMP_", "CNNB_", "XLA_", "NCCL_")


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


def environment(tf_version: str, devices: list[str]) -> dict[str, Any]:
    from cnnb import __version__
    return {
        "cnnb_version": __version__,
        "tensorflow_version": tf_version,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "devices": devices,
        "command": sys.argv,
        "env_vars": {name: value for name, value in sorted(os.environ.items())
                     if name.startswith(RECORDED_ENV_PREFIXES)},
    }


def write_json_atomic(path: str, record: dict[str, Any]) -> None:
    """Write ``record`` as JSON so that ``path`` holds either the old or the new file."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".cnnb-", suffix=".json", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(record, out, indent=2, sort_keys=True, default=str)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
