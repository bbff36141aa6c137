"""Run one benchmark from a plan: build, restore, warm up, time, evaluate, save, report.

Modes (predecessor.md §5): ``training`` and ``forward only`` time steps and
print ``total images/sec``; ``training + evaluation`` evaluates between steps
and ends with ``Done with training`` and a final evaluation; ``evaluation``
evaluates checkpoints (:mod:`cnnb.engine.evaluation`). With ``--train_dir``
training resumes from the latest checkpoint, continues its global step (warm-up
steps count, as in the predecessor) and saves ``model.ckpt-<global step>``.
"""

from __future__ import annotations

from cnnb import console, results
from cnnb.engine.tfsetup import configure, import_tensorflow
from cnnb.learning_rate import make_schedule
from cnnb.planning import EVALUATION, FORWARD_ONLY, TRAINING_AND_EVALUATION
from cnnb.timing import perf_timing

# Result-record keys of training state and evaluation.
GLOBAL_STEP = "global_step"
CHECKPOINT = "checkpoint"
STOP_REASON = "stop_reason"
EVAL_TOP_1 = "eval_top_1_accuracy"
EVAL_TOP_5 = "eval_top_5_accuracy"
EVAL_IMAGES_PER_SEC = "eval_images_per_sec"


def run_benchmark(plan, plugins, log=print) -> dict:
    """Run ``plan``; print the predecessor's lines; return the flat result record.

    Ctrl-C or SIGTERM ends the run after the current step; the checkpoint and
    the (partial) result record are still written.
    """
    tf = import_tensorflow()
    configure(plan.config)
    from cnnb.engine.inputs import reading_data
    from cnnb.engine.interrupts import StopRequest
    if plan.config.summary_verbosity:
        from cnnb.engine.summaries import require_tensorboard
        require_tensorboard()
    for line in console.info_block(plan, tf.__version__):
        log(line)
    plugins.hook.cnnb_run_start(config=plan.config, info=_info(plan))
    with StopRequest() as stop:
        with reading_data(plan):
            if plan.mode == EVALUATION:
                record = _evaluate(plan, log, stop, tf.__version__)
            else:
                record = _train(plan, plugins, log, stop, tf.__version__)
        plugins.hook.cnnb_run_end(result=record)
        if plan.config.result_json:
            results.write_json_atomic(plan.config.result_json, record)
    return record


def _train(plan, plugins, log, stop, tf_version: str) -> dict:
    from cnnb.engine.loop import timed_loop, warm_up
    log("Generating model" if plan.mode == FORWARD_ONLY else "Generating training model")
    training = _Training(plan, log, stop)
    restored = training.restore()
    num_steps = max(0, plan.num_batches - restored)
    if not num_steps:
        log(f"global_step {restored} already reaches --num_batches={plan.num_batches}; "
            "nothing to train.")
    schedule = make_schedule(plan.config, plan.model, plan.batch_size,
                             plan.dataset.train_examples)
    log("Initializing graph")
    global_step = warm_up(training.step, schedule, plan.num_warmup_batches if num_steps else 0,
                          log, restored, stop)
    loop = timed_loop(training.step, schedule, plan, global_step, plugins.hook.cnnb_step_end,
                      log, num_steps, training.events(num_steps), stop)
    training.finish(loop)
    record = _record(plan, loop, tf_version)
    record[CHECKPOINT] = training.saved
    if training.last_eval is not None:
        record.update({EVAL_TOP_1: training.last_eval.top_1, EVAL_TOP_5: training.last_eval.top_5,
                       EVAL_IMAGES_PER_SEC: training.last_eval.images_per_sec})
    return record


