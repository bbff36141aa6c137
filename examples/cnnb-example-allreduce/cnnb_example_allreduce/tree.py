"""A binary-tree all-reduce: log2(n) rounds of pairwise sums, then a broadcast.

Round r adds the partial sum of device i + 2**r into device i (for i a
multiple of 2**(r+1)), so after ceil(log2 n) rounds device 0 holds the total;
every device then gets a copy of it. Any device count works (an odd one out
waits a round). The contract (cnnb.allreduce.AllReduceAlgorithm): return, on
every device, the sum over devices of each tensor, same shape and dtype.
"""

import tensorflow as tf

from cnnb.allreduce import AllReduceAlgorithm
from cnnb.errors import ConfigError


class TreeAllReduce(AllReduceAlgorithm):
    """Pairwise sums up a binary tree, then copies of the total back down."""

    def __init__(self, context, shards=1):
        super().__init__(context, shards)
        if shards != 1:
            raise ConfigError("tree does not shard tensors; write 'tree' without '#'.")

    def reduce(self, device_tensors):
        return [list(values) for values in zip(*(
            self._reduce_one(list(values)) for values in zip(*device_tensors)))]

    def _reduce_one(self, values):
        """All copies of the sum of ``values`` (one tensor per device)."""
        partial, step = list(values), 1
        while step < len(partial):
            for index in range(0, len(partial) - step, 2 * step):
                with tf.device(self.devices[index]):
                    partial[index] = partial[index] + partial[index + step]
            step *= 2
        copies = []
        for device in self.devices:
            with tf.device(device):
                copies.append(tf.identity(partial[0]))
        return copies
