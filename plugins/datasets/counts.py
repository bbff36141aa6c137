"""How many examples the files under ``--data_dir`` hold. TensorFlow-free.

``--num_epochs``, the ``Num epochs:`` line, epoch-based evaluation schedules and
the default evaluation length all need the real example counts, not the
published ones: a 2,000-image fake CIFAR-10 is not 50,000 images.

The counts come, in order, from

1. the sidecar ``cnnb-counts.json`` that ``cnnb data fake`` and
   ``cnnb data count`` write next to the data, trusted while every file it
   lists still exists with the size and modification time it recorded and no
   other file has appeared (files replaced since are counted again);
2. counting the files themselves (a format's ``count_examples``): TFRecord
   shards by walking their record headers (a seek per record, no decoding),
   CIFAR-10 pickles by loading them. Formats may refuse when counting would be
   slow (see :class:`~cnnb.plugins.datasets.layouts.TFRecordShards`).
"""

from __future__ import annotations

import contextlib
import json
import os
import struct

from cnnb.dataset import DataError, DataFiles
from cnnb.errors import ConfigError

SIDECAR_NAME = "cnnb-counts.json"
SIDECAR_VERSION = 1

#: A TFRecord is: uint64 length, uint32 CRC of the length, data, uint32 CRC of the data.
_LENGTH = struct.Struct("<Q")
HEADER_BYTES, _FOOTER_BYTES = 12, 4


def file_stamps(files: DataFiles) -> dict[str, list[int]]:
    """Each file's basename with its size and modification time (ns): what the
    sidecar compares to decide it still describes these files."""
    stamps = {}
    for path in files.paths:
        status = os.stat(path)
        stamps[os.path.basename(path)] = [status.st_size, status.st_mtime_ns]
    return stamps


def recorded_examples(data_dir: str, files: DataFiles) -> tuple[int | None, str]:
    """(examples, state): the count the sidecar in ``data_dir`` records for
    exactly these files, state ``"current"``; or (None, ``"missing"``) without a
    usable sidecar entry, (None, ``"stale"``) when the files differ from the
    ones it recorded (replaced, regenerated, added or removed since: a user
    expects the files' count then, not an old note's)."""
    try:
        with open(os.path.join(data_dir, SIDECAR_NAME), encoding="utf-8") as source:
            sidecar = json.load(source)
        if sidecar["cnnb_counts"] != SIDECAR_VERSION:
            return None, "missing"
        recorded = sidecar["subsets"][files.subset]
        examples, stamps = int(recorded["examples"]), dict(recorded["files"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None, "missing"
    try:
        unchanged = stamps == file_stamps(files)
    except OSError:
        return None, "stale"
    return (examples, "current") if unchanged else (None, "stale")


def write_sidecar(data_dir: str, format_name: str, counted: dict[str, tuple[DataFiles, int]]
                  ) -> str:
    """Record ``{subset: (files, examples)}`` in ``data_dir``'s sidecar (atomically:
    a reader never sees half a file); returns its path."""
    content = {"cnnb_counts": SIDECAR_VERSION, "format": format_name,
               "subsets": {subset: {"examples": examples, "files": file_stamps(files)}
                           for subset, (files, examples) in counted.items()}}
    path = os.path.join(data_dir, SIDECAR_NAME)
    temporary = os.path.join(data_dir, f".{SIDECAR_NAME}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(content, out, indent=1, sort_keys=True)
            out.write("\n")
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise ConfigError(f"cannot write {path} ({error.strerror or error}); the counts were "
                          "not recorded.") from None
    return path


def tfrecord_count(path: str) -> int:
    """Records in one TFRecord file, found by jumping from header to header.

    A file whose last record runs past its end (truncated, or not a TFRecord
    file at all) is a DataError naming it: TensorFlow would fail on it later,
    in the middle of a run, without the name.
    """
    starts, size = record_starts(path), os.path.getsize(path)
    if starts[-1] != size:
        broken = len(starts) - 1 if starts[-1] > size else len(starts)     # 1-based
        raise DataError(f"{path}: not a complete TFRecord file (record {broken} ends past the "
                        f"end of the file's {size} bytes); is it truncated?")
    return len(starts) - 1


def record_starts(path: str) -> list[int]:
    """The byte offset of every record header in a TFRecord file, then the
    offset where the next one would start (the file's size when it is whole)."""
    starts = [0]
    try:
        size = os.path.getsize(path)
        with open(path, "rb", buffering=0) as source:     # one small pread per record
            descriptor = source.fileno()
            while starts[-1] + HEADER_BYTES <= size:
                (length,) = _LENGTH.unpack_from(os.pread(descriptor, 8, starts[-1]))
                starts.append(starts[-1] + HEADER_BYTES + length + _FOOTER_BYTES)
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error}); check the file "
                        "and its permissions.") from None
    return starts
