"""Cross-option rules (cnnb.rules) and the machine-fitting defaults, through
cnnb.config.build_config (fast, no TensorFlow) and a few through the CLI."""

from __future__ import annotations

import pytest

from cnnb.config import RunConfig, build_config
from cnnb.errors import ConfigError
from cnnb.option_table import ALL_OPTIONS


def build(gpus: int = 0, **flags) -> RunConfig:
    return build_config(flags, ALL_OPTIONS, visible_gpus=lambda: gpus)


def rejects(match: str, gpus: int = 0, **flags) -> str:
    with pytest.raises(ConfigError, match=match) as caught:
        build(gpus, **flags)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_cpu_with_nchw_is_rejected_with_the_fix():
    message = rejects("NCHW", device="cpu", data_format="NCHW")
    assert "--data_format=NHWC" in message


def test_nchw_without_a_gpu_is_rejected_because_device_defaults_to_cpu():
    rejects("NCHW", data_format="NCHW")


def test_nchw_is_fine_on_gpu():
    assert build(device="gpu", data_format="NCHW").data_format == "NCHW"


def test_no_gpu_defaults_to_cpu_and_nhwc_with_notes():
    config = build()
    assert (config.device, config.data_format) == ("cpu", "NHWC")
    assert len(config.notes) == 2
    assert any("--device" in note for note in config.notes)
    assert any("--data_format" in note for note in config.notes)


def test_with_a_gpu_the_predecessor_defaults_stay():
    config = build(gpus=1)
    assert (config.device, config.data_format, config.notes) == ("gpu", "NCHW", ())


def test_explicit_device_wins_over_the_machine_default():
    config = build(gpus=1, device="cpu")
    assert (config.device, config.data_format) == ("cpu", "NHWC")
    assert not build(device="cpu", data_format="NHWC").notes


def test_num_batches_with_num_epochs_is_rejected():
    rejects("--num_batches and --num_epochs", num_batches=10, num_epochs=1.0)


@pytest.mark.parametrize("other", [{"init_learning_rate": 1.0},
                                   {"init_learning_rate": 1.0, "num_epochs_per_decay": 2,
                                    "learning_rate_decay_factor": .5},
                                   {"minimum_learning_rate": .1}])
def test_piecewise_schedule_cannot_be_combined_with_other_rate_flags(other):
    rejects("piecewise", piecewise_learning_rate_schedule="1;3;.1", **other)


@pytest.mark.parametrize("schedule", ["1;3", "1;3;.1;5", "1;x;.1", "1;5;.1;3;.01"])
def test_bad_piecewise_schedules_are_rejected(schedule):
    rejects("piecewise_learning_rate_schedule", piecewise_learning_rate_schedule=schedule)


@pytest.mark.parametrize("flags", [
    {"learning_rate_decay_factor": .5, "init_learning_rate": 1.0},
    {"num_epochs_per_decay": 2, "init_learning_rate": 1.0},
    {"num_epochs_per_decay": 2, "learning_rate_decay_factor": .5},
])
def test_decay_flags_come_together_with_init_learning_rate(flags):
    rejects("must be given together", **flags)


def test_minimum_learning_rate_needs_all_three():
    rejects("minimum_learning_rate", minimum_learning_rate=.1, init_learning_rate=1.0)
    config = build(minimum_learning_rate=.1, init_learning_rate=1.0, num_epochs_per_decay=2,
                   learning_rate_decay_factor=.5)
    assert config.minimum_learning_rate == .1


def test_warmup_needs_an_explicit_rate():
    rejects("num_learning_rate_warmup_epochs", num_learning_rate_warmup_epochs=2)
    assert build(num_learning_rate_warmup_epochs=2, init_learning_rate=.1)
    assert build(num_learning_rate_warmup_epochs=2, piecewise_learning_rate_schedule="1;3;.1")


def test_valid_configuration_is_frozen():
    config = build(model="lenet", batch_size=4)
    assert (config.model, config["batch_size"], config.is_set("model")) == ("lenet", 4, True)
    assert not config.is_set("optimizer")
    with pytest.raises(AttributeError):
        config.batch_size = 8
    changed = config.replace(batch_size=8)
    assert (changed.batch_size, config.batch_size) == (8, 4)


def test_unknown_option_in_raw_values_is_rejected():
    rejects("unknown option", bogus_flag=1)


# Through the CLI. --device=cpu is explicit so no GPU probe (TensorFlow) is needed.
@pytest.mark.parametrize("args, needle", [
    (["--device=cpu", "--data_format=NCHW"], "--data_format=NHWC"),
    (["--device=cpu", "--num_batches=5", "--num_epochs=1"], "--num_epochs"),
    (["--device=cpu", "--init_learning_rate=1", "--piecewise_learning_rate_schedule=1;3;.1"],
     "--init_learning_rate"),
    (["--device=cpu", "--num_learning_rate_warmup_epochs=1"], "--init_learning_rate"),
])
def test_cli_reports_rule_violations_in_one_line_with_exit_2(cnnb, args, needle):
    result = cnnb("run", *args)
    assert result.code == 2, result
    assert len(result.err_lines) == 1 and result.err_lines[0].startswith("Error: "), result
    assert needle in result.err and "Traceback" not in result.err
    assert result.out == ""
