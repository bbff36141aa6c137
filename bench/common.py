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


def matmul_peak_gflops(tf, size: int = 2048, repeats: int = 8) -> float:
    """fp32 GFLOP/s of a large square matmul: the machine's practical peak."""
    a = tf.Variable(tf.random.normal([size, size]))
    b = tf.Variable(tf.random.normal([size, size]))
    product = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    for _ in range(2):
        product().numpy()
    began = time.perf_counter()
    for _ in range(repeats):
        product().numpy()
    return 2 * size ** 3 * repeats / (time.perf_counter() - began) / 1e9


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """--model, --batch_size, --steps, --warmup, --repeats (ResNet-50, batch 8)."""
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per run")
    parser.add_argument("--repeats", type=int, default=2, help="alternating rounds")
