"""Evaluation: forward passes over validation batches, printing the predecessor's
lines; alone (``--eval``, from checkpoints) or between training steps."""

from __future__ import annotations

import dataclasses
import time

import tensorflow as tf

from cnnb import console
from cnnb.engine.checkpoints import Checkpoints, find_checkpoint
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
        self.step = make_forward_step(manager, inputs, plan.config)

    def run(self, global_step: int, stop=None) -> EvalResult:
        plan = self.plan
        batch, display = plan.eval_batch_size, plan.config.display_every
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


def run_eval_mode(plan, manager, log, stop) -> EvalResult | None:
    """``--eval``: evaluate the checkpoint of --train_dir once, or with
    --eval_interval_secs every new checkpoint until interrupted."""
    config = plan.config
    checkpoints = Checkpoints(manager, None, with_optimizer=False)
    summaries = None
    if config.summary_verbosity:
        summaries = Summaries(config.eval_dir, config.summary_verbosity, 1)
    evaluator = Evaluator(plan, manager, log, summaries)
    last_path, result = None, None
    while not stop.requested:
        path = find_checkpoint(config.train_dir)
        if path is None:
            log(f"Checkpoint not found in {config.train_dir}")
        elif path != last_path:
            global_step = checkpoints.restore(path)
            log(f"Evaluating {path} (global_step {global_step})")
            result = evaluator.run(global_step, stop)
            for line in console.total_lines(result.images_per_sec):
                log(line)
            last_path = path
        if config.eval_interval_secs <= 0 or stop.wait(config.eval_interval_secs):
            break
    return result
