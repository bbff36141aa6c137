"""``collective``: TensorFlow's collective all-reduce (``CollectiveReduceV2``).

The predecessor used it for its ``collective_all_reduce`` multi-worker mode.
In one process it sums across the towers' devices, as MirroredStrategy does
on CPUs: every device launches one collective op per tensor with the same
group key (one per set of devices, :func:`cnnb.allreduce_spec.collective_group_key`)
and instance key. Each device has an ordering token, a resource that orders
its collectives; without it the ops of one step can wait on each other
forever. ``collective#k`` splits each tensor into k collectives.
"""

from __future__ import annotations

import itertools
import threading

import tensorflow as tf

from cnnb.allreduce import AllReduceAlgorithm
from cnnb.allreduce_spec import collective_group_key
from cnnb.engine.packing import ragged_split_sizes
from cnnb.plugins.allreduce.blocks import per_tensor

_INSTANCE_KEYS = itertools.count(1)
_INSTANCE_LOCK = threading.Lock()


_TOKENS: dict[tuple, list] = {}


def next_instance_key() -> int:
    with _INSTANCE_LOCK:
        return next(_INSTANCE_KEYS)


def ordering_tokens(devices) -> list:
    """One token per device, shared by every collective over these devices (two
    spec ranges using ``collective`` must not order their ops independently)."""
    key = tuple(devices)
    with _INSTANCE_LOCK:
        if key not in _TOKENS:
            tokens = []
            with tf.init_scope():
                for device in devices:
                    with tf.device(device):
                        tokens.append(tf.Variable(0.0, trainable=False,
                                                  name="collective_ordering_token"))
            _TOKENS[key] = tokens
        return _TOKENS[key]


class Collective(AllReduceAlgorithm):
    """TensorFlow collective ops (CollectiveReduceV2) across the towers' devices."""

    #: seconds a collective waits for its peers before failing (0: forever)
    timeout_seconds = 0.0

    def __init__(self, context, shards=1):
        super().__init__(context, shards)
        self.group_key = collective_group_key(self.devices)
        self.tokens = ordering_tokens(self.devices)

    def reduce(self, device_tensors):
        return per_tensor(device_tensors, self._reduce_one)

    def _reduce_one(self, values, _t):
        size = values[0].shape.num_elements()
        if len(values) == 1 or size == 0:       # nothing to add up
            return [_copy(value, device) for value, device in zip(values, self.devices)]
        sizes = [s for s in ragged_split_sizes(size, self.shards) if s > 0]
        keys = [next_instance_key() for _ in sizes]
        outputs = []
        for value, device, token in zip(values, self.devices, self.tokens):
            with tf.device(device):
                flat = tf.reshape(value, [-1])
                pieces = tf.split(flat, sizes) if len(sizes) > 1 else [flat]
                sums = [self._collective(piece, key, token) for piece, key in zip(pieces, keys)]
                total = tf.concat(sums, 0) if len(sums) > 1 else sums[0]
                outputs.append(tf.reshape(total, values[0].shape))
        return outputs

    def _collective(self, piece, instance_key, token):
        return tf.raw_ops.CollectiveReduceV2(
            input=piece, group_size=len(self.devices), group_key=self.group_key,
            instance_key=instance_key, ordering_token=[token.handle], merge_op="Add",
            final_op="Id", timeout_seconds=self.timeout_seconds)


def _copy(value, device):
    with tf.device(device):
        return tf.identity(value)
