"""Device names without TensorFlow: the towers of a run and TF device strings.

``--num_gpus=N`` makes N towers. With ``--gpu_indices=i,j,...`` (N distinct
indices) tower k runs on device index ``indices[k]``; the order is also the
ring order of ``xring`` (the predecessor used the flag only for that order,
which is what a permutation of 0..N-1 still means here). With
``--device=cpu`` the indices name logical CPUs, which cnnb creates before
TensorFlow starts.
"""

from __future__ import annotations

import dataclasses

from cnnb.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class DeviceName:
    """The parts of a TF device string; ``type`` is upper case (CPU, GPU)."""

    job: str | None
    replica: int | None
    task: int | None
    type: str
    index: int

    @property
    def worker(self) -> tuple:
        """Which process (job, replica, task) owns the device."""
        return (self.job, self.replica, self.task)


def parse_device_name(name: str) -> DeviceName:
    """'/cpu:1', '/device:GPU:0', '/job:worker/replica:0/task:1/device:GPU:3', ..."""
    fields: dict = {"job": None, "replica": None, "task": None}
    kind, index = None, None
    for part in (p for p in name.split("/") if p):
        key, _, rest = part.partition(":")
        if key in ("job", "replica", "task"):
            fields[key] = rest if key == "job" else int(rest)
        elif key == "device":
            kind, _, number = rest.partition(":")
            index = int(number) if number else 0
        elif key.lower() in ("cpu", "gpu") or key.isupper():
            kind, index = key, int(rest) if rest else 0
        else:
            raise ValueError(f"cannot read device name {name!r}")
    if kind is None:
        raise ValueError(f"device name {name!r} names no device type")
    return DeviceName(fields["job"], fields["replica"], fields["task"], kind.upper(), index)


def same_device(a: str, b: str) -> bool:
    """True when two device strings name the same device type and index (and
    the same worker when both say which)."""
    x, y = parse_device_name(a), parse_device_name(b)
    same_worker = all(p is None or q is None or p == q for p, q in zip(x.worker, y.worker))
    return (x.type, x.index) == (y.type, y.index) and same_worker


def parse_gpu_indices(text: str | None) -> list[int] | None:
    """'0,1,3,2' -> [0, 1, 3, 2]; None/'' -> None."""
    if not text:
        return None
    try:
        indices = [int(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(f"--gpu_indices={text} must be comma-separated device indices, "
                          "e.g. 0,1,3,2.") from None
    if any(i < 0 for i in indices) or len(set(indices)) != len(indices):
        raise ConfigError(f"--gpu_indices={text} must list distinct, non-negative indices.")
    return indices


def tower_indices(num_gpus: int, gpu_indices: str | None) -> list[int]:
    """Device index of each tower: --gpu_indices (one per tower), else 0..N-1."""
    indices = parse_gpu_indices(gpu_indices)
    if indices is None:
        return list(range(num_gpus))
    if len(indices) != num_gpus:
        raise ConfigError(f"--gpu_indices={gpu_indices} lists {len(indices)} device(s) but "
                          f"--num_gpus={num_gpus}; give one index per device.")
    return indices


def tower_devices(device: str, num_gpus: int, gpu_indices: str | None = None) -> tuple:
    """``('/gpu:0', '/gpu:1', ...)`` or ``('/cpu:0', ...)``, one per tower."""
    kind = "gpu" if device == "gpu" else "cpu"
    return tuple(f"/{kind}:{i}" for i in tower_indices(num_gpus, gpu_indices))


def devices_needed(num_gpus: int, gpu_indices: str | None = None) -> int:
    """How many devices of the kind must exist: the highest index used, plus one."""
    return max(tower_indices(num_gpus, gpu_indices)) + 1
