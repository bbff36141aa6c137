"""CIFAR-10 python pickles, loaded into memory, with the CIFAR preprocessing."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from cnnb.dataset import DataError, Preprocessor
from cnnb.plugins.datasets import image_ops, pipeline
from cnnb.plugins.datasets.cifar_files import load_batch

__all__ = ["Cifar10Preprocessor", "load_batch"]

PAD_SIZE = 40


class Cifar10Preprocessor(Preprocessor):
    """With --distortions, pad to 40x40, random 32x32 crop and flip when training
    (the predecessor's; without, images are used as they are); scale to [-1, 1]."""

    def make_dataset(self, files, batch_size: int, training: bool):
        loaded = [load_batch(path, self.dataset.num_classes) for path in files.paths]
        images = np.concatenate([images for images, _ in loaded])
        labels = np.concatenate([labels for _, labels in loaded])
        if len(labels) == 0:
            raise DataError(f"the CIFAR-10 {files.subset} pickles in {files.where} hold no images.")
        elements = tf.data.Dataset.from_tensor_slices((images, labels))

        def parse(element, position):
            image, label = element
            return self.preprocess(image, training), label

        # The predecessor kept 40% of an epoch in its shuffle queue.
        return pipeline.batches(elements, parse, batch_size, training, self.options,
                                shuffle_buffer=max(1, int(0.4 * len(labels))))

    def preprocess(self, image, training: bool):
        size = self.image_size
        if training and self.options.distortions:
            image = tf.image.resize_with_crop_or_pad(image, PAD_SIZE, PAD_SIZE)
            image = tf.image.random_crop(image, [size, size, 3])
            image = tf.image.random_flip_left_right(image)
        elif size != 32:
            image = tf.image.resize_with_crop_or_pad(image, size, size)
        return image_ops.normalize(tf.cast(image, tf.float32), self.options.ml_perf)
