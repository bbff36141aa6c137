"""Dataset plugins without TensorFlow: where each format's files are found,
inferring --data_name, planning real-data and evaluation runs, and the
evaluation/checkpoint validation rules (predecessor.md §2 and §5)."""

from __future__ import annotations

import json
import os
import struct

import pytest

from cnnb.config import build_config
from cnnb.errors import ConfigError
from cnnb.option_table import ALL_OPTIONS
from cnnb.planning import infer_dataset_name, plan_run
from cnnb.pluginmanager import load_plugins
from cnnb.plugins.datasets.fakedata import FakeDataRequest, write_cifar10


@pytest.fixture(scope="module")
def plugins():
    return load_plugins()


@pytest.fixture(scope="module")
def datasets(plugins):
    return plugins.registry("dataset")


def touch(path, data: bytes = b"") -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        out.write(data)
    return str(path)


def imagenet_dir(root) -> str:
    for name in ("train-00000-of-00002", "train-00001-of-00002", "validation-00000-of-00001"):
        touch(os.path.join(root, name))
    return str(root)


def cifar_dir(root) -> str:
    """Real (fake-data) pickles: planning counts their rows."""
    write_cifar10(FakeDataRequest(out=str(root), num_train=10, num_validation=4))
    return str(root)


def folder_dir(root, train=(3, 2), validation=(1, 1), subsets=True) -> str:
    for subset, counts in (("train", train), ("validation", validation)):
        for label, count in enumerate(counts):
            for i in range(count):
                parts = [subset] if subsets else []
                extension = ("jpg", "png")[i % 2]
                touch(os.path.join(root, *parts, f"c{label}", f"{subset}{i}.{extension}"))
        if not subsets:
            break
    return str(root)


def plan(plugins, **flags):
    return plan_run(build_config(flags, ALL_OPTIONS), plugins)


def test_every_builtin_dataset_is_listed_with_its_counts(cnnb):
    result = cnnb("datasets", "--json")
    assert result.code == 0, result
    rows = {row["name"]: row for row in json.loads(result.out)}
    assert {"synthetic", "imagenet", "cifar10", "imagefolder"} <= set(rows)
    assert (rows["imagenet"]["num_classes"], rows["imagenet"]["train_examples"]) == (1001, 1281167)
    assert (rows["cifar10"]["validation_examples"], rows["cifar10"]["model_scope"]) == (10000,
                                                                                        "cifar10")


def test_dataset_name_comes_from_the_path_as_in_the_predecessor(datasets, tmp_path):
    for name in ("imagenet", "cifar10", "imagefolder"):
        os.makedirs(tmp_path / f"my_{name}_data")
        assert infer_dataset_name(datasets, None, str(tmp_path / f"my_{name}_data")) == name
    assert infer_dataset_name(datasets, "cifar10", str(tmp_path / "my_imagenet_data")) == "cifar10"
    assert infer_dataset_name(datasets, None, None) == "imagenet"


def test_dataset_name_comes_from_the_files_when_the_path_says_nothing(datasets, tmp_path):
    assert infer_dataset_name(datasets, None, imagenet_dir(tmp_path / "a")) == "imagenet"
    assert infer_dataset_name(datasets, None, cifar_dir(tmp_path / "b")) == "cifar10"
    assert infer_dataset_name(datasets, None, folder_dir(tmp_path / "c")) == "imagefolder"


def test_an_unidentifiable_directory_says_to_use_data_name(datasets, tmp_path):
    with pytest.raises(ConfigError, match="--data_name") as caught:
        infer_dataset_name(datasets, None, str(tmp_path))
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match="does not exist"):
        infer_dataset_name(datasets, None, str(tmp_path / "missing"))


def test_imagenet_shards_are_found_and_an_empty_glob_names_the_pattern(datasets, tmp_path):
    spec = datasets.get("imagenet").load()
    files = spec.locate(imagenet_dir(tmp_path / "data"), "train")
    assert [os.path.basename(p) for p in files.paths] == ["train-00000-of-00002",
                                                        "train-00001-of-00002"]
    with pytest.raises(ConfigError, match=r"Found no files in --data_dir matching: .*"
                                          r"validation-\*-of-\*"):
        spec.locate(str(tmp_path), "validation")


def test_cifar10_needs_all_six_pickles(datasets, tmp_path):
    spec = datasets.get("cifar10").load()
    root = cifar_dir(tmp_path)
    assert len(spec.locate(root, "train").paths) == 5
    os.remove(os.path.join(root, "data_batch_4"))
    with pytest.raises(ConfigError, match="data_batch_4 does not exist"):
        spec.locate(root, "train")


def test_image_folder_counts_classes_and_images_and_labels_by_sorted_folder(datasets, tmp_path):
    spec = datasets.get("imagefolder").load().bind(folder_dir(tmp_path, (3, 2), (1, 2)))
    assert (spec.num_classes, spec.train_examples, spec.validation_examples) == (2, 5, 3)
    files = spec.locate(str(tmp_path), "validation")
    assert files.labels == (0, 1, 1)
    assert all(os.sep + "validation" + os.sep in path for path in files.paths)


def test_image_folder_without_subset_folders_serves_both_subsets(datasets, tmp_path):
    spec = datasets.get("imagefolder").load().bind(folder_dir(tmp_path, (2, 2), subsets=False))
    assert (spec.num_classes, spec.train_examples, spec.validation_examples) == (2, 4, 4)