class _Training:
    """The pieces of one training (or forward-only) run and what happens
    between its steps: checkpoints, summaries, evaluation."""

    def __init__(self, plan, log, stop):
        from cnnb.engine.checkpoints import Checkpoints
        from cnnb.engine.evaluation import Evaluator
        from cnnb.engine.inputs import make_inputs
        from cnnb.engine.summaries import Summaries
        config = self.config = plan.config
        self.plan, self.log, self.stop = plan, log, stop
        forward_only = plan.mode == FORWARD_ONLY
        inputs = make_inputs(plan, "train", plan.batch_size_per_device, training=not forward_only)
        self.manager, self.step = _build_step(plan, inputs)
        self.checkpoints = Checkpoints(self.manager, None if forward_only else config.train_dir,
                                       config.max_ckpts_to_keep, with_optimizer=not forward_only)
        self.summaries = None if forward_only else Summaries.for_training(config, self.manager)
        self.evaluator = None
        if plan.mode == TRAINING_AND_EVALUATION:
            self.evaluator = Evaluator(plan, self.manager, log, self.summaries)
        self.last_eval, self.saved = None, None

    def restore(self) -> int:
        """The global step of the latest checkpoint in --train_dir (0: none)."""
        from cnnb.engine.checkpoints import find_checkpoint
        path = find_checkpoint(self.config.train_dir) if self.config.train_dir else None
        if path is None:
            return 0
        step = self.checkpoints.restore(path)
        self.log(f"Restored {path} (global_step {step})")
        return step

    def events(self, num_steps: int) -> tuple:
        from cnnb.engine.loop import every_seconds, every_steps
        config, events = self.config, []
        if self.checkpoints.keeper is not None and config.save_model_steps:
            events.append(every_steps(config.save_model_steps, self._save))
        elif self.checkpoints.keeper is not None and config.save_model_secs:
            events.append(every_seconds(config.save_model_secs, self._save))
        if self.summaries is not None:
            events.append(lambda local, global_step, values:
                          self.summaries.after_step(global_step, values))
        if self.evaluator is not None:
            events.append(lambda local, global_step, values:
                          self._evaluate(local, global_step, num_steps))
        return tuple(events)

    def _save(self, global_step: int) -> None:
        self.saved = self.checkpoints.save(global_step) or self.saved

    def _evaluate(self, local_step: int, global_step: int, num_steps: int) -> str | None:
        """Evaluation during training, when due and training is not done."""
        if local_step >= num_steps or not self.plan.eval_due(local_step):
            return None
        self.log(f"Running evaluation at global_step {global_step}")
        self.last_eval = self.evaluator.run(global_step, self.stop)
        target = self.config.stop_at_top_1_accuracy
        if target is not None and self.last_eval.top_1 >= target:
            self.log(f"Stopping, as eval accuracy at least {target} was reached")
            return f"eval accuracy at least {target} was reached"
        self.log("Resuming training")
        return None

    def finish(self, loop) -> None:
        """Totals or the final evaluation, then the last checkpoint."""
        if self.evaluator is not None:
            self.log("Done with training")
            if not loop.stop_reason and not loop.interrupted:
                self.log(f"Running final evaluation at global_step {loop.global_step}")
                self.last_eval = self.evaluator.run(loop.global_step, self.stop)
        elif loop.step_times:
            for line in console.total_lines(_images_per_sec(self.plan, loop)):
                self.log(line)
        self._save(loop.global_step)
        if loop.interrupted and self.checkpoints.keeper is not None:
            self.log(f"Saved {self.saved} before stopping.")
        if self.summaries is not None:
            self.summaries.close()


def _evaluate(plan, log, stop, tf_version: str) -> dict:
    from cnnb.engine.evaluation import run_eval_mode
    log("Generating model")
    evaluation = run_eval_mode(plan, _build_towers(plan), log, stop)
    record = _base_record(plan, tf_version)
    record[results.INTERRUPTED] = stop.requested
    if evaluation is not None:
        record.update({
            results.NUM_STEPS: len(evaluation.step_times),
            results.STEP_TIMES: evaluation.step_times, GLOBAL_STEP: evaluation.global_step,
            results.IMAGES_PER_SEC: evaluation.images_per_sec,
            results.TOP_1: evaluation.top_1, results.TOP_5: evaluation.top_5})
    return record


def _build_towers(plan):
    from cnnb.engine.network import make_network
    from cnnb.engine.variables import make_variable_manager
    config, dataset = plan.config, plan.dataset
    manager = make_variable_manager(plan)
    manager.create_towers(lambda device, index: make_network(
        plan.model, dataset.num_classes, plan.image_size, config.data_format, device,
        name_prefix=f"v{index}/"))
    return manager


def _build_step(plan, inputs):
    """(variable manager, step function) of a training or forward-only run."""
    from cnnb.engine.optimizers import make_optimizer
    from cnnb.engine.step import make_forward_step, make_train_step
    config = plan.config
    manager = _build_towers(plan)
    if config.forward_only:
        return manager, make_forward_step(manager, inputs, config)
    manager.create_optimizers(lambda variables: make_optimizer(config, variables))
    return manager, make_train_step(manager, inputs, config, console.shows_accuracy(config))


def _info(plan) -> dict:
    return {"model": plan.model.name, "dataset": plan.dataset.name, "mode": plan.mode,
            "synthetic": plan.synthetic, "devices": list(plan.devices),
            "batch_size": plan.batch_size, "num_batches": plan.num_batches,
            "num_warmup_batches": plan.num_warmup_batches}


def _base_record(plan, tf_version: str) -> dict:
    return {"schema_version": results.SCHEMA_VERSION, **dict(plan.config), **_info(plan),
            "per_device_batch_size": plan.batch_size_per_device,
            "image_size": plan.image_size, "num_epochs_run": plan.num_epochs,
            results.NUM_WORKERS: 1, results.NUM_STEPS: 0, results.STEP_TIMES: [],
            results.INTERRUPTED: False,
            results.ENVIRONMENT: results.environment(tf_version, list(plan.devices))}


def _images_per_sec(plan, loop) -> float:
    """Over the whole timed loop, step events included (the predecessor's total)."""
    return plan.batch_size * len(loop.step_times) / loop.elapsed


def _record(plan, loop, tf_version: str) -> dict:
    record = _base_record(plan, tf_version)
    record.update({results.NUM_STEPS: len(loop.step_times), results.STEP_TIMES: loop.step_times,
                   results.INTERRUPTED: loop.interrupted, GLOBAL_STEP: loop.global_step,
                   STOP_REASON: loop.stop_reason})
    if loop.step_times:
        timing = perf_timing(plan.batch_size, loop.step_times)
        record.update({
            results.IMAGES_PER_SEC: _images_per_sec(plan, loop),
            results.UNCERTAINTY: timing.uncertainty, results.JITTER: timing.jitter,
            results.AVERAGE_WALL_TIME: loop.elapsed / len(loop.step_times),
            results.LAST_LOSS: loop.losses[-1]})
    if loop.accuracy is not None:
        record[results.TOP_1], record[results.TOP_5] = loop.accuracy
    return record
