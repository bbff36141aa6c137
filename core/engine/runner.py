"""Run one benchmark from a plan: build, restore, warm up, time, evaluate, save, report.

Modes (predecessor.md §5): ``training`` and ``forward only`` time steps and
print ``total images/sec``; ``training + evaluation`` evaluates between steps
and ends with ``Done with training`` and a final evaluation; ``evaluation``
evaluates checkpoints (:mod:`cnnb.engine.evaluation`). With ``--train_dir``
training resumes from the latest checkpoint, continues its global step (warm-up
steps count, as in the predecessor) and saves ``model.ckpt-<global step>``.
"""

from __future__ import annotations

import contextlib

from cnnb import console, progress, results
from cnnb.engine.tfsetup import configure, import_tensorflow
from cnnb.learning_rate import make_schedule, schedule_context
from cnnb.planning import EVALUATION, FORWARD_ONLY, TRAINING_AND_EVALUATION
from cnnb.timing import perf_timing

def run_benchmark(plan, plugins, log=print) -> results.Result:
    """Run ``plan``; print the predecessor's lines; return its :class:`cnnb.results.Result`.

    Ctrl-C or SIGTERM ends the run after the current step; the checkpoint and
    the (partial) result record are still written.
    """
    tf = import_tensorflow()
    configure(plan.settings.runtime)
    from cnnb.engine.workers import start_process
    start_process(plan)
    from cnnb.engine.inputs import reading_data
    from cnnb.engine.interrupts import StopRequest
    if plan.settings.summary.verbosity:
        from cnnb.engine.summaries import require_tensorboard
        require_tensorboard()
    for line in console.info_block(plan, tf.__version__):
        log(line)
    plugins.hook.cnnb_run_start(config=plan.config, info=_info(plan))
    with StopRequest() as stop:
        with reading_data(plan), _out_of_memory_is_one_line(plan):
            if plan.mode == EVALUATION:
                result = _evaluate(plan, log, stop, tf.__version__)
            else:
                result = _train(plan, plugins, log, stop, tf.__version__)
        plugins.hook.cnnb_run_end(result=result)
        if plan.settings.output.result_json and _is_chief(plan):
            result.write(plan.settings.output.result_json)
        if plan.settings.output.result_csv and _is_chief(plan):    # one row per cluster run
            from cnnb.result_csv import append_row
            append_row(plan.settings.output.result_csv, result)
    return result


@contextlib.contextmanager
def _out_of_memory_is_one_line(plan):
    """TensorFlow's multi-line OOM error as one line naming the batch size."""
    import tensorflow as tf
    try:
        yield
    except tf.errors.ResourceExhaustedError as error:
        from cnnb.engine.failures import out_of_memory
        raise out_of_memory(error, plan.batch_size_per_device, len(plan.devices)) from error


def _train(plan, plugins, log, stop, tf_version: str) -> results.Result:
    from cnnb.engine.loop import timed_loop, warm_up
    log("Generating model" if plan.mode == FORWARD_ONLY else "Generating training model")
    with progress.phase("Building the model and its input pipeline"):
        training = _Training(plan, log, stop)
    restored = training.restore()
    num_steps = max(0, plan.num_batches - restored)
    if not num_steps:
        log(f"global_step {restored} already reaches --num_batches={plan.num_batches}; "
            "nothing to train.")
    schedule = make_schedule(plan.settings.schedule, plan.model, plan.batch_size,
                             schedule_context(plan))
    log("Initializing graph")
    allow_nonfinite = plan.settings.loop.allow_nonfinite_loss
    from cnnb.engine.profiling import Profiler
    profiler = Profiler(plan.settings.profiling, log)
    step = profiler.wrap(training.step, plan.num_warmup_batches if num_steps else 0)
    global_step, diverged = warm_up(step, schedule,
                                    plan.num_warmup_batches if num_steps else 0, log, restored,
                                    stop, allow_nonfinite)
    loop = timed_loop(step, schedule, plan, global_step, plugins.hook.cnnb_step_end,
                      log, 0 if diverged else num_steps, training.events(num_steps), stop)
    profiler.finish()
    if diverged:
        loop.diverged, loop.stop_reason = True, diverged
    training.finish(loop)
    measurements = _record(plan, loop)
    from cnnb.engine.peak import report_utilization
    measurements.update(report_utilization(plan, measurements[results.IMAGES_PER_SEC], log,
                                           training.manager.towers[0]))
    from cnnb.engine.workers import report_workers
    measurements.update(report_workers(training.manager, plan, loop, log))
    measurements[results.CHECKPOINT] = training.saved
    if training.last_eval is not None:
        measurements[results.EVAL] = _eval_measurements(training.last_eval)
    return _base_record(plan, tf_version, measurements)


