"""Epochs and evaluations count the examples actually in --data_dir: the
sidecar ``cnnb data fake``/``cnnb data count`` write, trusted only while the
files are the ones it describes, else a count of the files themselves; plus
the one-line errors of damaged or unreadable data found while counting."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from cnnb.config import build_config
from cnnb.dataset import DataError, InputOptions
from cnnb.errors import ConfigError
from cnnb.option_table import ALL_OPTIONS
from cnnb.planning import plan_run
from cnnb.pluginmanager import load_plugins
from cnnb.plugins.datasets import counts, layouts
from cnnb.plugins.datasets.fakedata import FakeDataRequest, write_cifar10

SIDECAR = counts.SIDECAR_NAME


@pytest.fixture(scope="module")
def plugins():
    return load_plugins()


def plan(plugins, **flags):
    return plan_run(build_config(flags, ALL_OPTIONS), plugins)


def cifar(root, num_train=2000, num_validation=500) -> str:
    write_cifar10(FakeDataRequest(out=str(root), num_train=num_train,
                                  num_validation=num_validation))
    return str(root)


def shards(root, sizes: dict[str, list[int]], record_bytes: int = 40) -> str:
    """TFRecord-framed shards: ``{subset: [records per shard]}``. The CRCs are
    zeros: counting walks the headers and never reads them."""
    os.makedirs(root, exist_ok=True)
    for subset, per_shard in sizes.items():
        for index, records in enumerate(per_shard):
            name = f"{subset}-{index:05d}-of-{len(per_shard):05d}"
            with open(os.path.join(root, name), "wb") as out:
                for _ in range(records):
                    out.write(struct.pack("<Q", record_bytes) + bytes(4 + record_bytes + 4))
    return str(root)


def test_data_fake_records_what_it_wrote_and_epochs_round_up(plugins, cnnb, tmp_path):
    result = cnnb("data", "fake", "--format=cifar10", f"--out={tmp_path}/c", "--num_train=2000",
                  "--num_validation=500")
    assert result.code == 0, result
    sidecar = json.loads((tmp_path / "c" / SIDECAR).read_text())
    assert {subset: row["examples"] for subset, row in sidecar["subsets"].items()} == {
        "train": 2000, "validation": 500}
    p = plan(plugins, model="resnet20", data_dir=f"{tmp_path}/c", data_name="cifar10",
             num_epochs=1, batch_size=64)
    assert (p.dataset.train_examples, p.num_batches) == (2000, 32)      # ceil(2000 / 64)
    assert p.num_epochs == pytest.approx(32 * 64 / 2000)


def test_without_a_sidecar_the_files_themselves_are_counted(plugins, tmp_path):
    root = cifar(tmp_path / "c", 700, 130)
    assert not os.path.exists(os.path.join(root, SIDECAR))
    spec = plan(plugins, model="resnet20", data_dir=root, num_batches=1).dataset
    assert (spec.train_examples, spec.validation_examples) == (700, 130)
    root = shards(tmp_path / "i", {"train": [3, 4, 0], "validation": [5]})
    p = plan(plugins, model="lenet", data_dir=root, data_name="imagenet", num_epochs=2,
             batch_size=4)
    assert (p.dataset.train_examples, p.dataset.validation_examples, p.num_batches) == (7, 5, 4)


def test_the_sidecar_is_read_instead_of_the_files_while_they_are_unchanged(plugins, tmp_path):
    root = shards(tmp_path / "i", {"train": [3, 4], "validation": [2]})
    spec = plugins.registry("dataset").get("imagenet").load()
    assert spec.write_counts(root) == {"train": 7, "validation": 2}
    sidecar_path = Path(root, SIDECAR)
    sidecar = json.loads(sidecar_path.read_text())
    sidecar["subsets"]["train"]["examples"] = 12345     # a count only the sidecar holds
    sidecar_path.write_text(json.dumps(sidecar))
    assert spec.bind(root).train_examples == 12345


def test_a_sidecar_of_replaced_files_is_not_trusted(plugins, tmp_path, cnnb):
    """Files regenerated with fewer images (or edited, or a shard added) are
    counted again: a user expects the epochs of the data there now."""
    root = str(tmp_path / "c")
    assert cnnb("data", "fake", "--format=cifar10", f"--out={root}", "--num_train=2000",
                "--num_validation=500").code == 0
    old_sidecar = Path(root, SIDECAR).read_text()
    cifar(root, 1000, 500)                             # same names, new files
    Path(root, SIDECAR).write_text(old_sidecar)
    spec = plan(plugins, model="resnet20", data_dir=root, num_batches=1).dataset
    assert (spec.train_examples, spec.validation_examples) == (1000, 500)

    root = shards(tmp_path / "i", {"train": [3, 4], "validation": [2]})
    imagenet = plugins.registry("dataset").get("imagenet").load()
    imagenet.write_counts(root)
    for name in ("train-00000-of-00002", "train-00001-of-00002"):
        os.remove(os.path.join(root, name))
    shards(root, {"train": [3, 4, 6]})                 # resharded, with a shard more
    assert imagenet.bind(root).train_examples == 13


def test_a_file_rewritten_to_the_same_size_is_counted_again(plugins, tmp_path):
    root = shards(tmp_path / "i", {"train": [3, 4], "validation": [2]})
    spec = plugins.registry("dataset").get("imagenet").load()
    spec.write_counts(root)
    shard = os.path.join(root, "train-00000-of-00002")
    size, modified = os.path.getsize(shard), os.stat(shard).st_mtime_ns
    with open(shard, "wb") as out:                     # 1 record instead of 3, same bytes
        out.write(struct.pack("<Q", size - 16) + bytes(size - 8))
    os.utime(shard, ns=(modified + 10**9, modified + 10**9))
    assert os.path.getsize(shard) == size
    assert spec.bind(root).train_examples == 5


def test_big_tfrecord_sets_are_not_walked_while_planning(plugins, tmp_path, monkeypatch,
                                                         capsys, cnnb):
    """Above the size limit planning assumes the published counts and says
    how to record the real ones; after 'cnnb data count' it uses those."""
    root = shards(tmp_path / "big", {"train": [30, 20], "validation": [10]})
    monkeypatch.setattr(layouts, "COUNT_LIMIT_BYTES", 100)
    spec = plugins.registry("dataset").get("imagenet").load()
    bound = spec.bind(root)
    assert (bound.train_examples, bound.validation_examples) == (1281167, 50000)
    note = capsys.readouterr().err
    assert f"has no {SIDECAR}" in note and f"cnnb data count {root}" in note
    result = cnnb("data", "count", root)
    assert result.code == 0, result
    assert result.out.strip() == (f"{root} (imagenet): 50 train, 10 validation examples; "
                                  f"recorded in {root}/{SIDECAR}.")
    bound = spec.bind(root)
    assert (bound.train_examples, bound.validation_examples) == (50, 10)
    assert capsys.readouterr().err == ""
    shards(root, {"validation": [11]})
    assert spec.bind(root).validation_examples == 50000
    assert "is out of date" in capsys.readouterr().err


def test_a_truncated_shard_is_named_while_planning(plugins, tmp_path):
    root = shards(tmp_path / "i", {"train": [3, 4], "validation": [2]})
    shard = os.path.join(root, "train-00001-of-00002")
    os.truncate(shard, os.path.getsize(shard) - 10)
    with pytest.raises(DataError, match=rf"^{shard}: not a complete TFRecord file \(record 4 "):
        plan(plugins, model="lenet", data_dir=root, data_name="imagenet")


def test_a_truncated_pickle_is_named_while_planning(plugins, tmp_path):
    root = cifar(tmp_path / "c", 50, 10)
    path = os.path.join(root, "test_batch")
    os.truncate(path, 100)
    with pytest.raises(DataError, match=rf"^{path}: not a readable CIFAR-10 pickle"):
        plan(plugins, model="resnet20", data_dir=root)


@pytest.mark.parametrize("flags, batches", [
    ({"eval_during_training_every_n_steps": 5, "num_batches": 300}, 8),  # ceil(500 / 64)
    ({"eval_during_training_every_n_steps": 5, "num_eval_batches": 3}, 3),
    ({"eval_during_training_every_n_steps": 5, "num_eval_epochs": 2}, 16),
    ({"eval": True}, 8),
    ({"eval": True, "num_batches": 20}, 20),                    # asked for, as the predecessor
])
def test_evaluation_is_one_pass_over_the_validation_set_by_default(plugins, tmp_path, flags,
                                                                   batches):
    root = cifar(tmp_path / "c", 100, 500)
    p = plan(plugins, model="resnet20", data_dir=root, batch_size=64,
             train_dir=str(tmp_path / "t"), **flags)
    assert p.num_eval_batches == batches
    if flags.get("eval"):
        assert p.num_batches == batches


def test_synthetic_evaluation_keeps_the_training_length(plugins):
    p = plan(plugins, model="lenet", batch_size=4, num_batches=7,
             eval_during_training_every_n_steps=2)
    assert p.num_eval_batches == 7


def test_distortions_are_off_unless_asked_for(cnnb):
    assert InputOptions.from_config(build_config({}, ALL_OPTIONS)).distortions is False
    assert InputOptions().distortions is False
    assert build_config({"distortions": True}, ALL_OPTIONS).distortions is True
    result = cnnb("run", "--help")
    text = " ".join(result.out.split())
    assert "--distortions / --nodistortions Distort real training images" in text, result
    assert "Off by default, as in the predecessor." in text


def test_count_of_a_format_that_counts_itself_is_refused(cnnb, tmp_path):
    os.makedirs(tmp_path / "f" / "a")
    shutil.copy(__file__, tmp_path / "f" / "a" / "x.jpg")
    result = cnnb("data", "count", str(tmp_path / "f"), "--data_name=imagefolder")
    assert result.code == 2 and result.err_lines == [
        "Error: dataset 'imagefolder' counts its files on every run; there is nothing to "
        "record."], result


def test_an_unwritable_sidecar_is_one_line(plugins, tmp_path):
    root = shards(tmp_path / "i", {"train": [1]})
    os.mkdir(os.path.join(root, SIDECAR))               # in the way of the file
    spec = plugins.registry("dataset").get("imagenet").load()
    with pytest.raises(ConfigError, match=rf"cannot write {root}/{SIDECAR} \("):
        spec.write_counts(root)
    assert not os.path.exists(os.path.join(root, f".{SIDECAR}.tmp"))


#: root minus the capabilities that let it ignore permission bits
_WITHOUT_DAC_OVERRIDE = ("setpriv", "--bounding-set=-dac_override,-dac_read_search")


def _cli_without_root(args: list[str], env: dict) -> tuple[int, str]:
    """(exit status, stderr) of ``cnnb ARGS`` in a child for whom permission
    bits hold. Root ignores them, so as root the child runs under ``setpriv``
    without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH: still root (it reads the
    checkout, wherever a fresh clone put it), but a mode-000 path is closed."""
    prefix: tuple = ()
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without util-linux's setpriv: no way to make "
                        "permission bits apply")
        prefix = _WITHOUT_DAC_OVERRIDE
    proc = subprocess.run([*prefix, sys.executable, "-m", "cnnb", *args], capture_output=True,
                          text=True, env=env, timeout=600, check=False)
    return proc.returncode, proc.stderr


def test_unreadable_data_is_one_line_with_exit_2(plugins, make_env):
    root = Path(tempfile.mkdtemp(prefix="cnnb-unreadable-"))     # 'nobody' must reach it
    try:
        root.chmod(0o755)
        locked = cifar(root / "locked", 10, 4)
        hidden = cifar(root / "private" / "cifar10", 10, 4)
        pickle_dir = cifar(root / "pickle", 10, 4)
        os.chmod(os.path.join(pickle_dir, "data_batch_2"), 0)
        folder = root / "folder"
        for name in ("a", "b"):
            os.makedirs(folder / "train" / name)
            shutil.copy(__file__, folder / "train" / name / "x.jpg")
        os.chmod(locked, 0)
        os.chmod(root / "private", 0)
        os.chmod(folder / "train" / "b", 0)
        cases = {
            locked: f"--data_dir={locked} cannot be listed (permission denied)",
            hidden: f"--data_dir={hidden} cannot be reached (permission denied on a folder on "
                    "its path)",
            pickle_dir: f"{pickle_dir}/data_batch_2: cannot be read (Permission denied)",
            str(folder): f"{folder}/train/b cannot be listed (Permission denied)",
        }
        for data_dir, expected in cases.items():
            flags = (["--data_name=imagefolder", "--model=lenet"] if data_dir == str(folder)
                     else ["--data_name=cifar10", "--model=resnet20"])
            code, err = _cli_without_root(["run", *flags, "--device=cpu",    # no GPU query
                                           f"--data_dir={data_dir}"], make_env())
            lines = [line for line in err.splitlines() if line.strip()]
            assert code == 2 and len(lines) == 1 and expected in lines[0], (data_dir, code, err)
    finally:
        for path in (root / "locked", root / "private", root / "folder" / "train" / "b"):
            if path.exists():
                path.chmod(0o755)
        shutil.rmtree(root)
