"""Timing only the all-reduce of a model's gradient shapes (``cnnb allreduce-bench``).

Each device holds one float32 tensor per trainable variable of the model (in
variables on the device, so nothing is copied from the host per step); a
``tf.function`` runs the run's all-reduce plan over them, exactly as
replicated training does, and nothing else.
"""

from __future__ import annotations

import dataclasses
import math
import time

import tensorflow as tf

from cnnb.engine.allreduce import SpecAllReduce

BYTES_PER_ELEMENT = 4          # float32 gradients


@dataclasses.dataclass
class BenchResult:
    """Step times (seconds) of the all-reduce and what was reduced."""

    num_devices: int
    num_tensors: int
    num_elements: int
    step_times: list = dataclasses.field(default_factory=list)

    @property
    def num_bytes(self) -> int:
        return self.num_elements * BYTES_PER_ELEMENT

    @property
    def mean_time(self) -> float:
        return sum(self.step_times) / len(self.step_times)

    @property
    def algorithm_bandwidth(self) -> float:
        """Bytes per second: the gradient bytes of one device over the time."""
        return self.num_bytes / self.mean_time

    @property
    def bus_bandwidth(self) -> float:
        """The algorithm bandwidth x 2(n-1)/n: what each link carries in a ring
        all-reduce (NCCL's convention), comparable across device counts."""
        n = self.num_devices
        return self.algorithm_bandwidth * (2 * (n - 1) / n if n > 1 else 1.0)


def make_all_reduce_step(all_reduce_plan, shapes, seed: int = 1234):
    """``step() -> 0`` running the all-reduce once; the gradients stay on the devices."""
    all_reduce = SpecAllReduce(all_reduce_plan)
    generator = tf.random.Generator.from_seed(seed)
    values = []
    for device in all_reduce.devices:
        with tf.device(device):
            values.append([tf.Variable(generator.normal(shape), trainable=False)
                           for shape in shapes])

    @tf.function(autograph=False)
    def step():
        sums = all_reduce([[v.read_value() for v in on_device] for on_device in values])
        with tf.control_dependencies([t for on_device in sums for t in on_device]):
            return tf.constant(0)

    return step


def benchmark_all_reduce(all_reduce_plan, shapes, num_batches: int, num_warmup: int,
                         on_step=None, log=print) -> BenchResult:
    """Warm up (the first call traces), then time ``num_batches`` all-reduces."""
    step = make_all_reduce_step(all_reduce_plan, shapes)
    result = BenchResult(len(all_reduce_plan.context.devices), len(shapes),
                         sum(math.prod(s) for s in shapes))
    log("Running warm up")
    for _ in range(num_warmup):
        step().numpy()
    log("Done warm up")
    for number in range(1, num_batches + 1):
        began = time.perf_counter()
        step().numpy()
        result.step_times.append(time.perf_counter() - began)
        if on_step is not None:
            on_step(number, result.step_times[-1])
    return result
