"""Per-model defaults and learning-rate schedules of the model zoo (predecessor.md §1):
image sizes, default batch sizes, constant rates, and the CIFAR ResNet, AlexNet-CIFAR
and DenseNet schedules at their worked boundaries. Pure Python: no TensorFlow."""

from __future__ import annotations

import pytest

from cnnb.config import build_config
from cnnb.learning_rate import ScheduleContext, make_schedule, schedule_context
from cnnb.settings import settings_from_flags
from cnnb.option_table import ALL_OPTIONS
from cnnb.planning import plan_run
from cnnb.pluginmanager import load_plugins

CIFAR_TRAIN = 50000

# predecessor.md §1: (image size, default batch per device, constant rate or None)
IMAGENET_DEFAULTS = {
    "googlenet": (224, 32, 0.005), "overfeat": (231, 32, 0.005),
    "inception3": (299, 32, 0.005), "inception4": (299, 32, 0.005),
    "mobilenet": (224, 32, 0.005), "nasnet": (224, 32, 0.005),
    "nasnetlarge": (331, 16, 0.005), "resnet50_v2": (224, 64, None),
    "resnet101_v2": (224, 32, None), "resnet152_v2": (224, 32, None),
}
CIFAR_DEFAULTS = {
    "alexnet": (32, 128, None), "trivial": (32, 32, 0.005), "nasnet": (32, 32, 0.025),
    **{f"resnet{n}{v}": (32, 128, None) for n in (20, 32, 44, 56, 110) for v in ("", "_v2")},
    **{name: (32, 64, None) for name in ("densenet40_k12", "densenet100_k12",
                                          "densenet100_k24")},
}


@pytest.fixture(scope="module")
def plugins():
    return load_plugins()


def model(plugins, name, scope):
    return plugins.registry("model").get(name, scope).load()


def config(**flags):
    return build_config(flags, ALL_OPTIONS)


def schedule_of(plugins, name, batch, scope="cifar10", **flags):
    """The model's schedule as a one-device run with these flags gets it."""
    settings = settings_from_flags(config(model=name, **flags)).schedule
    return make_schedule(settings, model(plugins, name, scope), batch,
                         ScheduleContext(train_examples=CIFAR_TRAIN))


def assert_rates(schedule, expected: dict):
    got = {step: schedule(step) for step in expected}
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("scope, defaults", [("imagenet", IMAGENET_DEFAULTS),
                                             ("cifar10", CIFAR_DEFAULTS)])
def test_models_have_the_predecessors_defaults(plugins, scope, defaults):
    for name, (size, batch, rate) in defaults.items():
        spec = model(plugins, name, scope)
        assert (spec.image_size, spec.default_batch_size) == (size, batch), name
        if rate is not None:
            assert spec.schedule is None and spec.learning_rate == rate, name
        else:
            assert spec.schedule is not None, name


def test_nasnetlarge_reports_the_predecessors_model_name(plugins):
    assert model(plugins, "nasnetlarge", "imagenet").display_name == "nasnet"


@pytest.mark.parametrize("name", ["resnet20", "resnet56_v2", "resnet110"])
def test_cifar_resnet_schedule_at_batch_128(plugins, name):
    # an epoch is int(50000 / 128) = 390 steps: boundaries 31980, 47970, 117000
    assert_rates(schedule_of(plugins, name, 128),
                 {0: 0.1, 31980: 0.1, 31981: 0.01, 47970: 0.01, 47971: 0.001, 117000: 0.001,
                  117001: 0.0002, 10**8: 0.0002})


def test_cifar_resnet_schedule_follows_the_batch_size(plugins):
    # batch 32: an epoch is 1562 steps, so the first boundary is 82 * 1562 = 128084
    assert_rates(schedule_of(plugins, "resnet20", 32), {128084: 0.1, 128085: 0.01})


def test_densenet_schedule_at_batch_64(plugins):
    # an epoch is int(50000 / 64) = 781 steps: boundaries 117150, 175725, 234300
    for name in ("densenet40_k12", "densenet100_k24"):
        assert_rates(schedule_of(plugins, name, 64),
                     {0: 0.1, 117150: 0.1, 117151: 0.01, 175725: 0.01, 175726: 0.001,
                      234300: 0.001, 234301: 0.0001})


def test_alexnet_cifar_decays_tenfold_every_100_epochs(plugins):
    # decay steps int(100 * 50000 / 128) = 39062, staircase
    assert_rates(schedule_of(plugins, "alexnet", 128),
                 {0: 0.1, 39061: 0.1, 39062: 0.01, 78123: 0.01, 78124: 0.001})


def test_imagenet_alexnet_keeps_its_constant_rate(plugins):
    assert_rates(schedule_of(plugins, "alexnet", 512, scope="imagenet"), {0: 0.005, 10**6: 0.005})


def test_explicit_learning_rate_flags_override_the_model_schedule(plugins):
    schedule = schedule_of(plugins, "resnet20", 128, init_learning_rate=0.5)
    assert_rates(schedule, {0: 0.5, 117001: 0.5})


@pytest.mark.parametrize("data_name, size, batch, first_rate", [
    ("cifar10", 32, 128, 0.1), ("imagenet", 227, 512, 0.005), (None, 227, 512, 0.005)])
def test_the_dataset_chooses_the_model_variant(plugins, data_name, size, batch, first_rate):
    flags = {"model": "alexnet", **({"data_name": data_name} if data_name else {})}
    plan = plan_run(config(**flags), plugins)
    assert (plan.image_size, plan.batch_size_per_device) == (size, batch)
    schedule = make_schedule(plan.settings.schedule, plan.model, plan.batch_size,
                             schedule_context(plan))
    assert schedule(0) == pytest.approx(first_rate)


@pytest.mark.parametrize("name", ["resnet20_v2", "densenet100_k12", "nasnet", "trivial"])
def test_cifar_only_names_resolve_with_cifar10(plugins, name):
    plan = plan_run(config(model=name, data_name="cifar10", batch_size=2), plugins)
    assert plan.model.image_size == 32 and plan.image_size == 32
    assert plan.model_entry.scope == "cifar10"
