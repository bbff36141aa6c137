"""The device's practical peak FLOP/s: large square matmuls, per precision.

A matmul of two n x n matrices is 2 n^3 FLOPs and the best-tuned kernel a
device has, so its rate is the ceiling model FLOPs are compared with (MFU).
Used by ``cnnb peak`` and, when nothing is cached, by the first run that
reports utilization; the cache lives in :mod:`cnnb.utilization`.
"""

from __future__ import annotations

import sys

import time

from cnnb.precision import DTYPES
from cnnb.utilization import machine_key, read_cached_peaks, write_cached_peaks

#: matrix sizes tried (the best rate counts): big enough to reach the peak,
#: small enough to run in about a second each
SIZES = (1024, 2048)
MIN_SECONDS, MIN_REPEATS = 0.5, 3


def matmul_flops(tf, precision: str = "fp32", device: str = "/cpu:0", size: int = 2048,
                 jit_compile: bool = False) -> float:
    """FLOP/s of repeated ``size`` x ``size`` matmuls in ``precision`` on ``device``
    (through XLA with ``jit_compile``)."""
    dtype = DTYPES[precision]
    with tf.device(device):
        a = tf.Variable(tf.cast(tf.random.normal([size, size]), dtype))
        b = tf.Variable(tf.cast(tf.random.normal([size, size]), dtype))

    @tf.function(autograph=False, jit_compile=jit_compile)
    def product():
        with tf.device(device):
            return tf.reduce_sum(tf.cast(tf.matmul(a, b)[:1, :1], tf.float32))

    product().numpy()                      # trace, allocate, warm the kernel
    repeats, began = 0, time.perf_counter()
    while repeats < MIN_REPEATS or time.perf_counter() - began < MIN_SECONDS:
        product().numpy()
        repeats += 1
    return 2.0 * size ** 3 * repeats / (time.perf_counter() - began)


def measure_peak(tf, precision: str = "fp32", device: str = "/cpu:0") -> float:
    """The best matmul rate over :data:`SIZES`, through TensorFlow's kernels and
    through XLA: the device's peak is what its best path reaches (on AVX2 CPUs
    XLA's bfloat16 matmul is much faster than TensorFlow's emulated one)."""
    return max(matmul_flops(tf, precision, device, size, jit)
               for size in SIZES for jit in (False, True))


def device_name(tf, device: str) -> str:
    """The model of the device a peak belongs to (CPU marketing name or GPU name)."""
    from cnnb.results import cpu_model
    if "gpu" in device.lower():
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            return details.get("device_name", "GPU")
    from cnnb.precision import cpu_flags
    flags = cpu_flags()
    simd = next((f for f in ("amx_bf16", "avx512_bf16", "avx512f", "avx2") if f in flags), "")
    return f"{cpu_model()} {simd}".strip()


def cached_or_measured_peak(tf, precision: str, device: str) -> tuple[float, bool]:
    """(peak FLOP/s, measured now?): the cached value for this machine, else measured
    now and cached."""
    key = machine_key(f"{device_name(tf, device)} ({_kind(device)})", tf.__version__)
    cached = read_cached_peaks(key)
    if precision in cached:
        return cached[precision], False
    peak = measure_peak(tf, precision, device)
    write_cached_peaks(key, {precision: peak})
    return peak, True


def measure_all(tf, device: str, precisions=("fp32", "bf16", "fp16")) -> tuple[str, dict]:
    """(cache key, {precision: FLOP/s}) measured now and cached (``cnnb peak``)."""
    key = machine_key(f"{device_name(tf, device)} ({_kind(device)})", tf.__version__)
    peaks = {precision: measure_peak(tf, precision, device) for precision in precisions}
    write_cached_peaks(key, peaks)
    return key, peaks


def _kind(device: str) -> str:
    return "gpu" if "gpu" in device.lower() else "cpu"


def report_utilization(plan, images_per_sec: float | None, log, network=None) -> dict:
    """flops_per_image, achieved_flops, mfu and peak_flops of a training or
    forward-only run; prints the utilization line (after the totals block) on
    stderr, so stdout stays byte for byte the predecessor's lines for parsers.
    ``network``: one built tower, whose graph gives the FLOPs of models without
    a shape trace (Keras)."""
    from cnnb.planning import FORWARD_ONLY, TRAINING_AND_EVALUATION
    from cnnb.utilization import flops_per_image, utilization, utilization_line
    import tensorflow as tf
    flops = flops_per_image(plan.model, plan.dataset.num_classes, plan.image_size,
                            training=plan.mode != FORWARD_ONLY,
                            traced_forward=_graph_counter(plan, network))
    peak = plan.settings.profiling.peak_flops
    precision = plan.settings.precision.name
    if peak is None and flops and images_per_sec:
        device = "/gpu:0" if plan.settings.runtime.device == "gpu" else "/cpu:0"
        peak, measured_now = cached_or_measured_peak(tf, precision, device)
        if measured_now:
            _note(f"Measured this machine's {precision} matmul peak: {peak / 1e9:.1f} GFLOP/s "
                  "(cached; 'cnnb peak' measures it again)")
    measured = utilization(flops, images_per_sec, peak)
    line = utilization_line(measured, precision)
    if line and plan.mode != TRAINING_AND_EVALUATION:
        _note(line)
    return measured


def _graph_counter(plan, network):
    """A callable counting ``network``'s forward FLOPs from its traced graph."""
    if network is None:
        return None
    from cnnb.engine.graph_flops import traced_forward_flops
    return lambda: traced_forward_flops(network, plan.image_size,
                                        plan.settings.runtime.data_format)


def _note(line: str) -> None:
    """cnnb's own lines after the predecessor's output: on stderr."""
    print(line, file=sys.stderr, flush=True)
