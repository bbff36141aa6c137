"""Learning-rate schedules as plain functions of the global step.

The engine evaluates the schedule in Python before each step and feeds the
rate in as a scalar, so these functions are the whole story and are tested
against the predecessor's worked examples without TensorFlow. Priority, as in
the predecessor: ``--piecewise_learning_rate_schedule``, then
``--init_learning_rate`` (with optional staircase decay and floor), then the
model's own rate or schedule; warm-up applies to the first two.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from cnnb.rules import parse_piecewise_schedule


@dataclasses.dataclass(frozen=True)
class ScheduleContext:
    """What a model's schedule may depend on besides the step and batch."""

    config: Any
    num_gpus: int
    variable_update: str
    train_examples: int


def make_schedule(config, model, batch_size: int, train_examples: int) -> Callable[[int], float]:
    """``step -> learning rate`` for this run; ``batch_size`` is images per global step."""
    per_epoch = train_examples / batch_size
    if config["piecewise_learning_rate_schedule"]:
        rates, epochs = parse_piecewise_schedule(config["piecewise_learning_rate_schedule"])
        boundaries = [int(e * per_epoch) - 1 for e in epochs]
        base = _piecewise(boundaries, rates)
        initial = rates[0]
    elif config["init_learning_rate"] is not None:
        base = _decayed(config, per_epoch)
        initial = config["init_learning_rate"]
    else:
        context = ScheduleContext(config, config["num_gpus"], config["variable_update"],
                                  train_examples)
        return lambda step: model.learning_rate_at(step, batch_size, context)
    warmup_steps = int(per_epoch * config["num_learning_rate_warmup_epochs"])
    if warmup_steps <= 0:
        return base
    return lambda step: initial * step / warmup_steps if step < warmup_steps else base(step)


def _piecewise(boundaries: list[int], rates: list[float]) -> Callable[[int], float]:
    """rates[i] while step <= boundaries[i] (tf.train.piecewise_constant's rule)."""
    def rate(step: int) -> float:
        for boundary, value in zip(boundaries, rates):
            if step <= boundary:
                return value
        return rates[-1]
    return rate


def _decayed(config, per_epoch: float) -> Callable[[int], float]:
    initial = config["init_learning_rate"]
    if not config["num_epochs_per_decay"]:
        return lambda step: initial
    decay_steps = int(per_epoch * config["num_epochs_per_decay"])
    factor, floor = config["learning_rate_decay_factor"], config["minimum_learning_rate"]
    return lambda step: max(initial * factor ** (step // decay_steps), floor)
