"""Fake data in the real formats (``cnnb data fake``), learnable on purpose.

Every image is one colour that depends on its class, plus pixel noise, so a
small model separates the classes in a few hundred steps; the files are the
real formats (ImageNet TFRecord shards, CIFAR-10 pickles, an image folder),
so every reader and preprocessor runs as on real data. Each file is written
under a temporary name and renamed, so a file that exists is complete.
"""

from __future__ import annotations

import colorsys
import dataclasses
import math
import os
import pickle

import numpy as np

from cnnb.engine.tfsetup import import_tensorflow
from cnnb.errors import ConfigError

NOISE_STDDEV = 8.0


@dataclasses.dataclass(frozen=True)
class FakeDataRequest:
    """What ``cnnb data fake`` asked for."""

    out: str
    num_train: int
    num_validation: int
    num_classes: int = 10
    seed: int = 0
    min_size: int = 48
    max_size: int = 128
    shards: int = 8


def class_colour(label: int, num_classes: int) -> tuple[int, int, int]:
    """An RGB colour per class: hues evenly spread over half as many steps as
    classes, alternately bright and dark, so colour distortions (+-36 degree hue,
    +-12% brightness) keep the classes apart."""
    hues = max(1, math.ceil(num_classes / 2))
    hue = (label // 2) / hues
    value = 0.9 if label % 2 == 0 else 0.45
    return tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(hue, 0.8, value))


def fake_image(rng: np.random.Generator, colour, height: int, width: int) -> np.ndarray:
    """uint8 [height, width, 3]: the class colour plus Gaussian pixel noise."""
    noise = rng.normal(0.0, NOISE_STDDEV, size=(height, width, 3))
    return np.clip(np.asarray(colour, np.float64) + noise, 0, 255).astype(np.uint8)


def _sizes(rng, request: FakeDataRequest) -> tuple[int, int]:
    low, high = request.min_size, max(request.min_size, request.max_size)
    return int(rng.integers(low, high + 1)), int(rng.integers(low, high + 1))


def _replace_atomically(path: str, write) -> None:
    """``write(temporary)`` then rename; the hidden temporary name matches no
    dataset's file pattern."""
    folder, name = os.path.split(path)
    temporary = os.path.join(folder, f".{name}.tmp")
    write(temporary)
    os.replace(temporary, path)


def write_imagenet(request: FakeDataRequest) -> dict:
    """TFRecord shards ``train-00000-of-0000N`` and ``validation-...`` holding the
    predecessor's Example keys; labels are 1-based (0 is ImageNet's background)."""
    if not 1 <= request.num_classes <= 1000:
        raise ConfigError("--num_classes must be between 1 and 1000 for imagenet data.")
    tf = import_tensorflow()
    rng = np.random.default_rng(request.seed)
    os.makedirs(request.out, exist_ok=True)
    files = []
    for subset, count, shards in (("train", request.num_train, request.shards),
                                  ("validation", request.num_validation,
                                   max(1, request.shards // 4))):
        shards = max(1, min(shards, count)) if count else 0
        for shard in range(shards):
            indices = range(shard, count, shards)
            path = os.path.join(request.out, f"{subset}-{shard:05d}-of-{shards:05d}")
            _replace_atomically(path, lambda name: _write_shard(tf, name, indices, subset, rng,
                                                                request))
            files.append(path)
    return {"files": len(files)}


def _write_shard(tf, path: str, indices, subset: str, rng, request: FakeDataRequest) -> None:
    with tf.io.TFRecordWriter(path) as writer:
        for index in indices:
            label = index % request.num_classes
            height, width = _sizes(rng, request)
            image = fake_image(rng, class_colour(label, request.num_classes), height, width)
            jpeg = tf.io.encode_jpeg(image, quality=90).numpy()
            writer.write(_example(tf, jpeg, label + 1, height, width,
                                  f"{subset}_{index:06d}.JPEG").SerializeToString())


def _example(tf, jpeg: bytes, label: int, height: int, width: int, filename: str):
    def ints(*values):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))

    def floats(*values):
        return tf.train.Feature(float_list=tf.train.FloatList(value=list(values)))

    def text(value: str | bytes):
        data = value if isinstance(value, bytes) else value.encode()
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[data]))

    feature = {
        "image/height": ints(height), "image/width": ints(width),
        "image/colorspace": text("RGB"), "image/channels": ints(3),
        "image/class/label": ints(label), "image/class/synset": text(f"n{label:08d}"),
        "image/class/text": text(f"fake class {label}"),
        "image/object/bbox/xmin": floats(0.1), "image/object/bbox/ymin": floats(0.1),
        "image/object/bbox/xmax": floats(0.9), "image/object/bbox/ymax": floats(0.9),
        "image/object/bbox/label": ints(label), "image/format": text("JPEG"),
        "image/filename": text(filename), "image/encoded": text(jpeg),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature))


