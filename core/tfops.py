"""The TensorFlow backend of the layer builder.

Variables come from a :class:`VariableStore` created up front from a model's
shape trace, so a ``tf.function`` step never creates variables. Batch norm is
the fused kernel (``FusedBatchNormV3``), the one measured fast on these
machines; its moving statistics are updated in the same op.
"""

from __future__ import annotations

import contextlib
import math

import tensorflow as tf

from cnnb.shapes import VarSpec


def initial_value(spec: VarSpec, dtype=tf.float32):
    """The initializer named in a VarSpec: ('conv', stddev|None), ('normal', stddev),
    ('constant', value)."""
    kind, arg = spec.init
    if kind == "constant":
        return tf.fill(spec.shape, tf.cast(arg, dtype))
    if kind == "normal":
        return tf.random.truncated_normal(spec.shape, stddev=arg, dtype=dtype)
    if kind == "conv":
        if arg is not None:
            return tf.random.truncated_normal(spec.shape, stddev=arg, dtype=dtype)
        kh, kw, cin, cout = spec.shape
        limit = math.sqrt(6.0 / (kh * kw * (cin + cout)))      # Glorot uniform
        return tf.random.uniform(spec.shape, -limit, limit, dtype=dtype)
    raise ValueError(f"unknown initializer {spec.init!r} for {spec.name}")


def is_batch_norm(name: str) -> bool:
    """Batch-norm variables stay float32 whatever the precision (the fused kernel
    takes float32 scale, offset and statistics with float16/bfloat16 inputs)."""
    return "batchnorm" in name


class VariableStore:
    """The model's variables by name, created once on one device, in
    ``dtype`` (float16 with --fp16_vars) except batch norm's."""

    def __init__(self, specs, device: str | None = None, prefix: str = "",
                 dtype: str = "float32"):
        self.specs = {spec.name: spec for spec in specs}
        with tf.device(device) if device else contextlib.nullcontext():
            self.variables = {
                spec.name: tf.Variable(
                    initial_value(spec, tf.float32 if is_batch_norm(spec.name) else dtype),
                    trainable=spec.trainable, name=prefix + spec.name.replace("/", "_"))
                for spec in specs}

    @property
    def trainable(self) -> list:
        return [v for name, v in self.variables.items() if self.specs[name].trainable]

    def decayed(self) -> list:
        """Trainable variables that weight decay applies to (no batch-norm ones)."""
        return [v for name, v in self.variables.items()
                if self.specs[name].trainable and "batchnorm" not in name]


class TFBackend:
    """Builder ops on tensors; ``update_stats`` controls batch-norm statistic updates."""

    def __init__(self, store: VariableStore, update_stats: bool = True,
                 compute_dtype: str = "float32"):
        self.store = store
        self.update_stats = update_stats
        self.compute_dtype = compute_dtype

    def variable(self, name, shape, init, trainable=True):
        """The variable as the layers compute with it: cast to the compute type
        (a no-op in float32), batch norm's left float32."""
        variable = self.store.variables[name]
        if is_batch_norm(name) or variable.dtype == self.compute_dtype:
            return variable
        return tf.cast(variable, self.compute_dtype)

    @staticmethod
    def shape(x):
        return tuple(x.shape.as_list())

    def conv2d(self, x, kernel, strides, padding, data_format):
        return tf.nn.conv2d(x, kernel, strides, padding, data_format=data_format)

    def depthwise_conv2d(self, x, kernel, strides, padding, data_format):
        return tf.nn.depthwise_conv2d(x, kernel, strides, padding, data_format=data_format)

    def separable_conv2d(self, x, depthwise, pointwise, strides, padding, data_format):
        return tf.nn.separable_conv2d(x, depthwise, pointwise, strides, padding,
                                      data_format=data_format)

    def slice(self, x, begin, size):
        return tf.slice(x, begin, size)

    def pool(self, x, kind, ksize, strides, padding, data_format):
        op = tf.nn.max_pool2d if kind == "mpool" else tf.nn.avg_pool2d
        return op(x, ksize, strides, padding, data_format=data_format)

    def pad(self, x, paddings):
        return tf.pad(x, paddings)

    def bias_add(self, x, biases, data_format):
        return tf.nn.bias_add(x, biases, data_format=data_format)

    def activation(self, x, kind):
        return {"relu": tf.nn.relu, "relu6": tf.nn.relu6, "tanh": tf.math.tanh}[kind](x)

    def matmul_bias(self, x, weights, biases):
        return tf.nn.bias_add(tf.matmul(x, weights), biases)

    def reshape(self, x, shape):
        return tf.reshape(x, shape)

    def mean(self, x, axes, keepdims):
        return tf.reduce_mean(x, axes, keepdims=keepdims)

    def concat(self, xs, axis):
        return tf.concat(xs, axis)

    def add(self, a, b):
        return a + b

    def dropout(self, x, keep_prob):
        return tf.nn.dropout(x, rate=1.0 - keep_prob)

    def drop_path(self, x, keep_prob):
        """Dropout of whole examples: one coin per example, broadcast over the rest."""
        noise_shape = tf.concat([tf.shape(x)[:1], tf.ones([tf.rank(x) - 1], tf.int32)], 0)
        return tf.nn.dropout(x, rate=1.0 - keep_prob, noise_shape=noise_shape)

    def lrn(self, x, depth_radius, bias, alpha, beta, data_format):
        if data_format == "NCHW":
            x = tf.transpose(x, [0, 2, 3, 1])
        y = tf.nn.local_response_normalization(x, depth_radius, bias, alpha, beta)
        return tf.transpose(y, [0, 3, 1, 2]) if data_format == "NCHW" else y

    def fused_batch_norm(self, x, gamma, beta, mean, variance, epsilon, decay, training,
                         data_format):
        scale = gamma if gamma is not None else tf.ones_like(beta)
        if not training:
            y, *_ = tf.raw_ops.FusedBatchNormV3(
                x=x, scale=scale, offset=beta, mean=mean, variance=variance, epsilon=epsilon,
                data_format=data_format, is_training=False)
            return y
        y, new_mean, new_variance, *_ = tf.raw_ops.FusedBatchNormV3(
            x=x, scale=scale, offset=beta, mean=mean, variance=variance, epsilon=epsilon,
            exponential_avg_factor=1.0 - decay, data_format=data_format, is_training=True)
        if self.update_stats:
            mean.assign(new_mean)
            variance.assign(new_variance)
        return y
