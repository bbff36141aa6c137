"""Forward FLOPs read off a traced graph, for models without a shape trace.

Builder models count their FLOPs from :mod:`cnnb.shapes` without TensorFlow.
A Keras model has no such trace, so its forward pass is traced once at batch
1 and the FLOPs are read off the graph's ops with the same convention: 2 per
multiply-add of convolutions (``Conv2D``, ``DepthwiseConv2dNative``) and dense
layers (``MatMul``, ``BatchMatMul*``); normalization, activations and other
element-wise ops are not counted. Tracing costs a second or two, after the
timed steps.
"""

from __future__ import annotations

import math

import tensorflow as tf


def traced_forward_flops(network, image_size: int, data_format: str) -> int | None:
    """Forward FLOPs of one image through ``network`` (None: shapes unknown)."""
    shape = [1, image_size, image_size, 3] if data_format == "NHWC" else [1, 3, image_size,
                                                                          image_size]
    forward = tf.function(lambda images: network(images, training=False)[0])
    graph = forward.get_concrete_function(tf.TensorSpec(shape, tf.float32)).graph
    return graph_flops(graph.get_operations())


def graph_flops(operations) -> int | None:
    """Summed FLOPs of the counted op types; None if none was found or a shape
    is not fully known."""
    total, counted = 0, False
    for op in operations:
        counter = _COUNTERS.get(op.type)
        if counter is None:
            continue
        flops = counter(op)
        if flops is None:
            return None
        total, counted = total + flops, True
    return total if counted else None


def _elements(tensor) -> int | None:
    dims = tensor.shape.as_list() if tensor.shape.rank is not None else None
    if dims is None or any(d is None for d in dims):
        return None
    return math.prod(dims)


def _per_output(op, macs_per_output: int | None) -> int | None:
    outputs = _elements(op.outputs[0])
    if outputs is None or macs_per_output is None:
        return None
    return 2 * outputs * macs_per_output


def _conv2d(op):
    kh, kw, cin, _ = op.inputs[1].shape.as_list()
    return _per_output(op, kh * kw * cin if cin else None)


def _depthwise(op):
    kh, kw = op.inputs[1].shape.as_list()[:2]
    return _per_output(op, kh * kw)


def _matmul(op):
    a = op.inputs[0].shape.as_list()
    transposed = op.get_attr("transpose_a")
    return _per_output(op, a[0] if transposed else a[1])


def _batch_matmul(op):
    a = op.inputs[0].shape.as_list()
    return _per_output(op, a[-2] if op.get_attr("adj_x") else a[-1])


_COUNTERS = {"Conv2D": _conv2d, "DepthwiseConv2dNative": _depthwise, "MatMul": _matmul,
             "BatchMatMul": _batch_matmul, "BatchMatMulV2": _batch_matmul,
             "BatchMatMulV3": _batch_matmul}
