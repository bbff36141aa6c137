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
from collections.abc import Mapping
from typing import Any, Callable

from cnnb.rules import parse_piecewise_schedule
from cnnb.settings import ScheduleSettings


@dataclasses.dataclass(frozen=True)
class ScheduleContext:
    """What a model's own schedule may depend on besides the step and batch.

    :ivar num_devices: towers of the run.
    :ivar gradient_reduction: the variable manager's (``mean``, ``sum``,
        ``none``; see :class:`cnnb.replication.Capabilities`). With ``sum``
        a step moves N times further, which a schedule may compensate.
    :ivar train_examples: examples in the training set actually used.
    :ivar options: values of the run options the model declared it reads
        (``BuilderModel.run_options``).
    """

    num_devices: int = 1
    gradient_reduction: str = "mean"
    train_examples: int = 0
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def gradients_summed(self) -> bool:
        return self.gradient_reduction == "sum"


def schedule_context(plan) -> ScheduleContext:
    """The context of ``plan``'s model schedule (options: only those it declared)."""
    names = getattr(plan.model, "run_options", ())
    return ScheduleContext(len(plan.devices), plan.capabilities.gradient_reduction,
                           plan.dataset.train_examples,
                           {name: plan.config[name] for name in names if name in plan.config})


def make_schedule(settings: ScheduleSettings, model, batch_size: int,
                  context: ScheduleContext) -> Callable[[int], float]:
    """``step -> learning rate``; ``batch_size`` is images per global step."""
    per_epoch = context.train_examples / batch_size
    if settings.piecewise:
        rates, epochs = parse_piecewise_schedule(settings.piecewise)
        boundaries = [int(e * per_epoch) - 1 for e in epochs]
        base = _piecewise(boundaries, rates)
        initial = rates[0]
    elif settings.init_learning_rate is not None:
        base = _decayed(settings, per_epoch)
        initial = settings.init_learning_rate
    else:
        return lambda step: model.learning_rate_at(step, batch_size, context)
    warmup_steps = int(per_epoch * settings.warmup_epochs)
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


def _decayed(settings: ScheduleSettings, per_epoch: float) -> Callable[[int], float]:
    initial = settings.init_learning_rate
    if not settings.num_epochs_per_decay:
        return lambda step: initial
    decay_steps = int(per_epoch * settings.num_epochs_per_decay)
    factor, floor = settings.decay_factor, settings.minimum_learning_rate
    return lambda step: max(initial * factor ** (step // decay_steps), floor)
