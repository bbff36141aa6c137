"""The result record, schema version 2 (cnnb.results, issue 8): four namespaced
parts, ``batch_size`` per device everywhere and ``global_batch_size`` for the
step, and a :class:`Result` that reads its own file back.

The runs are real ``cnnb run`` command lines on 2 logical CPU devices
(``--device=cpu --num_gpus=2``, as in test_multi_device_cli), in one child so
TensorFlow loads once: training with evaluation and a checkpoint, then
evaluation of that checkpoint.
"""

from __future__ import annotations

import json
import math
import sys

import pytest

from cnnb import results
from cnnb.errors import CnnbError, ResultFormatError
from cnnb.option_table import ALL_OPTIONS
from cnnb.outputs import looks_secret, masked_command, recorded_env_vars
from cnnb.results import Result

TWO_DEVICES = ["--model=trivial", "--device=cpu", "--num_gpus=2", "--batch_size=2",
               "--num_warmup_batches=0"]
SECRET_VALUE = "pw-91d3e"       # appears nowhere else in a record


@pytest.fixture(scope="module")
def runs(cnnb_batch, make_env, tmp_path_factory):
    """(folder, {name: CliResult}) of a training + evaluation run and an evaluation run."""
    root = tmp_path_factory.mktemp("schema")
    train = ["run", *TWO_DEVICES, "--num_batches=2", "--eval_during_training_every_n_steps=1",
             "--num_eval_batches=1", f"--train_dir={root}/train",
             f"--result_json={root}/train.json"]
    evaluate = ["run", *TWO_DEVICES, "--eval", "--num_eval_batches=1", f"--train_dir={root}/train",
                f"--result_json={root}/eval.json"]
    done = cnnb_batch([train, evaluate], env=make_env(TF_VAR_db_password=SECRET_VALUE))
    for result in done:
        assert result.code == 0, result
    return root, dict(zip(["train", "eval"], done))


@pytest.fixture(scope="module")
def trained(runs) -> dict:
    root, _ = runs
    return json.loads((root / "train.json").read_text())


@pytest.mark.slow
def test_the_record_has_a_version_and_four_parts(trained):
    assert set(trained) == {"schema_version", "config", "plan", "measurements", "environment"}
    assert trained["schema_version"] == results.SCHEMA_VERSION == 2


@pytest.mark.slow
def test_config_holds_every_option_as_given_and_which_were_explicit(trained):
    config = trained["config"]
    assert {option.name for option in ALL_OPTIONS} <= set(config["options"])
    assert config["options"]["batch_size"] == 2 and config["options"]["num_gpus"] == 2
    assert config["options"]["num_epochs"] is None         # a default, left as given
    assert {"model", "batch_size", "num_gpus", "train_dir"} <= set(config["explicit"])
    assert "num_epochs" not in config["explicit"]
    assert config["explicit"] == sorted(config["explicit"])


@pytest.mark.slow
def test_plan_has_per_device_and_global_batch_sizes(trained):
    plan = trained["plan"]
    assert (plan["batch_size"], plan["global_batch_size"]) == (2, 4)
    assert (plan["eval_batch_size"], plan["global_eval_batch_size"]) == (2, 4)
    assert plan["devices"] == ["/cpu:0", "/cpu:1"] and plan["num_devices"] == 2
    assert (plan["model"], plan["mode"], plan["synthetic"]) == ("trivial", "training + evaluation",
                                                                 True)
    assert (plan["num_batches"], plan["num_warmup_batches"], plan["num_eval_batches"]) == (2, 0, 1)
    assert plan["variable_update"] == trained["config"]["options"]["variable_update"]
    assert plan["num_workers"] == 1 and plan["image_size"] > 0 and plan["num_epochs"] > 0


@pytest.mark.slow
def test_measurements_of_training_with_evaluation(trained):
    measured = trained["measurements"]
    assert set(measured) == set(results.new_measurements())
    assert measured["num_steps"] == 2 == len(measured["step_times"]) == measured["global_step"]
    assert measured["images_per_sec"] == pytest.approx(4 / measured["average_wall_time"])
    assert math.isfinite(measured["last_average_loss"])
    assert not measured["interrupted"] and measured["stop_reason"] is None
    assert measured["checkpoint"].endswith("model.ckpt-2")
    assert measured["eval"]["global_step"] == 2 and measured["eval"]["num_examples"] == 4
    assert 0 <= measured["eval"]["top_1_accuracy"] <= measured["eval"]["top_5_accuracy"] <= 1


@pytest.mark.slow
def test_measurements_of_evaluation_mode(runs):
    root, _ = runs
    record = json.loads((root / "eval.json").read_text())
    measured = record["measurements"]
    assert record["plan"]["mode"] == "evaluation" and record["plan"]["global_eval_batch_size"] == 4
    assert measured["global_step"] == 2 and measured["num_steps"] == 1
    assert measured["top_1_accuracy"] == measured["eval"]["top_1_accuracy"]
    assert measured["images_per_sec"] > 0 and measured["checkpoint"] is None


@pytest.mark.slow
def test_no_secret_reaches_the_record(runs):
    root, _ = runs
    for name in ("train.json", "eval.json"):
        assert SECRET_VALUE not in (root / name).read_text()


