"""The layer builder models are written with.

:class:`ConvNetBuilder` keeps the predecessor's ConvNetBuilder vocabulary
(``conv``, ``mpool``, ``apool``, ``affine``, ``batch_norm``, ``dropout``,
``lrn``, ``reshape``, ``spatial_mean``, ``concat``, ``inception_module``), adds
what MobileNet and NASNet need (``depthwise_conv``, ``separable_conv``,
``drop_path``, ``zero_pad``, ``crop``), and keeps its bookkeeping of
``top_layer``/``top_size``, so model code reads like the predecessor's. It never calls TensorFlow itself: every operation goes to a
*backend*. :class:`cnnb.shapes.ShapeBackend` runs a model on shapes only, in
pure Python, to count parameters and FLOPs and to list the variables;
:class:`cnnb.tfops.TFBackend` runs it on tensors. One model definition, two
exact interpretations, so ``cnnb models`` knows parameter counts without
importing TensorFlow.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

ACTIVATIONS = ("relu", "relu6", "tanh", "linear", None)


class ConvNetBuilder:
    """Stacks layers on ``top_layer``; variables get predecessor-style names."""

    def __init__(self, backend, images: Any, channels: int, training: bool,
                 data_format: str = "NHWC"):
        if data_format not in ("NHWC", "NCHW"):
            raise ValueError(f"data_format must be NHWC or NCHW, got {data_format!r}")
        self.backend = backend
        self.top_layer = images
        self.top_size = channels
        self.training = training
        self.data_format = data_format
        self.channel_axis = 3 if data_format == "NHWC" else 1
        self.counts: dict[str, int] = defaultdict(int)
        self.use_batch_norm = False
        self.batch_norm_config: dict = {"decay": 0.999, "epsilon": 0.001, "scale": False}
        self.aux_top_layer = None       # set by models with an auxiliary head
        self.aux_top_size = 0
        self.aux_logits = None

    # -- helpers ---------------------------------------------------------------------------
    def _name(self, prefix: str) -> str:
        name = f"{prefix}{self.counts[prefix]}"
        self.counts[prefix] += 1
        return name

    def _input(self, input_layer, num_channels_in):
        if input_layer is None:
            return self.top_layer, self.top_size
        return input_layer, num_channels_in if num_channels_in is not None else self.top_size

    def _set_top(self, layer, size):
        self.top_layer, self.top_size = layer, size
        return layer

    def _hw(self, values):
        """[1, h, w, 1] in the builder's layout."""
        h, w = values
        return [1, h, w, 1] if self.data_format == "NHWC" else [1, 1, h, w]

    def activate(self, x, activation):
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; use one of {ACTIVATIONS}")
        if activation in ("linear", None):
            return x
        return self.backend.activation(x, activation)

    # -- layers ----------------------------------------------------------------------------
    def conv(self, num_out_channels, k_height, k_width, d_height=1, d_width=1, mode="SAME",
             input_layer=None, num_channels_in=None, use_batch_norm=None, stddev=None,
             activation="relu", bias=0.0):
        """2-D convolution, then bias or batch norm, then the activation.

        ``mode`` is SAME, VALID or SAME_RESNET (explicit symmetric padding when
        strided, as the reference ResNet does)."""
        x, cin = self._input(input_layer, num_channels_in)
        name = self._name("conv")
        kernel = self.backend.variable(f"{name}/kernel", [k_height, k_width, cin, num_out_channels],
                                       ("conv", stddev))
        padding = mode
        if mode == "SAME_RESNET":
            padding = "SAME"
            if d_height > 1 or d_width > 1:
                x = self.backend.pad(x, self._resnet_padding(k_height, k_width))
                padding = "VALID"
        out = self.backend.conv2d(x, kernel, self._hw((d_height, d_width)), padding,
                                  self.data_format)
        return self._finish_conv(out, num_out_channels, name, use_batch_norm, bias, activation)

    def _finish_conv(self, out, channels, name, use_batch_norm, bias, activation):
        """Batch norm (the builder's default unless told) or bias, then the activation."""
        if use_batch_norm is None:
            use_batch_norm = self.use_batch_norm
        if use_batch_norm:
            self._set_top(out, channels)
            out = self.batch_norm(**self.batch_norm_config)
        elif bias is not None:
            biases = self.backend.variable(f"{name}/biases", [channels], ("constant", bias))
            out = self.backend.bias_add(out, biases, self.data_format)
        return self._set_top(self.activate(out, activation), channels)

    def depthwise_conv(self, k_height, k_width, d_height=1, d_width=1, mode="SAME",
                       depth_multiplier=1, input_layer=None, num_channels_in=None,
                       use_batch_norm=None, stddev=None, activation="relu", bias=0.0):
        """Depthwise 2-D convolution: ``depth_multiplier`` filters per input channel
        (MobileNet's 3x3 layers)."""
        x, cin = self._input(input_layer, num_channels_in)
        name = self._name("depthwise")
        kernel = self.backend.variable(f"{name}/depthwise_kernel",
                                       [k_height, k_width, cin, depth_multiplier],
                                       ("conv", stddev))
        out = self.backend.depthwise_conv2d(x, kernel, self._hw((d_height, d_width)), mode,
                                            self.data_format)
        return self._finish_conv(out, cin * depth_multiplier, name, use_batch_norm, bias,
                                 activation)

    def separable_conv(self, num_out_channels, k_height, k_width, d_height=1, d_width=1,
                       mode="SAME", input_layer=None, num_channels_in=None,
                       use_batch_norm=None, stddev=None, activation="relu", bias=0.0):
        """Depthwise (multiplier 1) then 1x1 pointwise convolution, as one layer
        (NASNet's separable convolutions)."""
        x, cin = self._input(input_layer, num_channels_in)
        name = self._name("separable")
        depthwise = self.backend.variable(f"{name}/depthwise_kernel",
                                          [k_height, k_width, cin, 1], ("conv", stddev))
        pointwise = self.backend.variable(f"{name}/pointwise_kernel",
                                          [1, 1, cin, num_out_channels], ("conv", stddev))
        out = self.backend.separable_conv2d(x, depthwise, pointwise,
                                            self._hw((d_height, d_width)), mode,
                                            self.data_format)
        return self._finish_conv(out, num_out_channels, name, use_batch_norm, bias, activation)

    def _resnet_padding(self, k_height, k_width):
        pads = [[(k - 1) // 2, k - 1 - (k - 1) // 2] for k in (k_height, k_width)]
        if self.data_format == "NHWC":
            return [[0, 0], pads[0], pads[1], [0, 0]]
        return [[0, 0], [0, 0], pads[0], pads[1]]

    def _pool(self, kind, k_height, k_width, d_height, d_width, mode, input_layer,
              num_channels_in):
        x, cin = self._input(input_layer, num_channels_in)
        self._name(kind)
        out = self.backend.pool(x, kind, self._hw((k_height, k_width)),
                                self._hw((d_height, d_width)), mode, self.data_format)
        return self._set_top(out, cin)

    def mpool(self, k_height, k_width, d_height=2, d_width=2, mode="VALID", input_layer=None,
              num_channels_in=None):
        """Max pooling."""
        return self._pool("mpool", k_height, k_width, d_height, d_width, mode, input_layer,
                          num_channels_in)

    def apool(self, k_height, k_width, d_height=2, d_width=2, mode="VALID", input_layer=None,
              num_channels_in=None):
        """Average pooling."""
        return self._pool("apool", k_height, k_width, d_height, d_width, mode, input_layer,
                          num_channels_in)

    def reshape(self, shape, input_layer=None):
        """Reshape; the last dimension becomes ``top_size``."""
        x = self.top_layer if input_layer is None else input_layer
        return self._set_top(self.backend.reshape(x, shape), shape[-1])

    def flatten(self, input_layer=None):
        """Reshape to [batch, everything else] (independent of the data format)."""
        x = self.top_layer if input_layer is None else input_layer
        size = math.prod(self.backend.shape(x)[1:])
        return self.reshape([-1, size], input_layer=x)

    def affine(self, num_out_channels, input_layer=None, num_channels_in=None, bias=0.0,
               stddev=None, activation="relu"):
        """Fully connected layer (weights, biases, activation)."""
        x, cin = self._input(input_layer, num_channels_in)
        name = self._name("affine")
        if stddev is None:
            stddev = math.sqrt((2.0 if activation == "relu" else 1.0) / cin)
        weights = self.backend.variable(f"{name}/weights", [cin, num_out_channels],
                                        ("normal", stddev))
        biases = self.backend.variable(f"{name}/biases", [num_out_channels], ("constant", bias))
        out = self.backend.matmul_bias(x, weights, biases)
        return self._set_top(self.activate(out, activation), num_out_channels)

    def batch_norm(self, input_layer=None, decay=0.999, scale=False, epsilon=0.001):
        """Fused batch norm: beta (and gamma with ``scale``) train; the moving
        mean and variance are updated with ``decay`` in training."""
        x, channels = self._input(input_layer, None)
        name = self._name("batchnorm")
        beta = self.backend.variable(f"{name}/beta", [channels], ("constant", 0.0))
        gamma = (self.backend.variable(f"{name}/gamma", [channels], ("constant", 1.0))
                 if scale else None)
        mean = self.backend.variable(f"{name}/moving_mean", [channels], ("constant", 0.0),
                                     trainable=False)
        variance = self.backend.variable(f"{name}/moving_variance", [channels],
                                         ("constant", 1.0), trainable=False)
        out = self.backend.fused_batch_norm(x, gamma, beta, mean, variance, epsilon, decay,
                                            self.training, self.data_format)
        return self._set_top(out, channels)

    def dropout(self, keep_prob=0.5, input_layer=None):
        """Dropout in training; identity otherwise."""
        x = self.top_layer if input_layer is None else input_layer
        self._name("dropout")
        if not self.training:
            return self._set_top(x, self.top_size)
        return self._set_top(self.backend.dropout(x, keep_prob), self.top_size)

    def drop_path(self, keep_prob, input_layer=None):
        """In training, zero whole examples with probability 1 - ``keep_prob`` and
        scale the rest by 1 / ``keep_prob`` (NASNet's regularizer); identity otherwise."""
        x = self.top_layer if input_layer is None else input_layer
        if not self.training or keep_prob >= 1.0:
            return x
        return self.backend.drop_path(x, keep_prob)

    def zero_pad(self, height=(0, 0), width=(0, 0), channels=(0, 0), input_layer=None):
        """Pad with zeros, (before, after) per dimension; returns the layer and leaves
        ``top_layer`` alone (shortcut paths use it)."""
        x = self.top_layer if input_layer is None else input_layer
        if self.data_format == "NHWC":
            paddings = [[0, 0], list(height), list(width), list(channels)]
        else:
            paddings = [[0, 0], list(channels), list(height), list(width)]
        return self.backend.pad(x, paddings)

    def crop(self, top=0, left=0, input_layer=None):
        """Drop the first ``top`` rows and ``left`` columns; returns the layer."""
        x = self.top_layer if input_layer is None else input_layer
        if self.data_format == "NHWC":
            begin = [0, top, left, 0]
        else:
            begin = [0, 0, top, left]
        return self.backend.slice(x, begin, [-1, -1, -1, -1])

    def lrn(self, depth_radius, bias, alpha, beta):
        """Local response normalization (channel-last op; transposed for NCHW)."""
        self._name("lrn")
        out = self.backend.lrn(self.top_layer, depth_radius, bias, alpha, beta, self.data_format)
        return self._set_top(out, self.top_size)

    def spatial_mean(self, keep_dims=False):
        """Mean over height and width."""
        axes = [1, 2] if self.data_format == "NHWC" else [2, 3]
        self._name("spatial_mean")
        return self._set_top(self.backend.mean(self.top_layer, axes, keep_dims), self.top_size)

    def relu(self):
        return self._set_top(self.backend.activation(self.top_layer, "relu"), self.top_size)

    def add(self, a, b):
        """Element-wise sum (residual connections)."""
        return self.backend.add(a, b)

    def concat(self, layers, sizes):
        """Concatenate layers along channels; ``sizes`` are their channel counts."""
        out = self.backend.concat(layers, self.channel_axis)
        return self._set_top(out, sum(sizes))

    def inception_module(self, name, cols, input_layer=None, in_size=None):
        """Parallel columns of layers on one input, concatenated along channels.

        Each column is a list of tuples: ``('conv', n, kh, kw[, dh, dw, mode])``,
        ``('mpool'|'apool', kh, kw, dh, dw, mode)``, or ``('share',)`` to reuse
        the layer at the same depth of the previous column."""
        x, cin = self._input(input_layer, in_size)
        self.counts[name] += 1
        columns: list[list[tuple]] = []
        for c, column in enumerate(cols):
            self._set_top(x, cin)
            built = []
            for depth, (kind, *args) in enumerate(column):
                if kind == "share":
                    self._set_top(*columns[c - 1][depth])
                elif kind in ("conv", "mpool", "apool"):
                    getattr(self, kind)(*args)
                else:
                    raise ValueError(f"inception_module {name}: unknown layer kind {kind!r}")
                built.append((self.top_layer, self.top_size))
            columns.append(built)
        return self.concat([col[-1][0] for col in columns], [col[-1][1] for col in columns])
