"""cnnb from Python: the same pipeline as ``cnnb run``, one call per stage.

::

    from cnnb import api
    plan = api.prepare(["--model=resnet20", "--data_name=cifar10", "--num_batches=20"])
    result = api.run(plan)
    print(result.images_per_sec)

:func:`prepare` takes command-line arguments or a mapping of option values
(``{"model": "resnet20", "num_batches": 20}``) and does everything that needs
no TensorFlow: plugin loading, option checks, planning. Bad input raises
:class:`cnnb.errors.CnnbError` (the CLI prints it as one line, exit status 2).
:func:`run` imports TensorFlow, runs the plan and returns its result. The
CLI's ``run`` and ``allreduce-bench`` and the ``bench/`` scripts go through
these functions, so there is one pipeline.

Plugins that are not installed (a test's, a notebook's) register in-process::

    import my_models                       # a module with @cnnb.hookimpl functions
    plugins = api.load_plugins(extra=[my_models])
    plan = api.prepare({"model": "my_net"}, plugins=plugins)

Nothing here imports TensorFlow until :func:`run` (or a GPU count is needed).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Callable

from cnnb.errors import ConfigError


def load_plugins(blocked: Sequence[str] = (), extra: Sequence[Any] = ()):
    """The installed plugins (minus ``blocked`` entry-point or distribution
    names) plus the ``extra`` plugin objects, with their registries filled."""
    from cnnb.pluginmanager import load_plugins as load
    return load(tuple(blocked), tuple(extra))


def run_options(plugins) -> tuple:
    """Every option ``cnnb run`` accepts: the core table plus the plugins'."""
    from cnnb.option_table import ALL_OPTIONS
    extra: list = []
    plugins.hook.cnnb_add_options(options=extra)
    return ALL_OPTIONS + tuple(extra)


def prepare(args: Sequence[str] | Mapping[str, Any] = (), *, plugins=None,
            visible_gpus: Callable[[], int] | None = None,
            warn: Callable[[str], None] | None = None):
    """Check the options and plan the run; returns a :class:`cnnb.planning.RunPlan`.

    :param args: ``["--batch_size=32", ...]`` as on the command line, or a
        mapping of option names to values (the options "given explicitly").
    :param plugins: from :func:`load_plugins` (default: the installed ones).
    :param visible_gpus: how many GPUs there are (default: ask TensorFlow,
        only if a default depends on it).
    :param warn: where warnings about ignored flags go (default: stderr).
    """
    from cnnb.config import build_config
    from cnnb.outputs import check_output_target
    from cnnb.result_csv import check_csv_target
    from cnnb.planning import plan_run, resolve_names
    plugins = plugins if plugins is not None else load_plugins()
    options = run_options(plugins)
    raw = _raw_values(args, options)
    defaults = {option.name: option.default for option in options}
    resolve_names(plugins, *(raw.get(name, defaults.get(name))
                             for name in ("model", "data_name", "variable_update")))
    check_output_target(raw.get("result_json"))     # before TensorFlow: a bad path costs a line
    check_csv_target(raw.get("result_csv"))
    config = build_config(raw, options, visible_gpus=visible_gpus or _gpu_count,
                          explicit=frozenset(raw))
    for warning in config.warnings:
        (warn or _to_stderr)(warning)
    plugins.hook.cnnb_validate_config(config=config)
    return dataclasses.replace(plan_run(config, plugins), plugins=plugins)


def run(plan, log: Callable[[str], None] = print):
    """Run ``plan`` (from :func:`prepare`), printing the predecessor's lines
    through ``log``; returns its :class:`cnnb.results.Result` (``as_dict()``
    is the versioned record of docs/results.md). A signal stops it after the
    current step, with what was finished kept; a diverged loss ends it early
    with ``result.measurements["diverged"]`` set."""
    from cnnb.engine.runner import run_benchmark
    if plan.plugins is None:
        raise ConfigError("this plan was not made by cnnb.api.prepare (it has no plugins); "
                          "make it with prepare().")
    return run_benchmark(plan, plan.plugins, log=log)


def _raw_values(args, options) -> dict[str, Any]:
    if isinstance(args, Mapping):
        return dict(args)
    if isinstance(args, str):
        raise ConfigError(f"prepare() takes a list of arguments, not one string: {args!r}; "
                          "split it, e.g. with shlex.split().")
    from cnnb.cli.run import parse_run_args
    return parse_run_args(list(args), options)


def _gpu_count() -> int:
    from cnnb.engine.tfsetup import visible_gpu_count
    return visible_gpu_count()


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr)