class _Training:
    """The pieces of one training (or forward-only) run and what happens
    between its steps: checkpoints, summaries, evaluation."""

    def __init__(self, plan, log, stop):
        from cnnb.engine.checkpoints import Checkpoints
        from cnnb.engine.evaluation import Evaluator
        from cnnb.engine.inputs import make_inputs
        from cnnb.engine.summaries import Summaries
        settings = self.settings = plan.settings
        self.plan, self.log, self.stop = plan, log, stop
        forward_only = plan.mode == FORWARD_ONLY
        inputs = make_inputs(plan, "train", plan.batch_size_per_device, training=not forward_only)
        self.manager, self.step, scaling = _build_step(plan, inputs)
        saving = settings.checkpoint
        self.checkpoints = Checkpoints(self.manager, None if forward_only else saving.train_dir,
                                       saving.max_to_keep, with_optimizer=not forward_only,
                                       extra=scaling.savable() if scaling is not None else None)
        writes = _is_chief(plan) and not forward_only
        self.summaries = None if not writes else Summaries.for_training(
            settings.summary, settings.loop.loss_name, self.manager)
        self.evaluator = None
        if plan.mode == TRAINING_AND_EVALUATION:
            self.evaluator = Evaluator(plan, self.manager, log, self.summaries)
        self.last_eval, self.saved = None, None

    def restore(self) -> int:
        """The global step of the newest readable checkpoint in --train_dir (0: none);
        a damaged latest one is skipped with a warning (cnnb.engine.checkpoints)."""
        if not self.settings.checkpoint.train_dir:
            return 0
        path, step = self.checkpoints.resume(self.settings.checkpoint.train_dir)
        if path is not None:
            self.log(f"Restored {path} (global_step {step})")
        return step

    def events(self, num_steps: int) -> tuple:
        from cnnb.engine.loop import every_seconds, every_steps
        saving, events = self.settings.checkpoint, []
        if self.checkpoints.keeper is not None and saving.save_steps:
            events.append(every_steps(saving.save_steps, self._save))
        elif self.checkpoints.keeper is not None and saving.save_secs:
            events.append(every_seconds(saving.save_secs, self._save))
        if self.summaries is not None:
            events.append(lambda local, global_step, values:
                          self.summaries.after_step(global_step, values))
        if self.evaluator is not None:
            events.append(lambda local, global_step, values:
                          self._evaluate(local, global_step, num_steps))
        return tuple(events)

    def _save(self, global_step: int) -> None:
        if not self.manager.is_chief:       # one writer per cluster
            return
        self.saved = self.checkpoints.save(global_step) or self.saved

    def _evaluate(self, local_step: int, global_step: int, num_steps: int) -> str | None:
        """Evaluation during training, when due and training is not done."""
        if local_step >= num_steps or not self.plan.eval_due(local_step):
            return None
        self.log(f"Running evaluation at global_step {global_step}")
        self.last_eval = self.evaluator.run(global_step, self.stop)
        target = self.settings.evaluation.stop_at_top_1_accuracy
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
        if loop.diverged:
            if self.checkpoints.keeper is not None:
                self.log("Not saving a checkpoint of the diverged model.")
        else:
            self._save(loop.global_step)
        if loop.interrupted and self.checkpoints.keeper is not None:
            self.log(f"Saved {self.saved} before stopping.")
        if self.summaries is not None:
            self.summaries.close()


def _is_chief(plan) -> bool:
    """Only the chief of a cluster writes files (checkpoints, summaries, results)."""
    return plan.replication is None or plan.replication.worker.is_chief


def _evaluate(plan, log, stop, tf_version: str) -> results.Result:
    from cnnb.engine.evaluation import run_eval_mode
    log("Generating model")
    with progress.phase("Building the model"):
        manager = _build_towers(plan)
    evaluation = run_eval_mode(plan, manager, log, stop)
    measured = {}
    if evaluation is not None:      # evaluation mode times evaluation steps
        measured = {"num_steps": len(evaluation.step_times), "step_times": evaluation.step_times,
                    "images_per_sec": evaluation.images_per_sec, "top_1_accuracy": evaluation.top_1,
                    "top_5_accuracy": evaluation.top_5, "global_step": evaluation.global_step,
                    "eval": _eval_measurements(evaluation)}
    measurements = results.new_measurements(interrupted=stop.requested, **measured)
    return _base_record(plan, tf_version, measurements)