def test_image_folder_validation_class_missing_from_training_is_an_error(datasets, tmp_path):
    root = folder_dir(tmp_path, (1, 1), (1, 1))
    touch(os.path.join(root, "validation", "zebra", "x.jpg"))
    with pytest.raises(ConfigError, match="zebra"):
        datasets.get("imagefolder").load().locate(root, "validation")


def test_real_data_plan_finds_files_and_preprocessor_before_tensorflow(plugins, tmp_path):
    root = cifar_dir(tmp_path / "cifar10")
    p = plan(plugins, model="resnet20", data_dir=root, eval_during_training_every_n_steps=5)
    assert (p.synthetic, p.dataset.name, p.image_size, p.mode) == (False, "cifar10", 32,
                                                                  "training + evaluation")
    assert set(p.data_files) == {"train", "validation"}
    assert p.preprocessor.scope == "cifar10" and p.preprocessor.name == "default"
    assert plan(plugins, model="lenet").synthetic


def test_modes_have_the_predecessor_names(plugins, tmp_path):
    assert plan(plugins, model="lenet").mode == "training"
    assert plan(plugins, model="lenet", forward_only=True).mode == "forward only"
    assert plan(plugins, model="lenet", eval=True, train_dir=str(tmp_path)).mode == "evaluation"


def test_eval_batches_default_to_the_training_values(plugins, tmp_path):
    p = plan(plugins, model="lenet", num_batches=7, batch_size=4,
             eval_during_training_every_n_steps=2)
    assert (p.num_eval_batches, p.eval_batch_size_per_device) == (7, 4)
    assert [s for s in range(1, 8) if p.eval_due(s)] == [2, 4, 6]


def test_num_eval_epochs_counts_validation_examples(plugins):
    # testEvalDuringTrainingNumEpochs: bs 1, eval bs 2, 100/50000 epochs -> 50 batches.
    p = plan(plugins, model="lenet", batch_size=1, eval_batch_size=2, num_batches=10,
             num_eval_epochs=100 / 50000, eval_during_training_every_n_steps=5)
    assert p.num_eval_batches == 50


def test_eval_every_n_epochs_gives_the_predecessor_step_set(plugins):
    n, batch, examples = 0.25, 32, 1281167
    p = plan(plugins, model="lenet", batch_size=batch, num_epochs=1.0,
             eval_during_training_every_n_epochs=n)
    # num_epochs becomes 40037 batches = 1.00002 epochs, so epoch 1.0 is in the set too
    # (the predecessor's arange(n, num_epochs, n) over the recomputed epochs).
    epochs = [e for e in (0.25, 0.5, 0.75, 1.0) if e < p.num_epochs]
    assert len(epochs) == 4
    assert p.eval_at_steps == {int(e * examples + batch - 1) // batch for e in epochs}


def test_eval_at_specified_steps_and_epochs(plugins):
    p = plan(plugins, model="lenet", batch_size=32, eval_during_training_at_specified_steps="2,3,5")
    assert p.eval_at_steps == {2, 3, 5}
    p = plan(plugins, model="lenet", batch_size=32, eval_during_training_at_specified_epochs="1")
    assert p.eval_at_steps == {(1281167 + 31) // 32}
    with pytest.raises(ConfigError, match="comma-separated list of integers"):
        plan(plugins, model="lenet", eval_during_training_at_specified_steps="2,x")


@pytest.mark.parametrize("flags, match", [
    ({"eval": True, "forward_only": True, "train_dir": "/t"}, "--eval and --forward_only"),
    ({"eval": True}, "Trained model directory not specified"),
    ({"eval_during_training_every_n_steps": 2, "eval_during_training_every_n_epochs": 1.0},
     "At most one --eval_during_training"),
    ({"eval_during_training_every_n_steps": 2, "forward_only": True}, "--forward_only"),
    ({"eval_during_training_every_n_steps": 2, "eval": True, "train_dir": "/t"}, "--eval"),
    ({"stop_at_top_1_accuracy": 0.5}, "only supported with --eval_during_training"),
    ({"save_model_secs": 10, "save_model_steps": 5, "train_dir": "/t"}, "At most one of"),
    ({"save_model_steps": 5}, "need --train_dir"),
    ({"train_dir": "/t/model.ckpt-25"}, "names a checkpoint"),
])
def test_evaluation_and_checkpoint_rules(flags, match):
    with pytest.raises(ConfigError, match=match) as caught:
        build_config(flags, ALL_OPTIONS)
    assert "\n" not in str(caught.value)


def test_synthetic_dataset_rejects_a_data_dir(plugins, tmp_path):
    with pytest.raises(ConfigError, match="has no real data files"):
        plan(plugins, model="lenet", data_name="synthetic", data_dir=str(tmp_path))


def test_planning_counts_records_but_does_not_decode_them(plugins, tmp_path):
    """Planning walks the TFRecord headers to count examples; parsing and
    decoding them is the preprocessor's job (its errors name the file)."""
    root = str(tmp_path / "shards")
    record = b"not a tf.train.Example"
    for name in ("train-00000-of-00001", "validation-00000-of-00001"):
        touch(os.path.join(root, name), (struct.pack("<Q", len(record)) + bytes(4) + record
                                         + bytes(4)) * 3)
    p = plan(plugins, model="lenet", data_dir=root, data_name="imagenet")
    assert (p.synthetic, p.dataset.train_examples, p.dataset.validation_examples) == (False, 3,
                                                                                     3)


def test_image_folder_without_a_directory_is_refused(plugins):
    with pytest.raises(ConfigError, match="give --data_dir"):
        plan(plugins, model="lenet", data_name="imagefolder")
