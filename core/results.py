"""The flat result record of a run, and writing it safely.

Key names are constants here so reporters and log readers can rely on them.
Files are written atomically (temporary file in the same directory, fsync,
rename): a reader never sees half a record.
"""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

from cnnb.outputs import masked_command, recorded_env_vars, write_json

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
    """What a result depends on besides the flags: versions, machine, devices, the
    command (secret-looking flag values masked) and the performance-relevant
    environment variables (an allow-list, so a credential never lands in a record)."""
    from cnnb import __version__
    return {
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


def write_json_atomic(path: str, record: dict[str, Any]) -> None:
    """Write ``record`` as JSON so that ``path`` holds either the old or the new file
    (``-``: stdout; a symlink is written through); see :func:`cnnb.outputs.write_json`."""
    write_json(path, record)