def write_cifar10(request: FakeDataRequest) -> dict:
    """``data_batch_1..5``, ``test_batch`` and ``batches.meta`` as the CIFAR-10
    python version has them: dicts with bytes keys, ``data`` uint8 rows in
    channel-major (CHW) order."""
    if not 1 <= request.num_classes <= 10:
        raise ConfigError("--num_classes must be between 1 and 10 for cifar10 data.")
    rng = np.random.default_rng(request.seed)
    os.makedirs(request.out, exist_ok=True)
    parts = np.array_split(np.arange(request.num_train), 5)
    batches = [(f"data_batch_{i + 1}", part, f"training batch {i + 1} of 5")
               for i, part in enumerate(parts)]
    batches.append(("test_batch", np.arange(request.num_validation), "testing batch 1 of 1"))
    for name, indices, title in batches:
        labels = [int(i) % request.num_classes for i in indices]
        rows = [fake_image(rng, class_colour(label, request.num_classes), 32, 32)
                .transpose(2, 0, 1).reshape(-1) for label in labels]
        data = np.stack(rows) if rows else np.zeros((0, 3072), np.uint8)
        content = {b"batch_label": title.encode(), b"labels": labels, b"data": data,
                   b"filenames": [f"{name}_{i:05d}.png".encode() for i in indices]}
        _replace_atomically(os.path.join(request.out, name),
                            lambda path, c=content: _pickle(path, c))
    meta = {b"label_names": [f"class_{k}".encode() for k in range(request.num_classes)],
            b"num_cases_per_batch": len(parts[0]), b"num_vis": 3072}
    _replace_atomically(os.path.join(request.out, "batches.meta"), lambda p: _pickle(p, meta))
    return {"files": len(batches) + 1}


def _pickle(path: str, content) -> None:
    with open(path, "wb") as out:
        pickle.dump(content, out, protocol=2)


def write_imagefolder(request: FakeDataRequest) -> dict:
    """``train/class_NNN/`` and ``validation/class_NNN/`` folders of images,
    alternately JPEG and PNG."""
    if request.num_classes < 1:
        raise ConfigError("--num_classes must be at least 1.")
    tf = import_tensorflow()
    rng = np.random.default_rng(request.seed)
    written = 0
    for subset, count in (("train", request.num_train), ("validation", request.num_validation)):
        for label in range(request.num_classes):
            os.makedirs(os.path.join(request.out, subset, f"class_{label:03d}"), exist_ok=True)
        for index in range(count):
            label = index % request.num_classes
            height, width = _sizes(rng, request)
            image = fake_image(rng, class_colour(label, request.num_classes), height, width)
            png = index % 2 == 1
            data = (tf.io.encode_png(image) if png else tf.io.encode_jpeg(image, quality=90))
            path = os.path.join(request.out, subset, f"class_{label:03d}",
                                f"img_{index:06d}.{'png' if png else 'jpg'}")
            _replace_atomically(path, lambda p, d=data.numpy(): _write_bytes(p, d))
            written += 1
    return {"files": written}


def _write_bytes(path: str, data: bytes) -> None:
    with open(path, "wb") as out:
        out.write(data)
