"""Check an all-reduce algorithm's sums: for vendors and for cnnb's own tests.

Every device gets tensors of mixed shapes and sizes (a scalar, sizes that do
not divide by the device count, a larger one); the algorithm must return, on
every device, the exact sum (float32 tolerance), placed on that device,
identical on all devices, with shapes and dtypes kept. It runs on logical
CPU devices, so a CPU-only machine checks any algorithm that runs on CPUs::

    from cnnb.allreduce_conformance import check_algorithm
    check_algorithm("acme")                 # a registered name, or the class

or from a shell (a fresh process, so the logical CPUs can be made)::

    python -m cnnb.allreduce_conformance acme xring --devices 2,3,4,8 --shards 1,2

A constructor that raises :class:`cnnb.errors.ConfigError` (e.g. a shard
count the device count cannot take) is reported as *rejected*, not failed.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import numpy as np

from cnnb.errors import ConfigError

#: shapes every device sends: scalar, odd sizes, multi-dimensional, larger
SHAPES = ((), (1,), (2,), (7,), (3, 5), (2, 3, 4), (129,), (33, 3), (1000,))


@dataclasses.dataclass(frozen=True)
class CheckResult:
    algorithm: str
    num_devices: int
    shards: int
    status: str          # "ok", "rejected" or "failed"
    detail: str = ""

    def line(self) -> str:
        text = f"{self.status:8s} {self.algorithm} devices={self.num_devices} shards={self.shards}"
        return f"{text}: {self.detail}" if self.detail else text


def check_algorithm(algorithm, device_counts=(2, 3, 4, 8), shards=(1,), device_kind="cpu",
                    rtol: float = 1e-5, require_identical: bool = True) -> list[CheckResult]:
    """Run the check for each device count and shard count.

    :param algorithm: a registered all-reduce name or an
        :class:`cnnb.allreduce.AllReduceAlgorithm` subclass.
    :raises AssertionError: listing every failed case.
    :returns: one :class:`CheckResult` per case (ok or rejected).
    """
    results = run_checks(algorithm, device_counts, shards, device_kind, rtol, require_identical)
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise AssertionError("\n".join(r.line() for r in failed))
    return results


def run_checks(algorithm, device_counts=(2, 3, 4, 8), shards=(1,), device_kind="cpu",
               rtol: float = 1e-5, require_identical: bool = True) -> list[CheckResult]:
    """Like :func:`check_algorithm`, but returns failures instead of raising."""
    name, algorithm_class = _resolve(algorithm)
    if device_kind == "cpu":
        from cnnb.engine.tfsetup import ensure_logical_cpus
        ensure_logical_cpus(max(device_counts))
    return [_check_case(name, algorithm_class, count, k, device_kind, rtol, require_identical)
            for count in device_counts for k in shards]


def _resolve(algorithm):
    if not isinstance(algorithm, str):
        return algorithm.__name__, algorithm
    from cnnb.pluginmanager import load_plugins
    return algorithm, load_plugins().registry("allreduce").get(algorithm).load()


def _check_case(name, algorithm_class, count, shards, kind, rtol, identical) -> CheckResult:
    from cnnb.allreduce import AllReduceContext
    devices = tuple(f"/{kind}:{i}" for i in range(count))
    try:
        algorithm = algorithm_class(AllReduceContext(devices), shards)
    except ConfigError as error:
        return CheckResult(name, count, shards, "rejected", str(error))
    inputs = _inputs(count, seed=count * 100 + shards)
    try:
        outputs, placed = _run(algorithm, inputs, devices)
    except Exception as error:         # a crash is a failure, reported with its type
        return CheckResult(name, count, shards, "failed", f"{type(error).__name__}: {error}")
    problems = _problems(inputs, outputs, placed, devices, rtol, identical)
    return CheckResult(name, count, shards, "failed" if problems else "ok", "; ".join(problems))


def _inputs(count: int, seed: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(shape).astype(np.float32) for shape in SHAPES]
            for _ in range(count)]


def _run(algorithm, inputs, devices):
    """Outputs as numpy, and the devices the outputs were placed on at trace time."""
    import tensorflow as tf
    placed: list = []

    @tf.function(autograph=False)
    def all_reduce():
        device_tensors = []
        for values, device in zip(inputs, devices):
            with tf.device(device):
                device_tensors.append([tf.identity(tf.constant(v)) for v in values])
        sums = algorithm.reduce(device_tensors)
        placed[:] = [[t.device for t in per_device] for per_device in sums]
        return sums

    outputs = all_reduce()
    return [[np.asarray(t) for t in per_device] for per_device in outputs], placed


def _problems(inputs, outputs, placed, devices, rtol, identical) -> list[str]:
    from cnnb.devices import same_device
    problems = []
    if len(outputs) != len(devices) or any(len(o) != len(SHAPES) for o in outputs):
        return [f"returned {[len(o) for o in outputs]} tensors per device, expected "
                f"{len(SHAPES)} on each of {len(devices)} devices"]
    for t, shape in enumerate(SHAPES):
        expected = np.sum([values[t].astype(np.float64) for values in inputs], axis=0)
        for d, device in enumerate(devices):
            got = outputs[d][t]
            where = f"tensor {t} shape {shape} on {device}"
            if got.shape != tuple(shape) or got.dtype != np.float32:
                problems.append(f"{where}: got {got.dtype}{list(got.shape)}")
            elif not np.allclose(got, expected, rtol=rtol, atol=rtol * len(devices)):
                problems.append(f"{where}: max error {np.max(np.abs(got - expected)):.3g}")
            elif not placed[d][t] or not same_device(placed[d][t], device):
                problems.append(f"{where}: placed on {placed[d][t] or 'no device'!r}")
            elif identical and not np.array_equal(got, outputs[0][t]):
                problems.append(f"{where}: differs from device 0's copy")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnb.allreduce_conformance",
                                     description="Check all-reduce algorithms' sums.")
    parser.add_argument("names", nargs="+", help="registered all-reduce algorithm names")
    parser.add_argument("--devices", default="2,3,4,8", help="device counts (default 2,3,4,8)")
    parser.add_argument("--shards", default="1", help="shard counts (default 1)")
    parser.add_argument("--device-kind", default="cpu", choices=("cpu", "gpu"))
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.devices.split(",")]
    shard_counts = [int(s) for s in args.shards.split(",")]
    if args.device_kind == "cpu":
        from cnnb.engine.tfsetup import ensure_logical_cpus
        ensure_logical_cpus(max(counts))        # before anything else starts TensorFlow
    failed = False
    for name in args.names:
        for result in run_checks(name, counts, shard_counts, args.device_kind):
            print(result.line(), flush=True)
            failed = failed or result.status == "failed"
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
