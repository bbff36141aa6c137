"""``cnnb data fake`` writes real files in each format, with class-coloured images."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

from cnnb.plugins.datasets.fakedata import class_colour

READ_IMAGENET = r"""
import glob, json, sys
import tensorflow as tf
root = sys.argv[1]
out = {}
for subset in ("train", "validation"):
    rows = []
    for path in sorted(glob.glob(f"{root}/{subset}-*-of-*")):
        for record in tf.data.TFRecordDataset(path):
            example = tf.train.Example.FromString(record.numpy())
            f = example.features.feature
            image = tf.io.decode_jpeg(f["image/encoded"].bytes_list.value[0]).numpy()
            rows.append({"label": f["image/class/label"].int64_list.value[0],
                         "keys": sorted(f.keys()),
                         "box": [f[f"image/object/bbox/{k}"].float_list.value[0]
                                 for k in ("ymin", "xmin", "ymax", "xmax")],
                         "size": [f["image/height"].int64_list.value[0],
                                  f["image/width"].int64_list.value[0]],
                         "shape": list(image.shape),
                         "mean": image.reshape(-1, 3).mean(0).tolist()})
    out[subset] = rows
print("RESULT " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def written(cnnb_batch, tmp_path_factory):
    root = tmp_path_factory.mktemp("fake")
    runs = [["data", "fake", f"--format={name}", f"--out={root / name}", "--num_train=40",
             "--num_validation=12", "--num_classes=4", "--min_size=30", "--max_size=50"]
            for name in ("imagenet", "cifar10", "imagefolder")]
    runs += [["data", "fake", "--format=cifar10", f"--out={root / 'x'}", "--num_classes=11"],
             ["data", "fake", "--format=imagenett", f"--out={root / 'y'}"],
             ["data", "fake", "--format=synthetic", f"--out={root / 'z'}"]]
    return root, cnnb_batch(runs)


def test_each_format_reports_what_it_wrote(written):
    _, results = written
    for result, name in zip(results[:3], ("imagenet", "cifar10", "imagefolder")):
        assert result.code == 0, result
        assert f"Wrote 40 training and 12 validation images of 4 classes in {name} format" \
            in result.out


def test_counted_formats_record_their_example_counts_next_to_the_files(written):
    """The sidecar lets runs skip counting; its counts come from the files
    (a TFRecord header walk, the pickles' rows), so they match the request."""
    root, _ = written
    for name in ("imagenet", "cifar10"):
        sidecar = json.loads((root / name / "cnnb-counts.json").read_text())
        assert sidecar["format"] == name
        assert {subset: row["examples"] for subset, row in sidecar["subsets"].items()} == {
            "train": 40, "validation": 12}
    assert not (root / "imagefolder" / "cnnb-counts.json").exists()     # it counts on every run


def test_bad_requests_fail_with_one_line(written):
    _, results = written
    expected = ["between 1 and 10 for cifar10", "Did you mean: imagenet", "cannot write fake data"]
    for result, text in zip(results[3:], expected):
        assert result.code == 2 and len(result.err_lines) == 1, result
        assert text in result.err_lines[0]


@pytest.mark.slow
def test_imagenet_shards_hold_the_predecessor_example_keys(written, python_child):
    root, _ = written
    names = sorted(os.listdir(root / "imagenet"))
    assert names == ["cnnb-counts.json"] + [f"train-{i:05d}-of-00008" for i in range(8)] + \
        [f"validation-{i:05d}-of-00002" for i in range(2)]
    proc = python_child(READ_IMAGENET, str(root / "imagenet"))
    rows = json.loads(proc.stdout.split("RESULT ", 1)[1])
    assert (len(rows["train"]), len(rows["validation"])) == (40, 12)
    for row in rows["train"] + rows["validation"]:
        assert 1 <= row["label"] <= 4                   # 1-based; 0 is the background class
        assert {"image/encoded", "image/class/label", "image/class/text", "image/height",
                "image/object/bbox/xmin", "image/format", "image/filename"} <= set(row["keys"])
        assert row["box"] == pytest.approx([0.1, 0.1, 0.9, 0.9])
        assert row["shape"] == row["size"] + [3] and 30 <= min(row["size"])
        assert row["mean"] == pytest.approx(class_colour(row["label"] - 1, 4), abs=6)
    assert sorted(r["label"] for r in rows["train"]) == sorted([1, 2, 3, 4] * 10)


def test_cifar10_pickles_have_the_python_version_layout(written):
    root, _ = written
    total, labels = 0, []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(root / "cifar10" / name, "rb") as source:
            batch = pickle.load(source, encoding="bytes")
        data = batch[b"data"]
        assert data.dtype == np.uint8 and data.shape[1] == 3072
        images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)       # rows are CHW
        for image, label in zip(images, batch[b"labels"]):
            assert image.reshape(-1, 3).mean(0) == pytest.approx(class_colour(label, 4), abs=4)
        total += len(data)
        labels += batch[b"labels"] if name != "test_batch" else []
    assert total == 52 and sorted(labels) == sorted([0, 1, 2, 3] * 10)
    assert os.path.exists(root / "cifar10" / "batches.meta")


def test_image_folder_has_a_folder_per_class_of_jpeg_and_png_files(written):
    root, _ = written
    for subset, count in (("train", 40), ("validation", 12)):
        folders = sorted(os.listdir(root / "imagefolder" / subset))
        assert folders == [f"class_{k:03d}" for k in range(4)]
        files = [root / "imagefolder" / subset / f / name for f in folders
                 for name in os.listdir(root / "imagefolder" / subset / f)]
        assert len(files) == count
        kinds = set()
        for path in files:
            head = path.read_bytes()[:4]
            assert head[:3] == b"\xff\xd8\xff" or head == b"\x89PNG", path
            kinds.add(path.suffix)
        assert kinds == {".jpg", ".png"}
    assert not [n for n in os.listdir(root / "imagefolder" / "train" / "class_000")
                if n.startswith(".")]                   # no temporary files left behind


def test_class_colours_differ_in_hue_or_brightness():
    colours = [class_colour(k, 10) for k in range(10)]
    assert len(set(colours)) == 10
    for a in range(10):
        for b in range(a + 1, 10):
            assert max(abs(x - y) for x, y in zip(colours[a], colours[b])) > 40
