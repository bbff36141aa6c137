"""A pure-Python backend for the layer builder: shapes, parameters, FLOPs.

Running a model's ``add_inference`` on :class:`ShapeBackend` computes every
layer's output shape without TensorFlow, lists the variables the model will
create (so the TF backend can make them up front), and counts trainable
parameters and forward FLOPs (2 per multiply-add of convolutions, depthwise
and separable convolutions, and dense layers; the papers' "multiply-adds" x2.
Pooling, normalization and element-wise ops are not counted).
"""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class VarSpec:
    """A variable the model needs: name, shape, initializer spec, trainability."""

    name: str
    shape: tuple
    init: tuple
    trainable: bool = True

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclasses.dataclass(frozen=True)
class Shape:
    """A symbolic tensor: only its dimensions."""

    dims: tuple

    def __post_init__(self):
        if any(d is not None and d <= 0 for d in self.dims):
            raise ValueError(f"a layer produced an empty shape {self.dims}; "
                             "the input image is too small for this model")


def _out_size(size: int, window: int, stride: int, padding: str) -> int:
    if padding == "SAME":
        return -(-size // stride)
    if padding == "VALID":
        return -(-(size - window + 1) // stride)
    raise ValueError(f"padding must be SAME or VALID, got {padding!r}")


class ShapeBackend:
    """Interprets builder calls on :class:`Shape` objects."""

    def __init__(self):
        self.variables: list[VarSpec] = []
        self._names: set[str] = set()
        self.flops = 0

    # variables -----------------------------------------------------------------------
    def variable(self, name, shape, init, trainable=True):
        spec = VarSpec(name, tuple(shape), tuple(init), trainable)
        if name in self._names:
            raise ValueError(f"two variables named {name!r}")
        self._names.add(name)
        self.variables.append(spec)
        return spec

    @property
    def trainable_params(self) -> int:
        return sum(v.size for v in self.variables if v.trainable)

    # ops -------------------------------------------------------------------------------
    @staticmethod
    def shape(x):
        return x.dims

    def _windowed(self, x, kernel, strides, padding, data_format, out_channels, macs_per_output):
        """Output shape of a convolution-like op; counts 2 FLOPs per multiply-add."""
        kh, kw = kernel.shape[:2]
        n, h, w = _spatial(x.dims, data_format)
        sh, sw = _spatial(strides, data_format)[1:]
        oh, ow = _out_size(h, kh, sh, padding), _out_size(w, kw, sw, padding)
        self.flops += 2 * macs_per_output * out_channels * oh * ow * (n or 1)
        return Shape(_layout(n, oh, ow, out_channels, data_format))

    def conv2d(self, x, kernel, strides, padding, data_format):
        kh, kw, cin, cout = kernel.shape
        return self._windowed(x, kernel, strides, padding, data_format, cout, kh * kw * cin)

    def depthwise_conv2d(self, x, kernel, strides, padding, data_format):
        """Kernel [kh, kw, cin, multiplier]: each output channel sees one input channel."""
        kh, kw, cin, multiplier = kernel.shape
        return self._windowed(x, kernel, strides, padding, data_format, cin * multiplier,
                              kh * kw)

    def separable_conv2d(self, x, depthwise, pointwise, strides, padding, data_format):
        return self.conv2d(self.depthwise_conv2d(x, depthwise, strides, padding, data_format),
                           pointwise, [1, 1, 1, 1], "VALID", data_format)

    def slice(self, x, begin, size):
        dims = tuple(d - b if s == -1 else s for d, b, s in zip(x.dims, begin, size))
        return Shape(dims)

    def pool(self, x, kind, ksize, strides, padding, data_format):
        n, h, w = _spatial(x.dims, data_format)
        kh, kw = _spatial(ksize, data_format)[1:]
        sh, sw = _spatial(strides, data_format)[1:]
        c = x.dims[3] if data_format == "NHWC" else x.dims[1]
        return Shape(_layout(n, _out_size(h, kh, sh, padding), _out_size(w, kw, sw, padding), c,
                             data_format))

    def pad(self, x, paddings):
        return Shape(tuple(d + a + b for d, (a, b) in zip(x.dims, paddings)))

    def matmul_bias(self, x, weights, biases):
        n, cin = x.dims
        if cin != weights.shape[0]:
            raise ValueError(f"affine layer expects {weights.shape[0]} inputs, got {cin}")
        self.flops += 2 * cin * weights.shape[1] * (n or 1)
        return Shape((n, weights.shape[1]))

    def reshape(self, x, shape):
        total = math.prod(d for d in x.dims)
        known = math.prod(d for d in shape if d != -1)
        dims = tuple(total // known if d == -1 else d for d in shape)
        if math.prod(dims) != total:
            raise ValueError(f"cannot reshape {x.dims} to {list(shape)}")
        return Shape(dims)

    def mean(self, x, axes, keepdims):
        dims = [1 if i in axes else d for i, d in enumerate(x.dims)]
        return Shape(tuple(dims) if keepdims else tuple(d for i, d in enumerate(dims)
                                                         if i not in axes))

    def concat(self, xs, axis):
        first = list(xs[0].dims)
        first[axis] = sum(x.dims[axis] for x in xs)
        return Shape(tuple(first))

    def add(self, a, b):
        if a.dims != b.dims:
            raise ValueError(f"cannot add shapes {a.dims} and {b.dims}")
        return a

    def bias_add(self, x, biases, data_format):
        return x

    def activation(self, x, kind):
        return x

    def fused_batch_norm(self, x, gamma, beta, mean, variance, epsilon, decay, training,
                         data_format):
        return x

    def dropout(self, x, keep_prob):
        return x

    def drop_path(self, x, keep_prob):
        return x

    def lrn(self, x, depth_radius, bias, alpha, beta, data_format):
        return x


def _spatial(dims, data_format):
    """(n, h, w) of a 4-D shape in either layout."""
    if data_format == "NHWC":
        return dims[0], dims[1], dims[2]
    return dims[0], dims[2], dims[3]


def _layout(n, h, w, c, data_format):
    return (n, h, w, c) if data_format == "NHWC" else (n, c, h, w)
