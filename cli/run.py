"""``cnnb run``: its click options are generated from the option table."""

from __future__ import annotations

import signal

import click

from cnnb.cli.session import Session
from cnnb.options import ACTIVE, Option, rewrite_bool_values

_CLICK_TYPES = {int: click.INT, float: click.FLOAT, str: click.STRING}


def all_options(session: Session) -> tuple[Option, ...]:
    """The core table plus every option plugins add."""
    from cnnb.option_table import ALL_OPTIONS
    extra: list[Option] = []
    session.plugins.hook.cnnb_add_options(options=extra)
    return ALL_OPTIONS + tuple(extra)


def click_option(option: Option) -> click.Option:
    """``--snake_name`` and ``--kebab-name``; booleans get ``--noname``/``--no-kebab``."""
    names = [f"--{option.name}"] + ([f"--{option.kebab}"] if option.kebab != option.name else [])
    hidden = option.status != ACTIVE
    if option.is_flag:
        negatives = [f"--no{option.name}"] + (
            [f"--no-{option.kebab}"] if option.kebab != option.name else [])
        decls = ["/".join(pair) for pair in zip(names, negatives)]
        return click.Option([*decls, option.name], default=None, help=option.help, hidden=hidden)
    return click.Option([*names, option.name], type=_CLICK_TYPES[option.type], default=None,
                        help=_help(option), hidden=hidden, metavar=option.type.__name__.upper())


def _help(option: Option) -> str:
    """The option's help, its choices and the default it has on this machine.

    --device and --data_format are fitted to the machine at run time, so
    their table default would be wrong here; the GPU guess imports no TensorFlow.
    """
    from cnnb.options import machine_default_help
    text = option.help
    if option.choices:
        text += f" [{'|'.join(str(c) for c in option.choices if c != '')}]"
    fitted = machine_default_help(option)
    if fitted is not None:
        text += f" {fitted}"
    elif option.default not in (None, ""):
        text += f" (default: {option.default})"
    return text


class RunCommand(click.Command):
    """Accepts ``--flag=true|false`` for boolean flags, as absl did."""

    def __init__(self, *args, bool_names: set[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.bool_names = bool_names

    def parse_args(self, ctx, args):
        return super().parse_args(ctx, rewrite_bool_values(list(args), self.bool_names))


def make_run_command(ctx: click.Context) -> click.Command:
    session = ctx.ensure_object(Session)
    options = all_options(session)
    bool_names = {n for o in options if o.is_flag for n in (o.name, o.kebab)}

    @click.pass_context
    def run(run_ctx, **values):
        record = execute(session, options, explicit_values(run_ctx, values))
        if record.get("interrupted"):
            # The checkpoint and partial result are saved; exit as the signal asked.
            number = getattr(signal, str(record.get("stop_reason")), signal.SIGINT)
            run_ctx.exit(128 + int(number))

    return RunCommand(
        "run", callback=run, params=[click_option(o) for o in options], bool_names=bool_names,
        help="Train (or with --forward_only, infer) a model and report images/sec.",
        epilog="Every tf_cnn_benchmarks flag is accepted: those that mean nothing in TF2 "
               "print a warning, and those whose feature is not built yet say so.")


def explicit_values(ctx: click.Context, values: dict) -> dict:
    """The options given on the command line (not left at their default)."""
    return {name: value for name, value in values.items()
            if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT}


def execute(session: Session, options, raw: dict) -> dict:
    """Validate, plan (no TensorFlow yet), then run."""
    from cnnb.config import build_config
    from cnnb.planning import plan_run, resolve_names
    plugins = session.plugins
    table = {option.name: option for option in options}
    resolve_names(plugins, *(raw.get(name, table[name].default)
                             for name in ("model", "data_name", "variable_update")))
    config = build_config(raw, options, visible_gpus=gpu_count, explicit=frozenset(raw))
    for warning in config.warnings:
        click.echo(warning, err=True)
    plugins.hook.cnnb_validate_config(config=config)
    plan = plan_run(config, plugins)
    from cnnb.engine.runner import run_benchmark
    return run_benchmark(plan, plugins, log=_log)


def gpu_count() -> int:
    """Visible GPUs; TensorFlow is imported only when a check asks."""
    from cnnb.engine.tfsetup import visible_gpu_count
    return visible_gpu_count()


def _log(line: str) -> None:
    click.echo(line)
