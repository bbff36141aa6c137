"""Synthetic input kept on each device, as the predecessor's ``gpu_cached_inputs``.

Images are truncated normal (mean 127, stddev 60), not normalized; labels are
uniform in [0, num_classes - 1), so the last class never appears. They live in
non-trainable variables on the device, so no host-to-device copy happens per
step.
"""

from __future__ import annotations

import tensorflow as tf


class SyntheticInputs:
    def __init__(self, devices, batch_size: int, image_size: int, num_classes: int,
                 data_format: str):
        if data_format == "NHWC":
            shape = [batch_size, image_size, image_size, 3]
        else:
            shape = [batch_size, 3, image_size, image_size]
        self.images, self.labels = [], []
        for device in devices:
            with tf.device(device):
                self.images.append(tf.Variable(
                    tf.random.truncated_normal(shape, mean=127, stddev=60),
                    trainable=False, name="gpu_cached_inputs"))
                self.labels.append(tf.Variable(
                    tf.random.uniform([batch_size], 0, max(num_classes - 1, 1), tf.int32),
                    trainable=False, name="gpu_cached_labels"))

    def __call__(self, index: int):
        return self.images[index].read_value(), self.labels[index].read_value()
