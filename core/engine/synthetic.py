"""Synthetic input kept on each device, as the predecessor's ``gpu_cached_inputs``.

Images are truncated normal (mean 127, stddev 60), not normalized; labels are
uniform in [0, num_classes - 1), so the last class never appears. They live in
non-trainable variables on the device, so no host-to-device copy happens per
step.
"""

from __future__ import annotations

import tensorflow as tf


class SyntheticInputs:
    """``first``/``total``: in a cluster this worker's devices are replicas
    ``first ..`` of ``total``; the batches of all replicas are drawn in order
    and the others' dropped, so each replica gets the batch the same device
    of a one-process run with as many devices would (same seed)."""

    def __init__(self, devices, batch_size: int, image_size: int, num_classes: int,
                 data_format: str, first: int = 0, total: int | None = None):
        if data_format == "NHWC":
            shape = [batch_size, image_size, image_size, 3]
        else:
            shape = [batch_size, 3, image_size, image_size]
        self.images, self.labels = [], []
        for replica in range(len(devices) if total is None else total):
            local = replica - first
            ours = 0 <= local < len(devices)
            with tf.device(devices[local] if ours else devices[0]):
                images = tf.random.truncated_normal(shape, mean=127, stddev=60)
                labels = tf.random.uniform([batch_size], 0, max(num_classes - 1, 1), tf.int32)
                if ours:
                    self.images.append(tf.Variable(images, trainable=False,
                                                   name="gpu_cached_inputs"))
                    self.labels.append(tf.Variable(labels, trainable=False,
                                                   name="gpu_cached_labels"))

    def __call__(self, index: int):
        return self.images[index].read_value(), self.labels[index].read_value()