@pytest.mark.slow
def test_a_written_record_reads_back_as_the_same_result(runs, trained):
    root, _ = runs
    result = Result.read(str(root / "train.json"))
    assert result.as_dict() == trained
    assert Result.from_dict(result.as_dict()) == result
    assert result.images_per_sec == trained["measurements"]["images_per_sec"]
    assert (result.num_steps, result.interrupted, result.stop_reason) == (2, False, None)
    assert result.options["batch_size"] == 2 and result.plan["global_batch_size"] == 4


# --- what a record may contain (cnnb.outputs) ---------------------------------------

def test_only_performance_variables_are_recorded_and_never_secret_looking_ones():
    environ = {"TF_ENABLE_ONEDNN_OPTS": "1", "TF_CUDNN_USE_AUTOTUNE": "0", "OMP_NUM_THREADS": "4",
               "KMP_BLOCKTIME": "0", "OMP_SECRET_HANDSHAKE": "x0",
               "NCCL_DEBUG": "INFO", "CNNB_TRACE_PLUGINS": "1", "XLA_FLAGS": "--xla_cpu",
               "TF_VAR_db_password": "x1", "NCCL_AUTH_TOKEN": "x2", "CNNB_API_KEY": "x3",
               "TF_CUDNN_SECRET": "x4", "AWS_SECRET_ACCESS_KEY": "x5", "HOME": "/root",
               "PATH": "/bin", "TF_SOMETHING_ELSE": "x6", "CUDA_HOME": "/usr/cuda"}
    assert recorded_env_vars(environ) == {
        "CNNB_TRACE_PLUGINS": "1", "KMP_BLOCKTIME": "0", "NCCL_DEBUG": "INFO",
        "OMP_NUM_THREADS": "4", "TF_CUDNN_USE_AUTOTUNE": "0", "TF_ENABLE_ONEDNN_OPTS": "1",
        "XLA_FLAGS": "--xla_cpu"}


def test_secret_looking_flag_values_and_url_passwords_are_masked():
    argv = ["cnnb", "run", "--password=hunter2", "--api-token", "abc", "--model=trivial",
            "--secret_key", "--data_dir=https://user:pw@host/data", "--batch_size", "8"]
    assert masked_command(argv) == [
        "cnnb", "run", "--password=***", "--api-token", "***", "--model=trivial",
        "--secret_key", "--data_dir=https://user:***@host/data", "--batch_size", "8"]


def test_no_cnnb_flag_looks_secret():
    """Masking must never hide the value of a flag that changes performance."""
    assert [option.name for option in ALL_OPTIONS if looks_secret(option.name)] == []


def test_the_environment_block_holds_no_secret(monkeypatch):
    monkeypatch.setenv("TF_VAR_x", SECRET_VALUE)
    monkeypatch.setenv("CNNB_ACCESS_TOKEN", SECRET_VALUE)
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    monkeypatch.setattr(sys, "argv", ["cnnb", "run", f"--token={SECRET_VALUE}"])
    block = results.environment("2.0.0", ["/cpu:0"])
    assert SECRET_VALUE not in json.dumps(block)
    assert block["env_vars"]["TF_ENABLE_ONEDNN_OPTS"] == "1"
    assert block["command"] == ["cnnb", "run", "--token=***"]


# --- Result without TensorFlow ------------------------------------------------------

def _small_result(**measured) -> Result:
    return Result(config=results.config_part({"batch_size": 8, "api_token": "t0k"}, {"batch_size"}),
                  plan={"devices": ("/cpu:0",), "batch_size": 8, "global_batch_size": 8},
                  measurements=results.new_measurements(**measured),
                  environment={"cnnb_version": "0.1.0"})


def test_a_result_holds_plain_json_and_masks_secret_options():
    result = _small_result(images_per_sec=12.5, step_times=(0.5, 0.25))
    assert result.plan["devices"] == ["/cpu:0"]
    assert result.measurements["step_times"] == [0.5, 0.25]
    assert result.config == {"options": {"batch_size": 8, "api_token": "***"},
                             "explicit": ["batch_size"]}
    assert Result.from_dict(json.loads(json.dumps(result.as_dict()))) == result


def test_only_known_measurements_are_accepted():
    with pytest.raises(KeyError, match="images_per_second"):
        results.new_measurements(images_per_second=1.0)


@pytest.mark.parametrize("version", [1, 3, "2"])
def test_another_schema_version_is_one_clear_line(version):
    record = {**_small_result().as_dict(), "schema_version": version}
    with pytest.raises(ResultFormatError) as refused:
        Result.from_dict(record)
    message = str(refused.value)
    assert isinstance(refused.value, CnnbError) and "\n" not in message
    assert f"schema_version {version!r}" in message and "reads schema_version 2 only" in message
    assert "written by cnnb 0.1.0" in message


def test_the_flat_record_of_version_1_is_refused_by_its_version():
    flat = {"schema_version": 1, "images_per_sec": 10.0, "batch_size": 64, "environment": {}}
    with pytest.raises(ResultFormatError, match=r"^result record has schema_version 1; "):
        Result.from_dict(flat)


@pytest.mark.parametrize("record, expected", [
    ({"images_per_sec": 1.0}, "not a cnnb result record: it has no schema_version"),
    ([1, 2], "a result record is a JSON object, not list"),
    ({"schema_version": 2, "config": {}, "plan": {}, "measurements": {}},
     "lacks its environment part"),
])
def test_what_is_not_a_record_is_one_clear_line(record, expected):
    with pytest.raises(ResultFormatError) as refused:
        Result.from_dict(record)
    assert expected in str(refused.value) and "\n" not in str(refused.value)
