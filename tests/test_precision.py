"""Reduced precision: flag rules, the automatic loss-scale state machine (the
predecessor's variable_mgr_util_test cases), and fp16/bf16 training through
the CLI with every in-process variable manager."""

from __future__ import annotations

import json
import math
import re

import pytest

from cnnb.config import build_config
from cnnb.errors import ConfigError
from cnnb.option_table import ALL_OPTIONS
from cnnb.precision import precision_notes
from test_eval_checkpoints import READ_SUMMARIES

LOSS = re.compile(r"^\d+\timages/sec: .*\t(\S+)$")

# The predecessor's cases, run on the real TensorFlow state machine in a child.
STATE_MACHINE = r"""
import json
import tensorflow as tf
from cnnb.engine.loss_scale import LossScaleState, apply_with_loss_scale, update_loss_scale

def machine(scale, steps, n=10):
    state = LossScaleState(scale, n)
    state.normal_steps.assign(steps)
    return state

def growth(steps):
    state = machine(4.0, steps)
    update_loss_scale(state.scale, state.normal_steps, True, 10)
    return [float(state.scale), int(state.normal_steps)]

def append(grads, auto=True, chief=True):
    state = machine(4.0, 10)
    applied = tf.Variable(0)
    done = apply_with_loss_scale(lambda: applied.assign_add(1), grads,
                                 state if auto else None, chief)
    return [int(applied), bool(done), float(state.scale), int(state.normal_steps)]

finite, nan = [tf.constant([1.0, 2.0])], [tf.constant([1.0, float("nan")])]
print(json.dumps({
    "steps_10": growth(10), "steps_9": growth(9),
    "auto_off": append(nan, auto=False), "not_chief": append(nan, chief=False),
    "no_nan": append(finite), "nan": append(nan),
    "inf": append([tf.constant([float("inf")])]),
}))
"""


@pytest.mark.slow
def test_the_predecessors_loss_scale_cases(python_child):
    cases = json.loads(python_child(STATE_MACHINE).stdout.splitlines()[-1])
    assert cases["steps_10"] == [8.0, 0]             # n clean steps counted: double, reset
    assert cases["steps_9"] == [4.0, 10]             # one more clean step counted
    assert cases["auto_off"] == [1, True, 4.0, 10]   # applied, scale untouched
    assert cases["not_chief"] == [1, True, 4.0, 10]
    assert cases["no_nan"] == [1, True, 8.0, 0]      # applied, 4 -> 8, reset
    assert cases["nan"] == [0, False, 2.0, 0]        # skipped, 4 -> 2, reset
    assert cases["inf"] == [0, False, 2.0, 0]


def _config(**values):
    return build_config(values, ALL_OPTIONS)


