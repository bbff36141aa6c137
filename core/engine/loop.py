"""Warm-up and timed loop, printing the predecessor's lines as it goes.

Between timed steps the loop calls the run's *step events* (checkpoint saves,
summaries, evaluation during training); their time counts in the run's
elapsed time but never in a step's time. A stop request (Ctrl-C, SIGTERM) or
an event's reason to stop (an accuracy target reached) ends the loop after
the current step. A NaN or infinite loss ends it too (the model diverged:
later steps would time garbage), unless ``allow_nonfinite_loss`` is set.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Protocol

import tensorflow as tf

from cnnb import console, progress
from cnnb.timing import StepStats, perf_timing


class StepEvent(Protocol):
    def __call__(self, local_step: int, global_step: int, values: dict) -> str | None:
        """After timed step ``local_step`` (1-based) at ``global_step``; ``values``
        holds learning_rate, loss, top_1, top_5 (floats or None) and, when
        the loss is scaled, loss_scale. Returns a
        reason to stop training, or None."""


class LoopResult:
    """What the timed loop measured. ``interrupted``: a signal stopped it early;
    ``stop_reason``: why training ended early (an event such as the accuracy
    target, or the loss diverging); ``diverged``: the loss became NaN or inf."""

    def __init__(self, global_step: int = 0):
        self.step_times: list[float] = []
        self.losses: list[float] = []
        self.accuracy: tuple[float, float] | None = None
        self.elapsed = 0.0
        self.interrupted = False
        self.stop_reason: str | None = None
        self.global_step = global_step
        self.diverged = False
        self.loss_scale: float | None = None      # after the last step, when the loss is scaled
        self.skipped_updates: int | None = None   # by automatic loss scaling (None: not on)


def warm_up(step, schedule, count: int, log, first_global_step: int = 0, stop=None,
            allow_nonfinite_loss: bool = False) -> tuple[int, str | None]:
    """Untimed steps; they advance the global step, as in the predecessor.
    Returns the global step after them, and why they diverged (or None)."""
    log("Running warm up")
    done = 0
    with progress.phase("Tracing and compiling the step (first warm-up step)", count) as shown:
        while done < count and not (stop is not None and stop.requested):
            loss = float(step(tf.constant(schedule(first_global_step + done), tf.float32))["loss"])
            done += 1
            shown.describe("Warm-up")
            shown.advance()
            if not (allow_nonfinite_loss or math.isfinite(loss)):
                return first_global_step + done, divergence(loss, first_global_step + done)
    log("Done warm up")
    return first_global_step + done, None


def divergence(loss: float, global_step: int) -> str:
    """The one line a diverged run ends with."""
    return (f"the loss became {loss} at global_step {global_step} (warm-up included): the model "
            "diverged; lower the learning rate, or pass --allow_nonfinite_loss to keep timing.")


def timed_loop(step, schedule, plan, first_global_step: int, hook, log,
               num_steps: int | None = None, events: tuple[StepEvent, ...] = (),
               stop=None) -> LoopResult:
    """``num_steps`` timed steps (default ``plan.num_batches``) from ``first_global_step``."""
    settings, result = plan.settings.loop, LoopResult(first_global_step)
    show_accuracy = settings.show_accuracy
    log(console.header(settings.loss_name, show_accuracy))
    start = time.perf_counter()
    for index in range(plan.num_batches if num_steps is None else num_steps):
        if stop is not None and stop.requested:
            result.interrupted, result.stop_reason = True, stop.name
            log(f"Interrupted ({stop.name}) after {len(result.step_times)} timed steps, at "
                f"global_step {result.global_step}.")
            break
        values = _timed_step(step, schedule, result, show_accuracy)
        _report(index + 1, result, plan, hook, log)
        if not (settings.allow_nonfinite_loss or math.isfinite(values["loss"])):
            result.diverged = True
            result.stop_reason = divergence(values["loss"], result.global_step)
            break
        result.stop_reason = _run_events(events, index + 1, result.global_step, values)
        if result.stop_reason:
            break
    result.elapsed = time.perf_counter() - start
    return result


def _timed_step(step, schedule, result: LoopResult, show_accuracy: bool) -> dict:
    rate = schedule(result.global_step)
    began = time.perf_counter()
    outputs = step(tf.constant(rate, tf.float32))
    loss = float(outputs["loss"])              # waits for the step to finish
    result.step_times.append(time.perf_counter() - began)
    result.losses.append(loss)
    result.global_step += 1
    if show_accuracy:
        result.accuracy = (float(outputs["top_1"]), float(outputs["top_5"]))
    top_1, top_5 = result.accuracy or (None, None)
    values = {"learning_rate": rate, "loss": loss, "top_1": top_1, "top_5": top_5}
    if "loss_scale" in outputs:
        _note_loss_scale(result, outputs, values)
    return values


def _note_loss_scale(result: LoopResult, outputs: dict, values: dict) -> None:
    """The scale after the step (for summaries and the record), and whether
    automatic scaling skipped the step's update."""
    result.loss_scale = values["loss_scale"] = float(outputs["loss_scale"])
    if "update_applied" in outputs:
        skipped = not bool(outputs["update_applied"])
        result.skipped_updates = (result.skipped_updates or 0) + skipped


def _run_events(events, local_step: int, global_step: int, values: dict) -> str | None:
    reason = None
    for event in events:
        reason = event(local_step, global_step, values) or reason
    return reason


def _report(number: int, result: LoopResult, plan, hook, log) -> None:
    settings = plan.settings.loop
    display = console.is_display_step(number, settings.display_every)
    if not display and not hook.get_hookimpls():
        return
    timing = perf_timing(plan.batch_size, result.step_times, settings.display_perf_ewma)
    if display:
        log(console.step_line(number, timing, result.losses[-1], result.accuracy))
    accuracy = result.accuracy or (None, None)
    hook(step=number, stats=StepStats(number, result.step_times[-1], result.losses[-1], timing,
                                      accuracy[0], accuracy[1]))


def every_steps(period: int | None, action: Callable[[int], None]) -> StepEvent:
    """An event running ``action(global_step)`` every ``period`` timed steps."""
    def event(local_step: int, global_step: int, values: dict) -> None:
        if period and local_step % period == 0:
            action(global_step)
    return event


def every_seconds(period: float, action: Callable[[int], None]) -> StepEvent:
    """An event running ``action(global_step)`` once ``period`` seconds have passed."""
    last = [time.monotonic()]

    def event(local_step: int, global_step: int, values: dict) -> None:
        if time.monotonic() - last[0] >= period:
            action(global_step)
            last[0] = time.monotonic()
    return event
