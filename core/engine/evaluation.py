"""Evaluation: forward passes over validation batches, printing the predecessor's
lines; alone (``--eval``, from checkpoints) or between training steps."""

from __future__ import annotations

import dataclasses
import time

import tensorflow as tf

from cnnb import console
from cnnb.engine.checkpoints import (CheckpointError, Checkpoints, Search, find_checkpoint,
                                     warn)
from cnnb.engine.inputs import make_inputs
from cnnb.engine.summaries import Summaries


@dataclasses.dataclass
class EvalResult:
    """One evaluation: accuracies are means over batches of each batch's accuracy."""

    global_step: int
    top_1: float
    top_5: float
    examples: int
    elapsed: float
    step_times: list

    @property
    def images_per_sec(self) -> float:
        return self.examples / self.elapsed if self.elapsed > 0 else 0.0


class Evaluator:
    """The evaluation step and its validation input; ``run`` evaluates once."""

    def __init__(self, plan, manager, log, summaries: Summaries | None = None):
        from cnnb.engine.step import make_forward_step
        self.plan, self.log, self.summaries = plan, log, summaries
        inputs = make_inputs(plan, "validation", plan.eval_batch_size_per_device, training=False,
                             num_batches=plan.num_eval_batches)
        self.step = make_forward_step(manager, inputs, plan.settings.step)
        if plan.synthetic:
            log(SYNTHETIC_NOTE)

    def run(self, global_step: int, stop=None) -> EvalResult:
        plan = self.plan
        batch, display = plan.eval_batch_size, plan.settings.evaluation.display_every
        no_rate = tf.constant(0.0, tf.float32)
        top_1 = top_5 = 0.0
        times: list[float] = []
        start = shown = time.perf_counter()
        for index in range(plan.num_eval_batches):
            began = time.perf_counter()
            outputs = self.step(no_rate)
            top_1, top_5 = top_1 + float(outputs["top_1"]), top_5 + float(outputs["top_5"])
            times.append(time.perf_counter() - began)
            if (index + 1) % display == 0:
                now = time.perf_counter()
                self.log(console.eval_rate_line(index + 1, batch * display / (now - shown)))
                shown = now
            if stop is not None and stop.requested:
                break
        count = len(times)
        result = EvalResult(global_step, top_1 / count, top_5 / count, count * batch,
                            time.perf_counter() - start, times)
        self.log(console.accuracy_line(result.top_1, result.top_5, result.examples))
        if self.summaries is not None:
            self.summaries.evaluation(global_step, result.top_1, result.top_5)
        return result


SYNTHETIC_NOTE = ("Note: no --data_dir, so evaluation runs on synthetic images and its "
                  "accuracy means nothing; give --data_dir to measure it.")


def run_eval_mode(plan, manager, log, stop) -> EvalResult | None:
    """``--eval``: evaluate the newest readable checkpoint of --train_dir once
    (none there is an error: exit 0 would pass for a measurement in scripts),
    or with --eval_interval_secs every new one until interrupted (waiting for
    the first one is then fine)."""
    train_dir = plan.settings.checkpoint.train_dir
    interval = plan.settings.evaluation.interval_secs
    search, problem = _look(train_dir, waits=interval > 0)
    if search.path is None and interval <= 0:
        raise CheckpointError(
            f"Checkpoint not found in {train_dir}: --eval needs --train_dir to be a directory "
            "holding model.ckpt-N checkpoints (train with --train_dir first) or one "
            "checkpoint's path.")
    checkpoints = Checkpoints(manager, None, with_optimizer=False)
    summary = plan.settings.summary
    summaries = Summaries(summary.eval_dir, summary.verbosity, 1) if summary.verbosity else None
    evaluator = Evaluator(plan, manager, log, summaries)
    last_path, last_problem, result = None, None, None
    while not stop.requested:
        if problem and problem != last_problem:        # once, not at every interval
            warn(problem)
        last_problem = problem
        if search.path is None:
            log(f"Checkpoint not found in {train_dir}")
        elif search.path != last_path:
            result = _evaluate_checkpoint(search.path, checkpoints, evaluator, log, stop)
            last_path = search.path
        if interval <= 0 or stop.wait(interval):
            break
        search, problem = _look(train_dir, waits=True)
    return result


def _look(train_dir: str, waits: bool) -> tuple[Search, str | None]:
    """(newest readable checkpoint, a warning about what was skipped). While
    waiting for checkpoints, none readable yet (perhaps one being written) is
    a warning, not an error."""
    try:
        search = find_checkpoint(train_dir)
    except CheckpointError as error:
        if not waits:
            raise
        return Search(None), str(error)
    return search, search.warning(train_dir)


def _evaluate_checkpoint(path: str, checkpoints, evaluator, log, stop) -> EvalResult:
    global_step = checkpoints.restore(path)
    log(f"Evaluating {path} (global_step {global_step})")
    result = evaluator.run(global_step, stop)
    for line in console.total_lines(result.images_per_sec):
        log(line)
    return result
