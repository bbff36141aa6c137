"""flops_per_image, achieved_flops and mfu in every record; `cnnb peak` and its cache."""

from __future__ import annotations

import json
import re

import pytest

from cnnb.utilization import utilization, utilization_line

UTILIZATION = re.compile(r"^model FLOP utilization: [0-9.]+% \([0-9.]+ of 2000\.0 GFLOP/s "
                         r"fp32 peak\)$")


def test_utilization_arithmetic():
    measured = utilization(flops=3_000, images_per_sec=2.0, peak=12_000.0)
    assert measured == {"flops_per_image": 3_000, "achieved_flops": 6_000.0, "mfu": 0.5,
                        "peak_flops": 12_000.0}
    assert utilization_line(measured, "bf16") == \
        "model FLOP utilization: 50.0% (0.0 of 0.0 GFLOP/s bf16 peak)"
    assert utilization(None, 2.0, 1.0)["mfu"] is None       # a model without a shape trace


@pytest.mark.slow
def test_records_carry_flops_and_utilization(cnnb_batch, listed_models, tmp_path, make_env):
    common = ["run", "--model=trivial", "--batch_size=4", "--num_batches=2", "--device=cpu",
              "--num_warmup_batches=1"]
    train, infer, peak, cached = cnnb_batch([
        common + ["--peak_flops=2e12", f"--result_json={tmp_path / 'train.json'}"],
        common + ["--forward_only", "--peak_flops=2e12", f"--result_json={tmp_path / 'f.json'}"],
        ["peak", "--precision=fp32", "--json"],
        common + [f"--result_json={tmp_path / 'cached.json'}"]],
        env=make_env(CNNB_CACHE_DIR=str(tmp_path / "cache")))
    forward = listed_models[("imagenet", "trivial")]["flops"]
    for result, name, factor in ((train, "train.json", 3), (infer, "f.json", 1)):
        assert result.code == 0, result
        lines = result.out_lines
        total = next(i for i, line in enumerate(lines) if line.startswith("total images/sec"))
        assert lines[total + 1] == "-" * 64 == lines[-1], result     # stdout: the predecessor's
        assert UTILIZATION.match(result.err_lines[-1]), result
        m = json.loads((tmp_path / name).read_text())["measurements"]
        assert m["flops_per_image"] == factor * forward
        assert m["achieved_flops"] == pytest.approx(m["flops_per_image"] * m["images_per_sec"])
        assert m["mfu"] == pytest.approx(m["achieved_flops"] / 2e12)
    assert peak.code == 0, peak
    measured = json.loads(peak.out)
    assert measured["peak_flops"]["fp32"] > 0
    cache = json.loads((tmp_path / "cache" / "peak.json").read_text())
    assert cache[measured["machine"]]["fp32"] == measured["peak_flops"]["fp32"]
    m = json.loads((tmp_path / "cached.json").read_text())["measurements"]
    assert m["peak_flops"] == measured["peak_flops"]["fp32"], cached   # the run used the cache


GRAPH_FLOPS = r"""
import json
import tensorflow as tf
from cnnb.engine.graph_flops import graph_flops

def count(function, spec):
    graph = tf.function(function).get_concrete_function(spec).graph
    return graph_flops(graph.get_operations())

S = tf.TensorSpec
print(json.dumps({
    "conv": count(lambda x: tf.nn.conv2d(x, tf.ones([3, 3, 4, 6]), 1, "SAME"), S([2, 5, 5, 4])),
    "depthwise": count(lambda x: tf.nn.depthwise_conv2d(x, tf.ones([3, 3, 4, 2]), [1, 1, 1, 1],
                                                        "VALID"), S([1, 5, 5, 4])),
    "matmul_t": count(lambda a: tf.matmul(a, tf.ones([3, 7]), transpose_a=True), S([3, 5])),
    "batch": count(lambda a: tf.matmul(a, tf.ones([2, 4, 6])), S([2, 3, 4])),
    "unknown": count(lambda x: tf.nn.conv2d(x, tf.ones([1, 1, 4, 6]), 1, "SAME"),
                     S([None, 5, 5, 4])),
    "none": count(lambda x: x * 2.0, S([3])),
}))
"""


def test_graph_flops_follow_the_builders_convention(python_child):
    """2 per multiply-add of the op's outputs; unknown shapes give None, not a guess."""
    counted = json.loads(python_child(GRAPH_FLOPS).stdout.splitlines()[-1])
    assert counted == {"conv": 2 * (2 * 5 * 5 * 6) * (3 * 3 * 4),
                       "depthwise": 2 * (3 * 3 * 8) * (3 * 3),
                       "matmul_t": 2 * (5 * 7) * 3, "batch": 2 * (2 * 3 * 6) * 4,
                       "unknown": None, "none": None}
