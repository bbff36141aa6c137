"""``cnnb run`` end to end in child processes: the predecessor's console format,
forward-only, accuracy columns, every optimizer, gradient clipping, XLA, the
JSON result record, and that training actually lowers the loss."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import pytest

from cnnb.option_table import ALL_OPTIONS
from cnnb.timing import perf_timing

pytestmark = pytest.mark.slow

STEP_LINE = re.compile(r"^\d+\timages/sec: [0-9.]+ \+/- [0-9.]+ \(jitter = [0-9.]+\)\t[0-9.]+$")
ACCURACY_STEP_LINE = re.compile(
    r"^\d+\timages/sec: [0-9.]+ \+/- [0-9.]+ \(jitter = [0-9.]+\)\t[0-9.]+\t[0-9.]+\t[0-9.]+$")
TOTAL_LINE = re.compile(r"^total images/sec: \d+\.\d\d$")
DASHES = "-" * 64
ACCEPTANCE = ["run", "--model=trivial", "--device=cpu", "--data_format=NHWC",
              "--num_batches=20", "--display_every=5"]
SMALL_LENET = ["run", "--model=lenet", "--batch_size=4", "--num_warmup_batches=1"]
OPTIMIZERS = ["sgd", "momentum", "rmsprop", "adam"]


def step_lines(result) -> list[str]:
    return [line for line in result.out_lines if re.match(r"^\d+\t", line)]


def losses(result) -> list[float]:
    return [float(line.split("\t")[2]) for line in step_lines(result)]


def info_value(result, key: str) -> str:
    return next(line for line in result.out_lines if line.startswith(f"{key}:")) \
        .split(":", 1)[1].strip()


@pytest.fixture(scope="module")
def acceptance(cnnb):
    return cnnb(*ACCEPTANCE)


@pytest.fixture(scope="module")
def result_path(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("result") / "nested" / "result.json"


@pytest.fixture(scope="module")
def runs(cnnb_batch, result_path) -> dict:
    """The variant runs, in one child process so TensorFlow loads once."""
    variants = {
        "forward": ["run", "--model=lenet", "--batch-size", "4", "--num_batches", "5",
                    "--num_warmup_batches=1", "--forward_only", "--batch_group_size=2",
                    "--display_every=1"],
        "accuracy": [*SMALL_LENET, "--num_batches=3", "--print_training_accuracy",
                     "--gradient_clip=1.0", f"--result_json={result_path}", "--display_every=1"],
        **{name: [*SMALL_LENET, "--num_batches=2", f"--optimizer={name}", "--display_every=1"]
           for name in OPTIMIZERS},
        "xla": ["run", "--model=trivial", "--batch_size=2", "--num_batches=2",
                "--num_warmup_batches=1", "--xla_compile", "--display_every=1"],
        "epochs": ["run", "--model=trivial", "--batch_size=2", "--num_epochs=0.00001",
                   "--num_warmup_batches=0", "--display_every=1"],
        "learning": ["run", "--model=lenet", "--batch_size=8", "--num_batches=30",
                     "--num_warmup_batches=0", "--init_learning_rate=0.0001",
                     "--loss_type_to_report=base_loss", "--display_every=1"],
    }
    return dict(zip(variants, cnnb_batch(list(variants.values()))))


# -- the acceptance command: the predecessor's console format ------------------------------

def test_acceptance_run_succeeds(acceptance):
    assert acceptance.code == 0, acceptance
    assert "Traceback" not in acceptance.err and "warning:" not in acceptance.err


def test_info_block_comes_first(acceptance):
    lines = acceptance.out_lines
    assert lines[0].startswith("TensorFlow:  ")
    assert lines[1] == "Model:       trivial"
    block = lines[:lines.index("==========")]
    assert "Mode:        training" in block and "Data format: NHWC" in block
    assert "Batch size:  32 global" in block and "Num batches: 20" in block
    assert not any(line.startswith("Note:") for line in block)   # device and format explicit


def test_step_table_has_header_and_lines_every_display_step(acceptance):
    lines = acceptance.out_lines
    header = lines.index("Step\tImg/sec\ttotal_loss")
    steps = step_lines(acceptance)
    assert [int(line.split("\t")[0]) for line in steps] == [1, 5, 10, 15, 20]
    assert all(STEP_LINE.match(line) for line in steps), steps
    assert lines.index(steps[0]) == header + 1


def test_total_images_per_sec_between_dashes_at_the_end(acceptance):
    """The predecessor's block ends stdout; cnnb's model-FLOP utilization line
    (and, the first time on a machine, the note that its matmul peak was
    measured) goes to stderr, so parsers of stdout see the predecessor's lines."""
    lines = acceptance.out_lines
    total = next(i for i, line in enumerate(lines) if TOTAL_LINE.match(line))
    assert lines[total - 1] == DASHES and lines[total + 1] == DASHES == lines[-1]
    assert float(lines[total].split(": ")[1]) > 0
    assert acceptance.err_lines[-1].startswith("model FLOP utilization: "), acceptance


# -- variants --------------------------------------------------------------------------------

