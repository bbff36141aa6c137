"""Learning-rate schedules and batch/epoch planning, against the predecessor's
worked examples (predecessor.md §1 ResNet schedule, §5, §7 testLearningRate*
and testNumBatchesAndEpochs). Pure Python: no TensorFlow."""

from __future__ import annotations

import pytest

from cnnb.config import build_config
from cnnb.errors import ConfigError
from cnnb.learning_rate import ScheduleContext
from cnnb.learning_rate import make_schedule as make_schedule_from_settings
from cnnb.option_table import ALL_OPTIONS
from cnnb.planning import batches_and_epochs
from cnnb.plugins.models.resnet import IMAGENET as RESNETS
from cnnb.plugins.models.simple import IMAGENET as SIMPLE
from cnnb.plugins.variable_managers import MANAGERS
from cnnb.settings import ScheduleSettings

IMAGENET_TRAIN = 1281167
DEFAULTS = {option.name: option.default for option in ALL_OPTIONS}


def config(**flags):
    """A validated config, as ``cnnb run`` builds it on this (GPU-less) machine."""
    return build_config(flags, ALL_OPTIONS)


def raw_config(**flags):
    """Flag values without the cross-option rules, for multi-GPU cases the rules
    do not allow yet; ``make_schedule`` only reads values."""
    return {**DEFAULTS, **flags}


def make_schedule(flags, model, batch_size: int, train_examples: int):
    """The schedule of a run with these flag values, as planning translates
    them: the learning-rate flags as settings, the device count and the
    variable manager's declared gradient reduction as the model's context."""
    settings = ScheduleSettings(
        flags["piecewise_learning_rate_schedule"], flags["init_learning_rate"],
        flags["num_epochs_per_decay"], flags["learning_rate_decay_factor"],
        flags["minimum_learning_rate"], flags["num_learning_rate_warmup_epochs"])
    reduction = MANAGERS[flags["variable_update"]][2]["gradient_reduction"]
    options = {name: flags[name] for name in model.run_options}
    context = ScheduleContext(flags["num_gpus"], reduction, train_examples, options)
    return make_schedule_from_settings(settings, model, batch_size, context)


def assert_rates(schedule, expected: dict):
    got = {step: schedule(int(step)) for step in expected}
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_resnet50_schedule_bs256_one_gpu():
    schedule = make_schedule(config(), RESNETS["resnet50"], 256, IMAGENET_TRAIN)
    assert_rates(schedule, {0: 0, 150136: .128, 150137: .0128, 300273: .0128, 300274: .00128,
                            1e7: 1.28e-5})


def test_resnet_schedule_warms_up_linearly_over_five_epochs():
    schedule = make_schedule(config(), RESNETS["resnet50"], 256, IMAGENET_TRAIN)
    warmup = int(IMAGENET_TRAIN / 256 * 5)          # 25022 steps
    assert schedule(warmup // 2) == pytest.approx(.128 * (warmup // 2) / warmup)
    assert schedule(warmup - 1) < .128 <= schedule(warmup)


@pytest.mark.parametrize("num_gpus, variable_update, total_batch, base_lr, expected", [
    (1, "parameter_server", 128, None, .064),
    (8, "replicated", 2048, None, .128),
    (2, "parameter_server", 512, None, .256),
    (2, "replicated", 13, None, .00325),
    (1, "parameter_server", 256, .05, .05),
])
def test_resnet_scaled_learning_rate_table(num_gpus, variable_update, total_batch, base_lr,
                                           expected):
    flags = raw_config(num_gpus=num_gpus, variable_update=variable_update,
                       resnet_base_lr=base_lr)
    schedule = make_schedule(flags, RESNETS["resnet50"], total_batch, IMAGENET_TRAIN)
    after_warmup = int(IMAGENET_TRAIN / total_batch * 10)      # epoch 10: full scaled rate
    assert schedule(after_warmup) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("name", sorted(RESNETS))
def test_every_resnet_variant_uses_the_resnet_schedule(name):
    schedule = make_schedule(config(), RESNETS[name], 256, IMAGENET_TRAIN)
    assert schedule(0) == 0 and schedule(100000) == pytest.approx(.128)


def test_models_without_schedule_use_their_constant_rate():
    schedule = make_schedule(config(), SIMPLE["trivial"], 32, IMAGENET_TRAIN)
    assert {schedule(0), schedule(10**7)} == {0.005}


def test_init_learning_rate_alone_is_constant():
    schedule = make_schedule(config(init_learning_rate=1.0), RESNETS["resnet50"], 256,
                             IMAGENET_TRAIN)
    assert_rates(schedule, {0: 1, 1e7: 1})


def test_warmup_with_init_learning_rate():
    flags = config(init_learning_rate=1.0, num_learning_rate_warmup_epochs=5)
    schedule = make_schedule(flags, RESNETS["resnet50"], 256, IMAGENET_TRAIN)
    assert_rates(schedule, {0: 0, 12511: .5, 25022: 1, 1e7: 1})


def test_staircase_decay_with_minimum():
    flags = config(init_learning_rate=1.0, num_epochs_per_decay=2,
                   learning_rate_decay_factor=.5, minimum_learning_rate=.375)
    schedule = make_schedule(flags, SIMPLE["trivial"], 32, IMAGENET_TRAIN)
    assert_rates(schedule, {0: 1, 80071: 1, 80072: .5, 160143: .5, 160144: .375})


def test_decay_factor_without_epochs_is_an_error():
    with pytest.raises(ValueError):
        config(init_learning_rate=1.0, learning_rate_decay_factor=.5)


def test_piecewise_schedule():
    flags = config(piecewise_learning_rate_schedule="1;3;.1;5;.01")
    schedule = make_schedule(flags, SIMPLE["trivial"], 32, IMAGENET_TRAIN)
    assert_rates(schedule, {0: 1, 120108: 1, 120109: .1, 200181: .1, 200182: .01, 1e8: .01})


def test_piecewise_schedule_with_warmup_ramps_to_its_first_rate():
    flags = config(piecewise_learning_rate_schedule="2;3;.1",
                   num_learning_rate_warmup_epochs=1)
    schedule = make_schedule(flags, SIMPLE["trivial"], 32, IMAGENET_TRAIN)
    warmup = int(IMAGENET_TRAIN / 32)
    assert schedule(0) == 0
    assert schedule(warmup // 2) == pytest.approx(2 * (warmup // 2) / warmup)
    assert schedule(warmup) == 2


@pytest.mark.parametrize("num_batches, num_epochs, batch, examples, expected", [
    (None, None, 10, 100, (100, 10.0)),
    (21, None, 25, 50, (21, 10.5)),
    (None, 3, 2, 3, (5, 10 / 3)),
    (None, 4, 2, 3, (6, 4.0)),
])
def test_batches_and_epochs(num_batches, num_epochs, batch, examples, expected):
    got = batches_and_epochs(num_batches, num_epochs, batch, examples)
    assert got[0] == expected[0]
    assert got[1] == pytest.approx(expected[1])


def test_batches_and_epochs_together_is_an_error():
    with pytest.raises(ConfigError):
        batches_and_epochs(10, 1.0, 2, 100)
