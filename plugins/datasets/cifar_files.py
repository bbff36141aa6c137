"""Reading CIFAR-10 python pickles. TensorFlow-free, so planning can count
their images before TensorFlow starts; the preprocessor reads them again."""

from __future__ import annotations

import pickle

import numpy as np

from cnnb.dataset import DataError

IMAGE_BYTES = 3 * 32 * 32


def load_batch(path: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, 32, 32, 3], labels int32 [N]) of one pickle; the rows of
    ``data`` are channel-major (CHW). Any problem is a DataError naming the file."""
    try:
        with open(path, "rb") as source:
            batch = pickle.load(source, encoding="bytes")
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error}); check the file "
                        "and its permissions.") from None
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError,
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
