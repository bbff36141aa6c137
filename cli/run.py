"""``cnnb run``: its click options are generated from the option table."""

from __future__ import annotations

import signal

import click

from cnnb.cli.session import Session
from cnnb.options import ACTIVE, Option, rewrite_bool_values

_CLICK_TYPES = {int: click.INT, float: click.FLOAT, str: click.STRING}


def all_options(session: Session) -> tuple[Option, ...]:
    """The core table plus every option plugins add."""
    from cnnb.api import run_options
    return run_options(session.plugins)


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
        result = execute(session, options, explicit_values(run_ctx, values))
        if result.measurements.get("diverged"):
            # Its steps and result record are kept; the run itself failed.
            click.echo(f"Error: {result.stop_reason}", err=True)
            run_ctx.exit(1)
        if result.interrupted:
            # The checkpoint and partial result are saved; exit as the signal asked.
            number = getattr(signal, str(result.stop_reason), signal.SIGINT)
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


def parse_run_args(args: list[str], options) -> dict:
    """The options given in ``args`` (``cnnb run``'s syntax), by name; what
    :func:`cnnb.api.prepare` uses for a list of arguments."""
    bool_names = {n for o in options if o.is_flag for n in (o.name, o.kebab)}
    command = RunCommand("run", params=[click_option(o) for o in options],
                         bool_names=bool_names)
    try:
        with command.make_context("run", list(args)) as ctx:
            return explicit_values(ctx, ctx.params)
    except click.UsageError as error:
        from cnnb.errors import ConfigError
        raise ConfigError(error.format_message()) from error


def execute(session: Session, options, raw: dict):
    """Check and plan (no TensorFlow yet), then run: :mod:`cnnb.api`'s pipeline."""
    from cnnb import api
    plan = api.prepare(raw, plugins=session.plugins, visible_gpus=gpu_count,
                       warn=lambda line: click.echo(line, err=True))
    return api.run(plan, log=_log)


def gpu_count() -> int:
    """Visible GPUs; TensorFlow is imported only when a check asks."""
    from cnnb.engine.tfsetup import visible_gpu_count
    return visible_gpu_count()


def _log(line: str) -> None:
    click.echo(line)
