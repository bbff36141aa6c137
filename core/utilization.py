"""FLOPs per image, achieved FLOP/s and model-FLOP utilization (MFU) of a run.

Forward FLOPs per image come from the builder's shape trace (2 per
multiply-add of convolutions and dense layers; :mod:`cnnb.shapes`), or for
Keras models from their traced graph, counted the same way. Training
counts forward plus backward as 3 x forward (the backward pass computes the
gradients of both the inputs and the weights of every layer, each as costly as
the forward op): the usual convention, so MFU figures compare across tools.
``achieved = flops_per_image x images/sec``; ``mfu = achieved / peak``, where
the peak is ``--peak_flops`` or this machine's matmul peak for the run's
precision, measured by ``cnnb peak`` (or by the first run that needs it) and
cached per machine in ``~/.cache/cnnb/peak.json`` (``$XDG_CACHE_HOME``,
``$CNNB_CACHE_DIR`` move it), keyed by CPU/GPU model, core count, device and
TensorFlow version. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

FLOPS_PER_IMAGE, ACHIEVED_FLOPS, MFU, PEAK_FLOPS = ("flops_per_image", "achieved_flops", "mfu",
                                                    "peak_flops")
#: forward + backward (input and weight gradients) ~ 3 forward passes
TRAINING_FLOPS_FACTOR = 3


def flops_per_image(model, num_classes: int, image_size: int, training: bool,
                    traced_forward=None) -> int | None:
    """FLOPs one image costs in a step. Builder models count them from their shape
    trace; others (Keras) through ``traced_forward()``, forward FLOPs read off the
    built network's graph (:mod:`cnnb.engine.graph_flops`). None: unknown."""
    trace = getattr(model, "trace", None)
    if trace is not None:
        forward = trace(num_classes, image_size=image_size).flops
    else:
        forward = traced_forward() if traced_forward is not None else None
    if not forward:
        return None
    return forward * (TRAINING_FLOPS_FACTOR if training else 1)


def utilization(flops: int | None, images_per_sec: float | None, peak: float | None) -> dict:
    """The measurement keys: flops_per_image, achieved_flops, mfu, peak_flops."""
    achieved = flops * images_per_sec if flops and images_per_sec else None
    mfu = achieved / peak if achieved and peak else None
    return {FLOPS_PER_IMAGE: flops, ACHIEVED_FLOPS: achieved, MFU: mfu, PEAK_FLOPS: peak}


def utilization_line(measured: dict, precision: str) -> str | None:
    """The console line after the ``total images/sec`` block."""
    if measured.get(MFU) is None:
        return None
    return (f"model FLOP utilization: {measured[MFU]:.1%} "
            f"({measured[ACHIEVED_FLOPS] / 1e9:.1f} of {measured[PEAK_FLOPS] / 1e9:.1f} GFLOP/s "
            f"{precision} peak)")


def cache_path() -> Path:
    if os.environ.get("CNNB_CACHE_DIR"):
        return Path(os.environ["CNNB_CACHE_DIR"]) / "peak.json"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cnnb" / "peak.json"


def machine_key(device_name: str, tf_version: str) -> str:
    """What a peak depends on: the device model, the cores this process may use
    (CPU), and TensorFlow's kernels."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{device_name} | {cores} cores | TF {tf_version}"


def read_cached_peaks(key: str) -> dict[str, float]:
    """{precision: FLOP/s} cached for ``key`` (empty when none or unreadable)."""
    try:
        entries = json.loads(cache_path().read_text(encoding="utf-8"))
        return {name: float(value) for name, value in entries.get(key, {}).items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def write_cached_peaks(key: str, peaks: dict[str, float]) -> Path | None:
    """Merge ``peaks`` into the cache atomically; None if it cannot be written
    (a read-only home must not fail a benchmark)."""
    path = cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            entries = {}
        entries.setdefault(key, {}).update(peaks)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".peak-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(entries, out, indent=1, sort_keys=True)
        os.replace(temporary, path)
        return path
    except OSError:
        return None
