"""Bad data gives one line that names the file, exit status 2: never a hang,
never a TensorFlow traceback."""

from __future__ import annotations

import pytest

MAKE_BAD_DATA = r"""
import os, pickle, shutil, sys
import numpy as np
import tensorflow as tf
from cnnb.plugins.datasets import fakedata

root = sys.argv[1]
jpeg = tf.io.encode_jpeg(np.zeros((20, 20, 3), np.uint8)).numpy()

def example(label, encoded):
    feature = {
        "image/class/label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
        "image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(value=[encoded]))}
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()

def shard(name, records):
    os.makedirs(os.path.join(root, name))
    with tf.io.TFRecordWriter(os.path.join(root, name, "train-00000-of-00001")) as writer:
        for record in records:
            writer.write(record)

shard("not_example", [example(1, jpeg), b"plain text, not a tf.train.Example"])
shard("not_image", [example(1, b"GIF89a, not a JPEG")])
shard("bad_label", [example(5000, jpeg)])
shard("empty", [])
shard("bad_jpeg", [example(1, jpeg), example(2, jpeg[: len(jpeg) // 2])])   # header intact
for name in ("crc", "cut_shard"):
    shard(name, [example(1, jpeg)] * 3)
    path = os.path.join(root, name, "train-00000-of-00001")
    data = bytearray(open(path, "rb").read())
    if name == "crc":
        data[len(data) // 2] ^= 0xFF        # inside record 2: its CRC no longer matches
    else:
        data = data[:-5]                    # record 3 cut short
    open(path, "wb").write(data)
request = dict(num_train=20, num_validation=5, num_classes=4, min_size=30, max_size=40)
fakedata.write_cifar10(fakedata.FakeDataRequest(out=os.path.join(root, "truncated"), **request))
path = os.path.join(root, "truncated", "data_batch_3")
data = open(path, "rb").read()
open(path, "wb").write(data[: len(data) // 2])
fakedata.write_cifar10(fakedata.FakeDataRequest(out=os.path.join(root, "cifar_label"), **request))
path = os.path.join(root, "cifar_label", "data_batch_2")
batch = pickle.load(open(path, "rb"), encoding="bytes")
batch[b"labels"][1] = 12
pickle.dump(batch, open(path, "wb"), protocol=2)
fakedata.write_imagefolder(fakedata.FakeDataRequest(out=os.path.join(root, "folder"), **request))
open(os.path.join(root, "folder", "train", "class_002", "notes.jpg"), "w").write("not a picture")
"""

SMALL_RUN = ["--num_batches=3", "--num_warmup_batches=1", "--batch_size=4"]

# case -> (extra flags, text the one error line must contain)
CASES = {
    "missing_dir": (["--model=lenet", "--data_dir={root}/nowhere"],
                    "--data_dir={root}/nowhere does not exist"),
    "empty_glob": (["--model=lenet", "--data_name=imagenet", "--data_dir={root}"],
                   "Found no files in --data_dir matching: {root}/train-*-of-*"),
    "not_example": (["--model=lenet", "--data_name=imagenet", "--data_dir={root}/not_example"],
                    "{root}/not_example/train-00000-of-00001: a record is not a tf.train.Example"),
    "not_image": (["--model=lenet", "--data_name=imagenet", "--data_dir={root}/not_image"],
                  "{root}/not_image/train-00000-of-00001: image/encoded is not a JPEG image"),
    "bad_label": (["--model=lenet", "--data_name=imagenet", "--data_dir={root}/bad_label"],
                  "{root}/bad_label/train-00000-of-00001: label 5000 is out of range [0, 1001)"),
    "bad_jpeg": (["--model=lenet", "--data_name=imagenet", "--data_dir={root}/bad_jpeg"],
                 "{root}/bad_jpeg/train-00000-of-00001: the image/encoded JPEG of a record cannot "
                 "be decoded (corrupt or truncated image data)"),
    "corrupt_record": (["--model=lenet", "--data_name=imagenet", "--data_dir={root}/crc"],
                       "{root}/crc/train-00000-of-00001: record 2 (byte "),
    "truncated_shard": (["--model=lenet", "--data_name=imagenet", "--data_dir={root}/cut_shard"],
                        "{root}/cut_shard/train-00000-of-00001: not a complete TFRecord file "
                        "(record 3 ends past the end"),
    "empty_shard": (["--model=lenet", "--data_name=imagenet", "--data_dir={root}/empty"],
                    "--data_dir={root}/empty ran out: its files hold no examples"),
    "truncated_pickle": (["--model=resnet20", "--data_name=cifar10",
                          "--data_dir={root}/truncated"],
                         "{root}/truncated/data_batch_3: not a readable CIFAR-10 pickle"),
    "cifar_label": (["--model=resnet20", "--data_name=cifar10", "--data_dir={root}/cifar_label"],
                    "{root}/cifar_label/data_batch_2: label 12 of row 1 is out of range [0, 10)"),
    "not_picture": (["--model=lenet", "--data_name=imagefolder", "--data_dir={root}/folder",
                     "--batch_size=16", "--num_batches=10"],
                    "{root}/folder/train/class_002/notes.jpg: the file is not a JPEG or PNG"),
}


@pytest.fixture(scope="module")
def bad_root(tmp_path_factory, python_child):
    root = tmp_path_factory.mktemp("bad")
    python_child(MAKE_BAD_DATA, str(root))
    return root


@pytest.fixture(scope="module")
def outcomes(bad_root, cnnb_batch):
    runs = [["run", *SMALL_RUN, *[flag.format(root=bad_root) for flag in flags]]
            for flags, _ in CASES.values()]
    return dict(zip(CASES, cnnb_batch(runs)))


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_bad_data_gives_one_line_naming_the_problem(case, outcomes, bad_root):
    result = outcomes[case]
    expected = CASES[case][1].format(root=bad_root)
    assert result.code == 2, result
    assert result.err_lines == [result.err_lines[0]] and result.err_lines[0].startswith("Error: ")
    assert expected in result.err_lines[0], result
    assert "Traceback" not in result.out + result.err


@pytest.mark.slow
def test_a_bad_record_prints_nothing_else_on_stderr(cnnb, bad_root):
    """In its own process, so TensorFlow's C++ logging would show up too."""
    flags = CASES["not_example"][0]
    result = cnnb("run", *SMALL_RUN, *[flag.format(root=bad_root) for flag in flags])
    assert result.code == 2, result
    assert len(result.err_lines) == 1 and "not a tf.train.Example" in result.err_lines[0], result