def test_defaults_fit_a_cpu_only_machine_and_say_so(runs):
    result = runs["forward"]
    assert result.code == 0, result
    if "gpu" in info_value(result, "Devices"):
        pytest.skip("a GPU is visible here")
    assert info_value(result, "Data format") == "NHWC"
    notes = [line for line in result.out_lines if line.startswith("Note:")]
    assert len(notes) == 2 and "--device" in notes[0] and "--data_format" in notes[1]


def test_kebab_and_space_separated_flags_reach_the_run(runs):
    result = runs["forward"]
    assert info_value(result, "Batch size") == "4 global"
    assert info_value(result, "Num batches") == "5"


def test_no_tf2_flag_prints_one_warning_line_and_runs(runs):
    result = runs["forward"]
    warnings = [line for line in result.err_lines if line.startswith("warning:")]
    assert len(warnings) == 1 and warnings[0].startswith("warning: --batch_group_size "), result
    assert result.code == 0


def test_forward_only_shows_zero_loss_and_accuracy_columns(runs):
    result = runs["forward"]
    assert info_value(result, "Mode") == "forward only"
    assert "Step\tImg/sec\ttotal_loss\ttop_1_accuracy\ttop_5_accuracy" in result.out_lines
    steps = step_lines(result)
    assert len(steps) == 5 and all(ACCURACY_STEP_LINE.match(line) for line in steps), steps
    assert {line.split("\t")[2] for line in steps} == {"0.000"}
    assert all(0 <= float(v) <= 1 for line in steps for v in line.split("\t")[3:])


def test_print_training_accuracy_adds_the_columns(runs):
    result = runs["accuracy"]
    assert result.code == 0, result
    assert "Step\tImg/sec\ttotal_loss\ttop_1_accuracy\ttop_5_accuracy" in result.out_lines
    steps = step_lines(result)
    assert len(steps) == 3 and all(ACCURACY_STEP_LINE.match(line) for line in steps), steps


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_trains_with_a_finite_loss(runs, optimizer):
    result = runs[optimizer]
    assert result.code == 0, result
    assert info_value(result, "Optimizer") == optimizer
    assert len(losses(result)) == 2 and all(math.isfinite(v) for v in losses(result))


def test_optimizers_really_differ(runs):
    # Same seed and data: the first step's loss is shared, the second reflects the update.
    second = {name: losses(runs[name])[1] for name in OPTIMIZERS}
    assert len(set(second.values())) == len(OPTIMIZERS), second


def test_xla_compiled_step_runs(runs):
    result = runs["xla"]
    assert result.code == 0, result
    assert len(step_lines(result)) == 2 and all(math.isfinite(v) for v in losses(result))


def test_num_epochs_is_converted_to_batches(runs):
    result = runs["epochs"]
    assert result.code == 0, result
    expected = math.ceil(0.00001 * 1281167 / 2)       # 7 batches of 2 images
    assert info_value(result, "Num batches") == str(expected)
    assert len(step_lines(result)) == expected


def test_training_lowers_the_loss_on_a_fixed_batch(runs):
    values = losses(runs["learning"])
    assert len(values) == 30 and all(math.isfinite(v) for v in values)
    assert values[-1] < values[0] / 10, values
    assert min(values[-5:]) < 1.0, values


# -- the JSON result record ------------------------------------------------------------------

@pytest.fixture(scope="module")
def record(runs, result_path) -> dict:
    assert runs["accuracy"].code == 0, runs["accuracy"]
    return json.loads(result_path.read_text())


def test_result_json_has_the_measurements(record, runs):
    measured = record["measurements"]
    assert measured["num_steps"] == 3 and len(measured["step_times"]) == 3
    assert measured["images_per_sec"] == pytest.approx(4 / measured["average_wall_time"])
    timing = perf_timing(4, measured["step_times"])
    assert measured["images_per_sec_uncertainty"] == pytest.approx(timing.uncertainty)
    assert measured["images_per_sec_jitter"] == pytest.approx(timing.jitter)
    assert math.isfinite(measured["last_average_loss"])
    assert measured["last_average_loss"] == pytest.approx(losses(runs["accuracy"])[-1], abs=5e-4)
    total = next(l for l in runs["accuracy"].out_lines if TOTAL_LINE.match(l))
    assert total == f"total images/sec: {measured['images_per_sec']:.2f}"
    assert 0 <= measured["top_1_accuracy"] <= measured["top_5_accuracy"] <= 1


def test_result_json_has_the_environment(record):
    env = record["environment"]
    assert {"cnnb_version", "tensorflow_version", "python_version", "cpu_model",
            "devices"} <= set(env)
    assert env["python_version"] == ".".join(map(str, sys.version_info[:3]))
    assert env["tensorflow_version"].startswith("2.") and env["devices"] == ["/cpu:0"]


def test_result_json_has_every_config_key(record):
    options = record["config"]["options"]
    assert {option.name for option in ALL_OPTIONS} <= set(options)
    assert (options["model"], options["batch_size"], options["gradient_clip"]) == ("lenet", 4, 1.0)
    assert options["print_training_accuracy"] is True
