"""``--result_csv``: one row per run, appended to a CSV file a spreadsheet opens.

The JSON record (:mod:`cnnb.results`) holds everything; a row holds what a
person scans across many runs: what ran (model, devices, batch sizes, the
flags given), what it measured (images/sec with uncertainty and jitter, every
step time), and where (versions, CPU, GPU and driver, git revision, plugin
distributions). The first column is the schema version of the row layout
(:data:`CSV_SCHEMA_VERSION`), the header is written once, when the file is new.

Appending is atomic: the file is rewritten through :func:`cnnb.outputs.write_text_atomic`
(a temporary file renamed into place) while an exclusive lock on the folder
keeps concurrent cnnb runs from losing each other's rows, so a reader sees the
file before or after a row was added, never half a row, and a full disk leaves
the old file whole. The path gets the checks of ``--result_json`` before the
run starts (no directories, device nodes, FIFOs...), plus one: an existing file
must have this cnnb's header, so rows of two layouts never mix in one file.
Imports no TensorFlow.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import fcntl
import io
import os
import shlex
from typing import Any

from cnnb.errors import ConfigError, OutputError
from cnnb.outputs import STDOUT, check_output_target, write_text_atomic

#: Bumped when columns change meaning, are removed or reordered.
CSV_SCHEMA_VERSION = 1

#: (column, part of the record, key) for the columns copied from a record.
_COPIED = (
    ("model", "plan", "model"), ("dataset", "plan", "dataset"), ("mode", "plan", "mode"),
    ("num_devices", "plan", "num_devices"), ("num_workers", "plan", "num_workers"),
    ("variable_update", "plan", "variable_update"), ("batch_size", "plan", "batch_size"),
    ("global_batch_size", "plan", "global_batch_size"), ("num_batches", "plan", "num_batches"),
    ("images_per_sec", "measurements", "images_per_sec"),
    ("images_per_sec_uncertainty", "measurements", "images_per_sec_uncertainty"),
    ("images_per_sec_jitter", "measurements", "images_per_sec_jitter"),
    ("average_wall_time", "measurements", "average_wall_time"),
    ("num_steps", "measurements", "num_steps"),
    ("last_average_loss", "measurements", "last_average_loss"),
    ("top_1_accuracy", "measurements", "top_1_accuracy"),
    ("top_5_accuracy", "measurements", "top_5_accuracy"),
    ("stop_reason", "measurements", "stop_reason"),
    ("interrupted", "measurements", "interrupted"), ("diverged", "measurements", "diverged"),
    ("cnnb_version", "environment", "cnnb_version"),
    ("tensorflow_version", "environment", "tensorflow_version"),
    ("python_version", "environment", "python_version"),
    ("cpu_model", "environment", "cpu_model"), ("gpu_driver", "environment", "gpu_driver"),
)
COLUMNS = ("schema_version", "written_at", *(name for name, _, _ in _COPIED),
           "device_names", "gpus", "cpu_flags", "git_commit", "git_dirty", "plugin_versions",
           "flags", "step_times")


def header_line() -> str:
    return _csv_text([COLUMNS])


def check_csv_target(path: str | None) -> None:
    """Before a run: ``path`` can take a row (the checks of ``--result_json``) and,
    if it holds a table already, that table has this cnnb's columns."""
    check_output_target(path, "--result_csv")
    if not path or path == STDOUT:
        return
    first = _first_line(path)
    if first is not None and first != header_line():
        raise ConfigError(
            f"--result_csv: {path} holds a table with other columns than this cnnb writes "
            f"(schema_version {CSV_SCHEMA_VERSION}: {', '.join(COLUMNS[:4])}, ...); "
            "give a new file, or move the old one away")


def row(result) -> dict[str, Any]:
    """The CSV row of a :class:`cnnb.results.Result`."""
    record = result.as_dict()
    environment = record["environment"]
    values: dict[str, Any] = {"schema_version": CSV_SCHEMA_VERSION,
                              "written_at": datetime.datetime.now(datetime.timezone.utc)
                              .isoformat(timespec="seconds")}
    for column, part, key in _COPIED:
        values[column] = record[part].get(key)
    git = environment.get("git") or {}
    values.update({
        "device_names": " ".join(record["plan"].get("devices") or ()),
        "gpus": "; ".join(gpu.get("name", "") for gpu in environment.get("gpus") or ()),
        "cpu_flags": " ".join(environment.get("cpu_flags") or ()),
        "git_commit": git.get("commit"), "git_dirty": git.get("dirty"),
        "plugin_versions": " ".join(f"{name}=={version}" for name, version in
                                    sorted((environment.get("plugin_versions") or {}).items())),
        "flags": given_flags(record["config"]),
        "step_times": " ".join(f"{seconds:.9g}" for seconds in
                               record["measurements"].get("step_times") or ()),
    })
    return values


def given_flags(config: dict) -> str:
    """The options the user set, as a ``cnnb run`` command line would give them
    (secret-looking values are already masked in the record)."""
    options = config.get("options") or {}
    flags = []
    for name in config.get("explicit") or ():
        value = options.get(name)
        if isinstance(value, bool):
            flags.append(f"--{name}" if value else f"--no{name}")
        else:
            flags.append(shlex.quote(f"--{name}={'' if value is None else value}"))
    return " ".join(flags)


def append_row(path: str, result) -> None:
    """Append ``result``'s row to ``path`` (header first if the file is new or
    empty; ``-``: print header and row to stdout). Raises :class:`OutputError`."""
    values = row(result)
    line = _csv_text([[_cell(values[column]) for column in COLUMNS]])
    if path == STDOUT:
        write_text_atomic(STDOUT, header_line() + line)
        return
    real = os.path.realpath(path)
    with _folder_lock(os.path.dirname(real)):
        old = _existing_text(real)
        if old and not old.startswith(header_line()):
            raise OutputError(f"not appending to {path}: it now holds another table "
                              "(its header changed during the run)")
        if old and not old.endswith("\n"):
            old += "\n"
        write_text_atomic(path, (old or header_line()) + line)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.9g}"
    return str(value)


def _csv_text(rows) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _first_line(path: str) -> str | None:
    """The header line of an existing non-empty file (with its newline), else None."""
    try:
        with open(path, encoding="utf-8", newline="") as source:
            first = source.readline()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"--result_csv: cannot read {path}: {error}") from error
    return first or None


def _existing_text(real: str) -> str:
    try:
        with open(real, encoding="utf-8", newline="") as source:
            return source.read()
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as error:
        raise OutputError(f"could not read {real} to append a row: {error}") from error


@contextlib.contextmanager
def _folder_lock(directory: str):
    """An exclusive lock on ``directory`` (created if missing): one cnnb appends at a
    time, and the lock leaves no file behind. Best effort where flock is refused."""
    try:
        os.makedirs(directory, exist_ok=True)
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        yield        # the write itself will report what is wrong, in one line
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)
