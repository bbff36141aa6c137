"""Warm-up and timed loop, printing the predecessor's lines as it goes."""

from __future__ import annotations

import time

import tensorflow as tf

from cnnb import console
from cnnb.timing import StepStats, perf_timing


class LoopResult:
    """What the timed loop measured; ``interrupted`` when Ctrl-C stopped it early."""

    def __init__(self):
        self.step_times: list[float] = []
        self.losses: list[float] = []
        self.accuracy: tuple[float, float] | None = None
        self.elapsed = 0.0
        self.interrupted = False


def warm_up(step, schedule, count: int, log) -> int:
    """Untimed steps; they advance the global step, as in the predecessor."""
    log("Running warm up")
    for global_step in range(count):
        float(step(tf.constant(schedule(global_step), tf.float32))["loss"])
    log("Done warm up")
    return count


def timed_loop(step, schedule, plan, first_global_step: int, hook, log) -> LoopResult:
    config, result = plan.config, LoopResult()
    show_accuracy = console.shows_accuracy(config)
    log(console.header(config))
    start = time.perf_counter()
    try:
        for index in range(plan.num_batches):
            lr = tf.constant(schedule(first_global_step + index), tf.float32)
            began = time.perf_counter()
            outputs = step(lr)
            loss = float(outputs["loss"])              # waits for the step to finish
            result.step_times.append(time.perf_counter() - began)
            result.losses.append(loss)
            if show_accuracy:
                result.accuracy = (float(outputs["top_1"]), float(outputs["top_5"]))
            _report(index + 1, result, plan, hook, log)
    except KeyboardInterrupt:
        result.interrupted = True
        log(f"Interrupted after {len(result.step_times)} timed steps; reporting those.")
    result.elapsed = time.perf_counter() - start
    return result


def _report(number: int, result: LoopResult, plan, hook, log) -> None:
    config = plan.config
    display = console.is_display_step(number, config.display_every)
    if not display and not hook.get_hookimpls():
        return
    timing = perf_timing(plan.batch_size, result.step_times, config.display_perf_ewma)
    if display:
        log(console.step_line(number, timing, result.losses[-1], result.accuracy))
    accuracy = result.accuracy or (None, None)
    hook(step=number, stats=StepStats(number, result.step_times[-1], result.losses[-1], timing,
                                      accuracy[0], accuracy[1]))