def _build_towers(plan):
    """The plan's variable manager with one network per tower, built in its scope."""
    from cnnb.engine.network import make_network
    from cnnb.engine.variables import make_variable_manager
    dataset, data_format = plan.dataset, plan.settings.runtime.data_format
    manager = make_variable_manager(plan)
    with manager.scope():
        manager.create_towers(lambda device, index: make_network(
            plan.model, dataset.num_classes, plan.image_size, data_format, device,
            name_prefix=f"v{index}/", precision=plan.settings.precision))
    return manager


def _build_step(plan, inputs):
    """(variable manager, step function, loss scaling or None) of a training or
    forward-only run."""
    from cnnb.engine.optimizers import make_optimizer
    from cnnb.engine.step import make_forward_step, make_train_step
    settings = plan.settings
    manager = _build_towers(plan)
    if plan.mode == FORWARD_ONLY:
        return manager, make_forward_step(manager, inputs, settings.step), None
    from cnnb.engine.loss_scale import make_loss_scaling
    scaling = make_loss_scaling(settings.precision, manager.is_chief)
    with manager.scope():
        manager.create_optimizers(lambda variables: _maybe_guarded(
            make_optimizer(settings.optimizer, variables), scaling))
    return manager, make_train_step(manager, inputs, settings.step, settings.loss,
                                    scaling), scaling


def _maybe_guarded(optimizer, scaling):
    return optimizer if scaling is None else scaling.wrap(optimizer)


def _info(plan) -> dict:
    """The result's ``plan`` part: the run as resolved (``cnnb_run_start`` gets it too).

    ``batch_size`` is per device, as the flag means; ``global_batch_size`` is what
    one step of all devices (of all workers) processes.
    """
    num_workers = plan.replication.worker.num_workers if plan.replication else 1
    return {"model": plan.model.name, "dataset": plan.dataset.name, "mode": plan.mode,
            "synthetic": plan.synthetic, "data_dir": plan.data_dir,
            "devices": list(plan.devices), "num_devices": len(plan.devices),
            results.NUM_WORKERS: num_workers, "variable_update": plan.variable_manager.name,
            results.BATCH_SIZE: plan.batch_size_per_device,
            results.GLOBAL_BATCH_SIZE: plan.batch_size * num_workers,
            "image_size": plan.image_size, "num_batches": plan.num_batches,
            "num_epochs": plan.num_epochs, "num_warmup_batches": plan.num_warmup_batches,
            "eval_batch_size": plan.eval_batch_size_per_device,
            "global_eval_batch_size": plan.eval_batch_size * num_workers,
            "num_eval_batches": plan.num_eval_batches, "num_eval_epochs": plan.num_eval_epochs}


def _base_record(plan, tf_version: str, measurements: dict) -> results.Result:
    """The Result of ``plan`` with ``measurements`` (from :func:`results.new_measurements`)."""
    config = plan.config
    return results.Result(
        config=results.config_part(config, getattr(config, "explicit", None)),
        plan=_info(plan), measurements=measurements,
        environment=results.environment(tf_version, list(plan.devices), plan.plugins))


def _images_per_sec(plan, loop) -> float:
    """Over the whole timed loop, step events included (the predecessor's total)."""
    return plan.batch_size * len(loop.step_times) / loop.elapsed


def _record(plan, loop) -> dict:
    """The measurements of a training or forward-only timed loop."""
    measured = {}
    if loop.step_times:
        timing = perf_timing(plan.batch_size, loop.step_times)
        measured = {"images_per_sec": _images_per_sec(plan, loop),
                    "images_per_sec_uncertainty": timing.uncertainty,
                    "images_per_sec_jitter": timing.jitter, "last_average_loss": loop.losses[-1],
                    "average_wall_time": loop.elapsed / len(loop.step_times)}
    if loop.accuracy is not None:
        measured["top_1_accuracy"], measured["top_5_accuracy"] = loop.accuracy
    return results.new_measurements(
        num_steps=len(loop.step_times), step_times=loop.step_times, interrupted=loop.interrupted,
        global_step=loop.global_step, stop_reason=loop.stop_reason, diverged=loop.diverged,
        loss_scale=loop.loss_scale, skipped_updates=loop.skipped_updates, **measured)


def _eval_measurements(evaluation) -> dict:
    """One evaluation (during training, or of a checkpoint) in a record."""
    return {results.GLOBAL_STEP: evaluation.global_step, results.TOP_1: evaluation.top_1,
            results.TOP_5: evaluation.top_5, results.IMAGES_PER_SEC: evaluation.images_per_sec,
            "num_examples": evaluation.examples}
