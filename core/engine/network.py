"""A builder model bound to TensorFlow variables on one device, and its losses."""

from __future__ import annotations

import tensorflow as tf

from cnnb.builder import ConvNetBuilder
from cnnb.tfops import TFBackend, VariableStore


class Network:
    """Variables created up front (from the shape trace) on ``device``; calling
    it runs the model's layers on a batch of images."""

    def __init__(self, model, num_classes: int, image_size: int, data_format: str,
                 device: str, name_prefix: str = "", precision=None):
        self.model, self.num_classes = model, num_classes
        self.data_format, self.device = data_format, device
        self.compute_dtype = precision.compute_dtype if precision else "float32"
        self.trace = model.trace(num_classes, data_format=data_format, image_size=image_size)
        self.store = VariableStore(self.trace.variables, device, name_prefix,
                                   precision.variable_dtype if precision else "float32")

    @property
    def trainable_variables(self) -> list:
        return self.store.trainable

    def __call__(self, images, training: bool, update_stats: bool = True):
        """(logits, auxiliary logits or None), both float32 whatever the compute type."""
        images = tf.cast(images, self.compute_dtype)
        cnn = ConvNetBuilder(TFBackend(self.store, update_stats, self.compute_dtype), images, 3,
                             training, self.data_format)
        logits = self.model.build_network(cnn, self.num_classes)
        aux = cnn.aux_logits
        return tf.cast(logits, tf.float32), None if aux is None else tf.cast(aux, tf.float32)


def make_network(model, num_classes: int, image_size: int, data_format: str, device: str,
                 name_prefix: str = "", precision=None):
    """The network class that runs ``model``: Network for builder models,
    KerasNetwork (imported only then) for Keras ones. ``precision``: a
    :class:`cnnb.settings.PrecisionSettings` (None: float32)."""
    if getattr(model, "is_keras", False):
        from cnnb.engine.keras_network import KerasNetwork
        from cnnb.engine.precision import keras_dtype_policy
        with keras_dtype_policy(precision):
            return KerasNetwork(model, num_classes, image_size, data_format, device, name_prefix)
    return Network(model, num_classes, image_size, data_format, device, name_prefix, precision)


def cross_entropy(logits, labels):
    return tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def losses(network: Network, logits, aux_logits, labels, settings):
    """(base loss, total loss): softmax cross-entropy (+0.4 x the auxiliary head's),
    or the model's own ``loss_function(logits, labels)`` when it defines one,
    plus weight decay x L2 of every trainable variable but batch norm's
    (``settings``: :class:`cnnb.settings.LossSettings`)."""
    own_loss = getattr(network.model, "loss_function", None)
    base = own_loss(logits, labels) if own_loss else cross_entropy(logits, labels)
    if aux_logits is not None:
        base += network.model.aux_loss_weight * cross_entropy(aux_logits, labels)
    if not settings.weight_decay:
        return base, base
    decayed = network.store.decayed()
    decayed = [tf.cast(v, tf.float32) for v in decayed]      # float16 variables (--fp16_vars)
    if settings.single_l2_loss_op:
        l2 = tf.nn.l2_loss(tf.concat([tf.reshape(v, [-1]) for v in decayed], 0))
    else:
        l2 = tf.add_n([tf.nn.l2_loss(v) for v in decayed])
    return base, base + settings.weight_decay * l2


def top_k_accuracy(logits, labels):
    """(top-1, top-5) fractions of the batch."""
    top_1, top_5, examples = top_k_hits(logits, labels)
    return top_1 / examples, top_5 / examples


def top_k_hits(logits, labels):
    """(top-1 hits, top-5 hits, examples) of one batch, as float32 counts, so
    that towers' results add up to the global batch's accuracy."""
    def hits(k):
        found = tf.math.in_top_k(targets=labels, predictions=logits, k=k)
        return tf.reduce_sum(tf.cast(found, tf.float32))
    return hits(1), hits(5), tf.cast(tf.shape(labels)[0], tf.float32)
