"""``cnnb allreduce-bench``: time only the all-reduce of a model's gradients.

The successor of the predecessor's ``all_reduce_benchmark.py``: the gradient
shapes come from the model's shape trace (no training, no input data), the
all-reduce is replicated mode's (``--all_reduce_spec``, repacking, small
gradient packing), and the output is the time per all-reduce and the
effective bandwidth. Its flags are ``cnnb run``'s, with the same checks.
"""

from __future__ import annotations

import json
import math

import click

from cnnb.cli.run import click_option, explicit_values, gpu_count
from cnnb.cli.session import Session

#: ``cnnb run`` flags this command takes (same names, defaults and checks)
FLAGS = ("model", "data_name", "variable_update", "num_gpus", "device", "gpu_indices", "all_reduce_spec",
         "gradient_repacking", "agg_small_grads_max_bytes", "agg_small_grads_max_group",
         "hierarchical_copy", "network_topology", "local_parameter_device", "num_batches",
         "num_warmup_batches", "display_every", "tf_random_seed")
DEFAULT_NUM_BATCHES = 20
DEFAULT_WARMUP = 2


def _options():
    from cnnb.option_table import ALL_OPTIONS
    table = {option.name: option for option in ALL_OPTIONS}
    return [table[name] for name in FLAGS]


@click.pass_context
def _bench(ctx, as_json, **values):
    raw = explicit_values(ctx, values)
    session = ctx.find_object(Session)
    run_plan, shapes, model_name = _plan(session.plugins, raw)
    log = (lambda line: None) if as_json else click.echo
    config, plan = run_plan.config, run_plan.all_reduce
    result = _run(run_plan, shapes, model_name, log)
    if as_json:
        click.echo(json.dumps(_record(config, plan, model_name, result)))


def _plan(plugins, raw: dict):
    """(run plan, gradient shapes, model name): planned by :func:`cnnb.api.prepare`
    as ``cnnb run`` would plan it, so the same checks apply before TensorFlow."""
    from cnnb import api
    from cnnb.errors import ConfigError
    raw = {"variable_update": "replicated", **raw}
    run_plan = api.prepare(raw, plugins=plugins, visible_gpus=gpu_count,
                           warn=lambda line: click.echo(line, err=True))
    if run_plan.all_reduce is None:
        takers = [e.name for e in plugins.registry("variable_manager").entries()
                  if e.metadata.get("all_reduce_spec")]
        raise ConfigError(f"--variable_update={run_plan.variable_manager.name} takes no "
                          f"all-reduce; allreduce-bench times those of: {', '.join(takers)}.")
    model = run_plan.model
    if not hasattr(model, "trace"):
        raise ConfigError(f"model '{model.name}' has no shape trace (it is not written with "
                          "the layer builder); allreduce-bench needs one.")
    trace = model.trace(run_plan.dataset.num_classes, image_size=run_plan.image_size)
    shapes = [list(spec.shape) for spec in trace.variables if spec.trainable]
    return run_plan, shapes, model.display_name or model.name


def _run(run_plan, shapes, model_name: str, log):
    from cnnb.engine.tfsetup import configure, import_tensorflow
    config, plan = run_plan.config, run_plan.all_reduce
    tf = import_tensorflow()
    configure(run_plan.settings.runtime)
    from cnnb.engine.allreduce_bench import benchmark_all_reduce
    size = sum(math.prod(s) for s in shapes)
    for line in (f"TensorFlow:  {tf.__version__}",
                 f"Model:       {model_name} ({len(shapes)} gradients, {size:,} elements, "
                 f"{size * 4 / 1e6:.1f} MB float32)",
                 f"Devices:     {list(plan.context.devices)}",
                 f"AllReduce:   {plan.spec}" + _packing_note(plan), "=========="):
        log(line)

    def on_step(number, seconds):
        if number == 1:
            log("Step\tms/all-reduce")
        if number == 1 or number % config.display_every == 0:
            log(f"{number}\t{seconds * 1000:.3f}")

    result = benchmark_all_reduce(plan, shapes, config.num_batches or DEFAULT_NUM_BATCHES,
                                  _warmup(config), on_step, log)
    log("-" * 64)
    log(f"Time per all-reduce: {result.mean_time * 1000:.3f} ms")
    log(f"Effective bandwidth: {result.algorithm_bandwidth / 1e9:.3f} GB/s "
        f"(bus: {result.bus_bandwidth / 1e9:.3f} GB/s)")
    log(f"Average time per step: {result.mean_time:.6f}")
    return result


def _record(config, plan, model_name: str, result) -> dict:
    return {"model": model_name, "devices": list(plan.context.devices), "spec": plan.spec,
            "gradient_repacking": config.gradient_repacking,
            "agg_small_grads_max_bytes": config.agg_small_grads_max_bytes,
            "num_tensors": result.num_tensors, "num_elements": result.num_elements,
            "step_times": result.step_times, "time_per_all_reduce": result.mean_time,
            "algorithm_bandwidth": result.algorithm_bandwidth,
            "bus_bandwidth": result.bus_bandwidth}


def _packing_note(plan) -> str:
    notes = []
    if plan.gradient_repacking:
        notes.append(f"--gradient_repacking={plan.gradient_repacking}")
    elif plan.agg_small_grads_max_bytes:
        notes.append(f"--agg_small_grads_max_bytes={plan.agg_small_grads_max_bytes}")
    return f" ({', '.join(notes)})" if notes else ""


def _warmup(config) -> int:
    return DEFAULT_WARMUP if config.num_warmup_batches is None else config.num_warmup_batches


allreduce_bench_command = click.Command(
    "allreduce-bench", callback=_bench,
    params=[click_option(option) for option in _options()] + [
        click.Option(["--json", "as_json"], is_flag=True,
                     help="Print one JSON record instead of the lines.")],
    help="Time only the all-reduce of a model's gradient shapes (the one --variable_update "
         "uses, replicated by default, as --all_reduce_spec and the packing flags set it) and "
         "print the time per "
         f"all-reduce and the effective bandwidth. --num_batches defaults to "
         f"{DEFAULT_NUM_BATCHES}, --num_warmup_batches to {DEFAULT_WARMUP}.")
