"""Preprocessing with the predecessor's semantics (predecessor.md §2), on real
TensorFlow in one child process: evaluation and training image invariants,
resize methods (round_robin, crop), MLPerf normalization, the YIQ colour op,
CIFAR pickle layout and the tf.data pipelines of the three file formats."""

from __future__ import annotations

import json

import pytest

CHILD = r"""
import json, os, pickle, sys, tempfile
import numpy as np
import tensorflow as tf
from cnnb.dataset import InputOptions
from cnnb.plugins.datasets import IMAGENET, IMAGEFOLDER, CIFAR10, image_ops, fakedata
from cnnb.plugins.datasets.cifar10 import Cifar10Preprocessor, load_batch
from cnnb.plugins.datasets.imagenet import ImagenetPreprocessor
from cnnb.plugins.datasets.imagefolder import ImageFolderPreprocessor

out, tmp = {}, tempfile.mkdtemp()

# 1. eval_image of a constant-128 image stays 128 (testPreprocessingEval's size pairs).
pairs = [((10, 10), (4, 4)), ((4, 4), (10, 10)), ((1, 100), (100, 1)), ((100, 1), (1, 100)),
         ((1, 100), (1, 100))]
out["eval_constant"] = []
for (h, w), (th, tw) in pairs:
    for method in ("bilinear", "nearest", "area", "bicubic", "crop"):
        image = tf.fill([h, w, 3], tf.constant(128, tf.uint8))
        result = image_ops.eval_image(image, th, tw, method).numpy()
        padded = method == "crop" and (th > h or tw > w)     # crop pads small images with 0
        out["eval_constant"].append([list(result.shape), float(np.abs(result - 128).max()),
                                     padded])

# 2. train path on black and white JPEGs (testPreprocessingTrain).
out["train_bw"] = []
for value in (0, 255):
    jpeg = tf.io.encode_jpeg(np.full((64, 48, 3), value, np.uint8))
    for h, w, method in ((100, 100, "round_robin"), (150, 10, "bilinear"), (10, 150, "nearest")):
        for distortions in (False, True):
            for fused in (False, True):
                opts = InputOptions(resize_method=method, distortions=distortions,
                                    fuse_decode_and_crop=fused)
                crop = image_ops.decode_and_crop_jpeg(jpeg, image_ops.no_boxes(), fused)
                for position in range(4):
                    image = image_ops.augment(crop, h, w, position, opts).numpy()
                    out["train_bw"].append([value, list(image.shape),
                                            float(np.abs(image - value).max())])

# 3. round_robin uses method position % 4; crop crops/pads centrally.
rng = np.random.default_rng(0)
picture = tf.constant(rng.integers(0, 256, (20, 30, 3)), tf.uint8)
def resized(method, position):
    return image_ops.resize(picture, 13, 17, method, position).numpy()
out["round_robin"] = [
    float(np.abs(resized("round_robin", p) - resized(image_ops.ROUND_ROBIN[p % 4], 0)).max())
    for p in range(8)]
crop = image_ops.resize(picture, 10, 10, "crop", 0).numpy()
out["crop_equal"] = bool((crop == picture.numpy()[5:15, 10:20].astype(np.float32)).all())
padded = image_ops.resize(picture, 24, 34, "crop", 0).numpy()
out["pad"] = [bool((padded[2:22, 2:32] == picture.numpy()).all()), float(padded[0].max())]

# 4. normalization.
out["mlperf"] = image_ops.normalize(tf.fill([1, 1, 3], 200.0), True).numpy().ravel().tolist()
out["default_norm"] = image_ops.normalize(tf.constant([0.0, 127.5, 255.0]), False).numpy().tolist()

# 5. YIQ colour op.
colours = tf.constant(rng.uniform(0, 1, (5, 5, 3)), tf.float32)
same = image_ops.adjust_hsv_in_yiq(colours, 0.0, 1.0, 1.0)
turned = image_ops.adjust_hsv_in_yiq(colours, 1.0, 1.0, 1.0)
gray = image_ops.adjust_hsv_in_yiq(colours, 0.7, 0.0, 1.0).numpy()
luma = lambda x: np.tensordot(np.asarray(x), [0.299, 0.587, 0.114], axes=1)
out["yiq"] = [float(np.abs((same - colours).numpy()).max()),
              float(np.abs(luma(turned) - luma(colours)).max()),
              float(np.abs((turned - colours).numpy()).max()),
              float((gray.max(-1) - gray.min(-1)).max())]

# 6. CIFAR rows are CHW; str or bytes keys.
rows = np.array([[(c * 7 + h * 3 + w) % 256
                  for c in range(3) for h in range(32) for w in range(32)]], np.uint8)
for keys in ((b"data", b"labels"), ("data", "labels")):
    path = os.path.join(tmp, "batch")
    with open(path, "wb") as f:
        pickle.dump({keys[0]: rows, keys[1]: [7]}, f)
    images, labels = load_batch(path, 10)
    expected = np.array([[[(c * 7 + h * 3 + w) % 256 for c in range(3)] for w in range(32)]
                         for h in range(32)])
    out.setdefault("cifar_hwc", []).append([bool((images[0] == expected).all()), int(labels[0])])

# 7. whole pipelines on fake data.
def first(dataset, n=1):
    it = iter(dataset)
    return [next(it) for _ in range(n)]

def summary(spec, preprocessor_class, root, size, training, distortions=True):
    spec = spec.bind(root)
    pre = preprocessor_class(spec, size, InputOptions(distortions=distortions))
    files = spec.locate(root, "train" if training else "validation")
    images, labels = first(pre.make_dataset(files, 4, training))[0]
    again = first(pre.make_dataset(files, 4, training))[0][0]
    return {"shape": images.shape.as_list(), "dtype": images.dtype.name,
            "min": float(tf.reduce_min(images)), "max": float(tf.reduce_max(images)),
            "labels": labels.numpy().tolist(), "repeatable": bool((again == images).numpy().all()),
            "means": tf.reduce_mean(images, [1, 2]).numpy().tolist(), "classes": spec.num_classes}

request = dict(num_train=24, num_validation=8, num_classes=4, min_size=40, max_size=60, shards=2)
for name, writer in (("imagenet", fakedata.write_imagenet),
                     ("imagefolder", fakedata.write_imagefolder),
                     ("cifar10", fakedata.write_cifar10)):
    writer(fakedata.FakeDataRequest(out=os.path.join(tmp, name), **request))
specs = {"imagenet": (IMAGENET, ImagenetPreprocessor, 28),
         "imagefolder": (IMAGEFOLDER, ImageFolderPreprocessor, 28),
         "cifar10": (CIFAR10, Cifar10Preprocessor, 32)}
out["pipelines"] = {}
for name, (spec, cls, size) in specs.items():
    root = os.path.join(tmp, name)
    out["pipelines"][name] = {"train": summary(spec, cls, root, size, True),
                              "eval": summary(spec, cls, root, size, False)}
out["class_colours"] = [[c / 127.5 - 1 for c in fakedata.class_colour(k, 4)] for k in range(4)]
print("RESULT " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def results(python_child):
    proc = python_child(CHILD)
    line = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


@pytest.mark.slow
def test_eval_image_of_a_constant_image_stays_constant(results):
    assert len(results["eval_constant"]) == 25
    for shape, error, padded in results["eval_constant"]:
        assert error == 128.0 if padded else error < 0.05, (shape, error)   # bicubic rounding
    targets = [s for s, _, _ in results["eval_constant"][::5]]
    assert targets == [[4, 4, 3], [10, 10, 3], [100, 1, 3], [1, 100, 3], [1, 100, 3]]


@pytest.mark.slow
def test_train_images_of_black_and_white_jpegs_keep_their_shade(results):
    assert len(results["train_bw"]) == 2 * 3 * 2 * 2 * 4
    for value, shape, error in results["train_bw"]:
        assert error <= 50, (value, shape, error)
    assert {tuple(s) for _, s, _ in results["train_bw"]} == {(100, 100, 3), (150, 10, 3),
                                                          (10, 150, 3)}


@pytest.mark.slow
def test_round_robin_uses_method_position_mod_4_and_crop_crops_or_pads(results):
    assert results["round_robin"] == [0.0] * 8
    assert results["crop_equal"]
    assert results["pad"] == [True, 0.0]


@pytest.mark.slow
def test_mlperf_subtracts_the_means_and_default_scales_to_minus_one_one(results):
    assert results["mlperf"] == pytest.approx([200 - 123.68, 200 - 116.78, 200 - 103.94])
    assert results["default_norm"] == pytest.approx([-1.0, 0.0, 1.0])


@pytest.mark.slow
def test_yiq_hue_rotation_keeps_luma_and_zero_saturation_is_gray(results):
    identity, luma_change, changed, gray_spread = results["yiq"]
    assert identity < 1e-5 and luma_change < 1e-5 and gray_spread < 1e-5
    assert changed > 0.01


@pytest.mark.slow
def test_cifar_rows_are_channel_major_and_keys_may_be_bytes_or_str(results):
    assert results["cifar_hwc"] == [[True, 7], [True, 7]]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["imagenet", "imagefolder", "cifar10"])
def test_pipelines_give_normalized_batches_with_labels_in_range(results, name):
    for mode in ("train", "eval"):
        batch = results["pipelines"][name][mode]
        size = 32 if name == "cifar10" else 28
        assert batch["shape"] == [4, size, size, 3] and batch["dtype"] == "float32"
        assert -1.0 <= batch["min"] <= batch["max"] <= 1.0
        offset = 1 if name == "imagenet" else 0          # ImageNet labels are 1-based
        assert all(offset <= label < 4 + offset for label in batch["labels"])
    assert results["pipelines"][name]["eval"]["repeatable"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["imagenet", "imagefolder", "cifar10"])
def test_evaluation_images_have_their_class_colour(results, name):
    batch = results["pipelines"][name]["eval"]
    offset = 1 if name == "imagenet" else 0
    for label, means in zip(batch["labels"], batch["means"]):
        assert means == pytest.approx(results["class_colours"][label - offset], abs=0.08)
