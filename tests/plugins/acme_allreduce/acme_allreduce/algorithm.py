"""The ACME all-reduce: each tensor is summed on one device, then copied back.

A deliberately small example of the contract in :mod:`cnnb.allreduce`: the
sum of tensor t is computed once, on device t % n (spreading the work), and
every device receives a copy, so all copies are identical.
"""

import tensorflow as tf

from cnnb.allreduce import AllReduceAlgorithm
from cnnb.errors import ConfigError


class AcmeAllReduce(AllReduceAlgorithm):
    """ACME example: each tensor summed on one device, then copied back."""

    def __init__(self, context, shards=1):
        super().__init__(context, shards)
        if shards != 1:
            raise ConfigError("acme does not shard tensors; write 'acme' without '#'.")

    def reduce(self, device_tensors):
        num_devices = len(self.devices)
        results = [[] for _ in range(num_devices)]
        for t, values in enumerate(zip(*device_tensors)):
            with tf.device(self.devices[t % num_devices]):
                total = tf.add_n(list(values))
            for d, device in enumerate(self.devices):
                with tf.device(device):
                    results[d].append(tf.identity(total))
        return results
