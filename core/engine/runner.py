"""Run one benchmark from a plan: build, warm up, time, report."""

from __future__ import annotations

from cnnb import console, results
from cnnb.engine.tfsetup import configure, import_tensorflow
from cnnb.learning_rate import make_schedule
from cnnb.timing import perf_timing


def run_benchmark(plan, plugins, log=print) -> dict:
    """Run ``plan``; print the predecessor's lines; return the flat result record."""
    tf = import_tensorflow()
    configure(plan.config)
    for line in console.info_block(plan, tf.__version__):
        log(line)
    plugins.hook.cnnb_run_start(config=plan.config, info=_info(plan))
    log("Generating training model" if plan.mode == "training" else "Generating model")
    step = _build_step(plan)
    schedule = make_schedule(plan.config, plan.model, plan.batch_size,
                             plan.dataset.train_examples)
    log("Initializing graph")
    from cnnb.engine.loop import timed_loop, warm_up
    global_step = warm_up(step, schedule, plan.num_warmup_batches, log)
    loop = timed_loop(step, schedule, plan, global_step, plugins.hook.cnnb_step_end, log)
    record = _record(plan, loop, tf.__version__)
    if loop.step_times:
        for line in console.total_lines(record[results.IMAGES_PER_SEC]):
            log(line)
    plugins.hook.cnnb_run_end(result=record)
    if plan.config.result_json:
        results.write_json_atomic(plan.config.result_json, record)
    return record


def _build_step(plan):
    from cnnb.engine.network import Network
    from cnnb.engine.optimizers import make_optimizer
    from cnnb.engine.step import make_forward_step, make_train_step
    from cnnb.engine.synthetic import SyntheticInputs
    config, dataset = plan.config, plan.dataset
    manager = plan.variable_manager.load()(plan.devices)
    manager.create_towers(lambda device, index: Network(
        plan.model, dataset.num_classes, plan.image_size, config.data_format, device,
        name_prefix=f"v{index}/"))
    inputs = SyntheticInputs(plan.devices, plan.batch_size_per_device, plan.image_size,
                             dataset.num_classes, config.data_format)
    if config.forward_only:
        return make_forward_step(manager, inputs, config)
    manager.create_optimizers(lambda variables: make_optimizer(config, variables))
    return make_train_step(manager, inputs, config, console.shows_accuracy(config))


def _info(plan) -> dict:
    return {"model": plan.model.name, "dataset": plan.dataset.name, "mode": plan.mode,
            "synthetic": plan.synthetic, "devices": list(plan.devices),
            "batch_size": plan.batch_size, "num_batches": plan.num_batches,
            "num_warmup_batches": plan.num_warmup_batches}


def _record(plan, loop, tf_version: str) -> dict:
    record = {"schema_version": results.SCHEMA_VERSION, **dict(plan.config), **_info(plan),
              "per_device_batch_size": plan.batch_size_per_device,
              "image_size": plan.image_size, "num_epochs_run": plan.num_epochs,
              results.NUM_WORKERS: 1, results.NUM_STEPS: len(loop.step_times),
              results.STEP_TIMES: loop.step_times, results.INTERRUPTED: loop.interrupted,
              results.ENVIRONMENT: results.environment(tf_version, list(plan.devices))}
    if loop.step_times:
        timing = perf_timing(plan.batch_size, loop.step_times)
        record.update({
            results.IMAGES_PER_SEC: plan.batch_size * len(loop.step_times) / loop.elapsed,
            results.UNCERTAINTY: timing.uncertainty, results.JITTER: timing.jitter,
            results.AVERAGE_WALL_TIME: loop.elapsed / len(loop.step_times),
            results.LAST_LOSS: loop.losses[-1]})
    if loop.accuracy is not None:
        record[results.TOP_1], record[results.TOP_5] = loop.accuracy
    return record
