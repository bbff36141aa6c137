"""Turning TensorFlow's out-of-memory errors into one line a user can act on.

TensorFlow reports OOM as a ResourceExhaustedError whose message, several
lines long, names the tensor it could not allocate. The user's lever is the
batch size, so the line says which batch was asked for and how large the
failed tensor was.
"""

from __future__ import annotations

import math
import re

from cnnb.errors import CnnbError

_OOM = re.compile(r"OOM when allocating tensor with shape\[([\d,\s]*)\] and type (\w+) on "
                  r"(?:/job:\w+/replica:\d+/task:\d+/device:)?(\S+?)(?: by allocator|$)")
_BYTES = {"float": 4, "half": 2, "bfloat16": 2, "double": 8, "int32": 4, "int64": 8,
          "uint8": 1, "int8": 1, "bool": 1}


class OutOfMemoryError(CnnbError, MemoryError):
    """A run that does not fit in the device's memory (exit status 2: the
    flags ask for more than the machine has)."""


def out_of_memory(error: Exception, batch_per_device: int, num_devices: int) -> OutOfMemoryError:
    """The one-line error for TensorFlow's ResourceExhaustedError ``error``."""
    batch = f"--batch_size={batch_per_device} per device"
    if num_devices > 1:
        batch += f" ({batch_per_device * num_devices} in all)"
    found = _OOM.search(str(error))
    what = "the run"
    if found:
        dims = [int(d) for d in found.group(1).replace(" ", "").split(",") if d]
        size = math.prod(dims) * _BYTES.get(found.group(2), 4)
        what = (f"a {found.group(2)} tensor of shape [{','.join(map(str, dims))}] "
                f"({_human(size)}) on {found.group(3)}")
    return OutOfMemoryError(f"out of memory with {batch}: {what} did not fit; use a smaller "
                            "--batch_size (or more devices).")


def _human(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{size} B"
        size /= 1024
    return f"{size} B"