@pytest.mark.parametrize("flags, message", [
    ({"use_fp16": True, "precision": "bf16"}, "cannot be combined with --precision=bf16"),
    ({"fp16_vars": True}, "--fp16_vars stores variables in float16"),
    ({"precision": "bf16", "fp16_vars": True}, "needs --use_fp16"),
    ({"fp16_loss_scale": 8.0}, "loss scaling needs reduced precision"),
    ({"fp16_enable_auto_loss_scale": True}, "loss scaling needs reduced precision"),
    ({"use_fp16": True, "fp16_vars": True, "gradient_repacking": 2},
     "cannot be combined with --gradient_repacking"),
    ({"use_fp16": True, "fp16_vars": True, "variable_update": "replicated",
      "all_reduce_spec": "nccl"}, "cannot use an nccl"),
    ({"use_fp16": True, "fp16_enable_auto_loss_scale": True, "all_reduce_spec": "nccl"},
     "cannot be used with an nccl"),
    ({"use_fp16": True, "fp16_enable_auto_loss_scale": True,
      "variable_update": "distributed_replicated"}, "cannot be used with"),
])
def test_invalid_precision_flags_are_one_clear_error(flags, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        _config(device="cpu", **flags)


def test_precision_settings_from_the_flags():
    from cnnb.settings import precision_settings
    fp16 = precision_settings(_config(device="cpu", use_fp16=True))
    assert (fp16.name, fp16.compute_dtype, fp16.variable_dtype, fp16.loss_scale) == \
        ("fp16", "float16", "float32", 128.0)     # the predecessor's default scale
    bf16 = precision_settings(_config(device="cpu", precision="BF16"))
    assert (bf16.compute_dtype, bf16.scales_loss) == ("bfloat16", False)
    auto = precision_settings(_config(device="cpu", precision="fp16", fp16_vars=True,
                                      fp16_enable_auto_loss_scale=True,
                                      fp16_inc_loss_scale_every_n=5))
    assert (auto.variable_dtype, auto.auto_loss_scale, auto.inc_loss_scale_every_n) == \
        ("float16", True, 5)


def test_emulated_precision_is_one_note():
    assert precision_notes("bf16", "cpu", {"avx2", "fma"}) == [
        "bfloat16 is emulated on this CPU (no avx512_bf16/amx_bf16): expect it much slower "
        "than fp32"]
    assert precision_notes("bf16", "cpu", {"avx512_bf16"}) == []
    assert precision_notes("bf16", "gpu", set()) == []
    assert precision_notes("fp32", "cpu", set()) == []


def _losses(result) -> list[float]:
    return [float(m.group(1)) for m in map(LOSS.match, result.out_lines) if m]


TRIVIAL = ["run", "--model=trivial", "--batch_size=4", "--num_warmup_batches=0",
           "--display_every=1", "--device=cpu"]


@pytest.mark.slow
def test_reduced_precision_trains_with_every_manager(cnnb_batch, tmp_path):
    """A loss scale of 2^20 overflows float16 gradients at first: automatic
    scaling skips those updates and halves the scale (the run goes on, finite),
    whatever the manager; without it the inf updates ruin the model (exit 1)."""
    runs = [TRIVIAL + ["--num_batches=12", "--use_fp16", "--fp16_loss_scale=1048576",
                       "--fp16_enable_auto_loss_scale", f"--variable_update={manager}",
                       "--num_gpus=2", f"--result_json={tmp_path / manager}.json"]
            for manager in ("parameter_server", "replicated", "independent")]
    runs.append(TRIVIAL + ["--num_batches=4", "--use_fp16", "--fp16_loss_scale=1048576"])
    runs.append(TRIVIAL + ["--num_batches=4", "--use_fp16", "--fp16_vars",
                           "--optimizer=momentum"])
    runs.append(TRIVIAL + ["--num_batches=4", "--precision=bf16", "--gradient_clip=1"])
    results = cnnb_batch(runs)
    for result in results[:3] + results[4:]:
        assert result.code == 0, result
        assert all(math.isfinite(loss) for loss in _losses(result)), result
        assert len(_losses(result)) == int(result.args[6].split("=")[1]), result
    assert results[3].code == 1, results[3]
    assert "the model diverged" in results[3].err, results[3]
    for manager in ("parameter_server", "replicated", "independent"):
        measured = json.loads((tmp_path / f"{manager}.json").read_text())["measurements"]
        assert measured["loss_scale"] < 2 ** 20 and measured["skipped_updates"] >= 0, measured


def _measured(path) -> dict:
    return json.loads(path.read_text())["measurements"]


@pytest.mark.slow
def test_the_automatic_loss_scale_is_checkpointed(cnnb_batch, python_child, tmp_path):
    """A resumed run goes on from the scale it had (the predecessor saved it as a
    variable), not from --fp16_loss_scale again: warm-up halves 2^20 until the
    float16 gradients fit, and the resumed run starts there."""
    auto = TRIVIAL[:3] + TRIVIAL[4:] + ["--use_fp16", "--fp16_loss_scale=1048576",
                                        "--fp16_enable_auto_loss_scale",
                                        f"--train_dir={tmp_path / 'train'}"]
    first, resumed, fixed = cnnb_batch([
        auto + ["--num_warmup_batches=8", "--num_batches=4", f"--result_json={tmp_path}/1.json"],
        auto + ["--num_warmup_batches=0", "--num_batches=13",      # 8 + 4 done, one more
                f"--result_json={tmp_path}/2.json", "--summary_verbosity=1",
                "--save_summaries_steps=1"],
        TRIVIAL + ["--num_batches=2", "--use_fp16", "--fp16_loss_scale=64",
                   f"--result_json={tmp_path}/3.json"]])
    assert first.code == 0 and resumed.code == 0 and fixed.code == 0, (first, resumed, fixed)
    assert "Restored" in resumed.out, resumed
    before, after = _measured(tmp_path / "1.json"), _measured(tmp_path / "2.json")
    assert before["loss_scale"] <= 2 ** 18, before         # halved at least twice
    assert after["loss_scale"] in (before["loss_scale"], before["loss_scale"] / 2), after
    summaries = json.loads(python_child(READ_SUMMARIES, str(tmp_path / "train")).stdout
                           .split("RESULT ", 1)[1])["train"]
    assert [13, "loss_scale", "scalars", after["loss_scale"]] in summaries, summaries
    assert _measured(tmp_path / "3.json")["loss_scale"] == 64.0
    assert _measured(tmp_path / "3.json")["skipped_updates"] is None


@pytest.mark.slow
def test_fp16_and_bf16_losses_fall_on_learnable_data(cnnb, cnnb_batch, tmp_path):
    """The acceptance runs: ResNet-20 on learnable fake CIFAR-10, 50 steps in
    float16 (automatic loss scaling) and bfloat16, finite losses whose last ten
    average below the first ten; bf16 with --xla_compile on the trivial model."""
    data = tmp_path / "cifar10"
    made = cnnb("data", "fake", "--format=cifar10", f"--out={data}", "--num_train=512",
                "--num_validation=8")
    assert made.code == 0, made
    common = [f"--data_dir={data}", "--batch_size=8", "--num_batches=50",
              "--num_warmup_batches=0", "--display_every=1", "--device=cpu"]
    resnet20 = ["run", "--model=resnet20", "--init_learning_rate=0.02", *common]
    trivial = ["run", "--model=trivial", "--init_learning_rate=0.001", *common]
    # --xla_compile reads the data outside the compiled step (XLA has no IteratorGetNext)
    for result in cnnb_batch([resnet20 + ["--use_fp16", "--fp16_enable_auto_loss_scale"],
                              resnet20 + ["--precision=bf16"],
                              trivial + ["--precision=bf16", "--xla_compile"]]):
        assert result.code == 0, result
        losses = _losses(result)
        assert len(losses) == 50 and all(map(math.isfinite, losses)), result
        assert sum(losses[-10:]) < sum(losses[:10]), result
