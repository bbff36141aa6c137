"""CIFAR-10 python pickles, loaded into memory, with the CIFAR preprocessing."""

from __future__ import annotations

import pickle

import numpy as np
import tensorflow as tf

from cnnb.dataset import DataError, Preprocessor
from cnnb.plugins.datasets import image_ops, pipeline

IMAGE_BYTES = 3 * 32 * 32
PAD_SIZE = 40


def load_batch(path: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, 32, 32, 3], labels int32 [N]) of one pickle; the rows of
    ``data`` are channel-major (CHW). Any problem is a DataError naming the file."""
    try:
        with open(path, "rb") as source:
            batch = pickle.load(source, encoding="bytes")
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError,
            ImportError, IndexError, KeyError, MemoryError) as error:
        raise DataError(f"{path}: not a readable CIFAR-10 pickle ({type(error).__name__}: "
                        f"{_first_line(error)}); is the file truncated?") from None
    data, labels = _field(batch, "data", path), _field(batch, "labels", path)
    data, labels = np.asarray(data), np.asarray(labels)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != IMAGE_BYTES \
            or labels.shape != (data.shape[0],):
        raise DataError(f"{path}: expected 'data' uint8 [N, {IMAGE_BYTES}] and N 'labels', got "
                        f"{data.dtype} {list(data.shape)} and {list(labels.shape)}.")
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if bad.size:
        raise DataError(f"{path}: label {labels[bad[0]]} of row {bad[0]} is out of range "
                        f"[0, {num_classes}) of dataset cifar10.")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, labels.astype(np.int32)


def _field(batch, name: str, path: str):
    if not isinstance(batch, dict):
        raise DataError(f"{path}: a CIFAR-10 pickle holds a dict, not {type(batch).__name__}.")
    for key in (name.encode(), name):
        if key in batch:
            return batch[key]
    raise DataError(f"{path}: the CIFAR-10 pickle has no '{name}' entry.")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "no details"


class Cifar10Preprocessor(Preprocessor):
    """Pad to 40x40, random 32x32 crop and flip when training; scale to [-1, 1]."""

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
