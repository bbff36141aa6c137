"""Shared pieces of the benchmark scripts: a cnnb run in this process, and the
machine's matmul peak (to compare numbers across machines)."""

from __future__ import annotations

import argparse
import time


def cnnb_images_per_sec(plugins, **flags) -> float:
    """images/sec of one `cnnb run` through :mod:`cnnb.api`, in this process.

    ``flags`` are `cnnb run` flags by name; CPU, NHWC and quiet output by default.
    """
    from cnnb import api
    raw = {"device": "cpu", "data_format": "NHWC", "display_every": 1000, **flags}
    plan = api.prepare(raw, plugins=plugins, visible_gpus=lambda: 0)
    return api.run(plan, log=lambda line: None).images_per_sec


def matmul_peak_gflops(tf, precision: str = "fp32") -> float:
    """GFLOP/s of large square matmuls (what `cnnb peak` measures): the machine's
    practical peak, so numbers compare across machines."""
    from cnnb.engine.peak import measure_peak
    return measure_peak(tf, precision) / 1e9


def plain_loop_images_per_sec(tf, model, num_classes: int, batch_size: int, steps: int,
                              warmup: int, precision: str = "fp32", xla: bool = False,
                              weight_decay: float = 4e-5) -> float:
    """images/sec of a minimal tf.function loop (tape, gradients, assign_sub) over
    the same cnnb-built network: the floor any framework's overhead is measured
    against. Same math as a default `cnnb run` (sgd, the predecessor's L2 over
    non-batch-norm weights); ``precision`` casts compute like cnnb does."""
    run = plain_stepper(tf, model, num_classes, batch_size, warmup, precision, xla,
                        weight_decay)
    return batch_size * steps / run(steps)


def plain_step(tf, model, num_classes: int, batch_size: int, precision: str = "fp32",
               xla: bool = False, weight_decay: float = 4e-5):
    """The plain loop's step function (see :func:`plain_loop_images_per_sec`)."""
    from cnnb.engine.network import Network
    from cnnb.precision import DTYPES
    from cnnb.settings import PrecisionSettings
    network = Network(model, num_classes, model.image_size, "NHWC", "/cpu:0",
                      precision=PrecisionSettings(precision, DTYPES[precision]))
    shape = [batch_size, model.image_size, model.image_size, 3]
    images = tf.Variable(tf.random.truncated_normal(shape, mean=127, stddev=60), trainable=False)
    labels = tf.Variable(tf.random.uniform([batch_size], 0, num_classes - 1, tf.int32),
                         trainable=False)
    variables = network.trainable_variables

    @tf.function(jit_compile=xla)
    def step():
        with tf.GradientTape() as tape:
            logits, _ = network(images, training=True)
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
            loss += weight_decay * tf.add_n([tf.nn.l2_loss(v) for v in network.store.decayed()])
        for variable, grad in zip(variables, tape.gradient(loss, variables)):
            variable.assign_sub(0.005 * grad)
        return loss

    return step


def plain_stepper(tf, model, num_classes: int, batch_size: int, warmup: int,
                  precision: str = "fp32", xla: bool = False, weight_decay: float = 4e-5):
    """``run(n) -> seconds`` of n plain-loop steps, warmed up once."""
    step = plain_step(tf, model, num_classes, batch_size, precision, xla, weight_decay)
    for _ in range(max(1, warmup)):
        step().numpy()

    def run(steps: int) -> float:
        began = time.perf_counter()
        for _ in range(steps):
            step().numpy()
        return time.perf_counter() - began
    return run


def cnnb_stepper(plugins, warmup: int, **flags):
    """``run(n) -> seconds`` of n steps of cnnb's own timed loop, warmed up once.

    The same plan, step and loop code as `cnnb run` (flags by name, CPU and
    NHWC by default), kept alive so a bench can interleave it with other
    frameworks block by block. Uses the runner's internal pieces: a bench
    script, not an API."""
    from cnnb import api
    from cnnb.engine.loop import timed_loop, warm_up
    from cnnb.engine.runner import _Training
    from cnnb.engine.tfsetup import configure
    from cnnb.learning_rate import make_schedule, schedule_context
    raw = {"device": "cpu", "data_format": "NHWC", "display_every": 1000, "num_batches": 1,
           **flags}
    plan = api.prepare(raw, plugins=plugins, visible_gpus=lambda: 0)
    configure(plan.settings.runtime)
    training = _Training(plan, _quiet, None)
    schedule = make_schedule(plan.settings.schedule, plan.model, plan.batch_size,
                             schedule_context(plan))
    position = [warm_up(training.step, schedule, max(1, warmup), _quiet)[0]]

    def run(steps: int) -> float:
        loop = timed_loop(training.step, schedule, plan, position[0],
                          plugins.hook.cnnb_step_end, _quiet, steps)
        position[0] = loop.global_step
        return loop.elapsed
    return run


def _quiet(line: str) -> None:
    """A log that prints nothing."""


def keras_stepper(tf, keras, build, batch_size: int, image_size: int, num_classes: int,
                  warmup: int, precision: str = "fp32", xla: bool = False):
    """``run(n) -> seconds`` of one ``model.fit`` call of n steps, warmed up once."""
    from cnnb.precision import DTYPES
    previous = keras.config.dtype_policy()
    if precision != "fp32":
        keras.config.set_dtype_policy(f"mixed_{DTYPES[precision]}")
    try:
        model = build(keras, image_size, num_classes)
    finally:
        keras.config.set_dtype_policy(previous)
    model.compile(optimizer=keras.optimizers.SGD(0.005), jit_compile=xla,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    images = tf.random.truncated_normal([batch_size, image_size, image_size, 3], mean=127,
                                        stddev=60)
    labels = tf.random.uniform([batch_size], 0, num_classes - 1, tf.int32)
    data = tf.data.Dataset.from_tensors((images, labels)).repeat()
    model.fit(data, steps_per_epoch=max(1, warmup), epochs=1, verbose=0, shuffle=False)

    def run(steps: int) -> float:
        began = time.perf_counter()
        model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
        return time.perf_counter() - began
    return run


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """--model, --batch_size, --steps, --warmup, --repeats (ResNet-50, batch 8)."""
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per run")
    parser.add_argument("--repeats", type=int, default=2, help="alternating rounds")
