"""The ``cnnb`` command line (click).

The root group loads plugins lazily: ``cnnb --help`` and the listing commands
import plugin registration modules but never TensorFlow. Domain errors
(:class:`cnnb.errors.CnnbError`) become one-line messages with exit status 2
here, at the edge, and nowhere else.
"""

from __future__ import annotations

import importlib
import sys

import click

from cnnb.cli.session import Session, installed_plugin_names, unknown_block_warnings

BUILTIN_COMMANDS = {
    "run": "cnnb.cli.run:make_run_command",
    "models": "cnnb.cli.listing:models_command",
    "datasets": "cnnb.cli.listing:datasets_command",
    "preprocessors": "cnnb.cli.listing:preprocessors_command",
    "variable-managers": "cnnb.cli.listing:variable_managers_command",
    "allreduce": "cnnb.cli.listing:allreduce_command",
    "allreduce-bench": "cnnb.cli.allreduce_bench:allreduce_bench_command",
    "plugins": "cnnb.cli.plugins_cmd:plugins_command",
    "data": "cnnb.cli.data:data_command",
    "peak": "cnnb.cli.peak:peak_command",
    "launch": "cnnb.cli.launch:launch_command",
    "compare": "cnnb.cli.compare:compare_command",
    "sweep": "cnnb.cli.sweep:sweep_command",
}


class CnnbGroup(click.Group):
    """Built-in commands are imported on use; plugin commands come from
    ``cnnb_register_commands``."""

    def _plugin_commands(self, ctx) -> dict:
        session = ctx.ensure_object(Session)
        if session.plugin_commands is None:
            holder = click.Group()
            session.plugins.hook.cnnb_register_commands(cli=holder)
            session.plugin_commands = dict(holder.commands)
        return session.plugin_commands

    def resolve_command(self, ctx, args):
        """Unknown commands get close-match suggestions, as unknown options do."""
        name = click.utils.make_str(args[0]) if args else ""
        if args and not name.startswith("-") and self.get_command(ctx, name) is None:
            from cnnb.errors import close_matches
            matches = close_matches(name, self.list_commands(ctx))
            hint = f" Did you mean: {', '.join(matches)}?" if matches else ""
            raise click.UsageError(f"No such command '{name}'.{hint}", ctx)
        return super().resolve_command(ctx, args)

    def list_commands(self, ctx):
        return sorted(set(BUILTIN_COMMANDS) | set(self._plugin_commands(ctx)))

    def get_command(self, ctx, name):
        if name in BUILTIN_COMMANDS:
            module, _, attribute = BUILTIN_COMMANDS[name].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            return command(ctx) if name == "run" else command
        return self._plugin_commands(ctx).get(name)


def _show_version(ctx, _param, value):
    if not value or ctx.resilient_parsing:
        return
    from cnnb import __version__
    click.echo(f"cnnb {__version__}")
    session = ctx.ensure_object(Session)
    for info in session.plugins.infos:
        if info.distribution != "cnnb":
            state = "BROKEN" if info.broken else "ok"
            click.echo(f"plugin {info.name}: {info.distribution} {info.version} ({state})")
    ctx.exit(0)


def _block_plugins(ctx, _param, value):
    """Store ``--no-plugin`` names in the Session while the root options are parsed.

    The option is eager so this runs before ``--version`` lists plugins and
    before click resolves the subcommand (which builds ``run``'s options from
    the plugins), both of which happen before the group callback.
    """
    names = tuple(value or ())
    if ctx.resilient_parsing or not names:
        return names
    ctx.ensure_object(Session).block(names)
    for warning in unknown_block_warnings(names, installed_plugin_names()):
        click.echo(warning, err=True)
    return names


@click.group(cls=CnnbGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=False,
              callback=_show_version, help="Show the version and installed plugins.")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@click.option("--no-plugin", "blocked", multiple=True, metavar="NAME", is_eager=True,
              callback=_block_plugins,
              help="Do not load this plugin (entry-point or distribution name); repeatable.")
@click.pass_context
def cli(ctx, debug, blocked):
    """cnnb: how fast do CNNs train and infer here? A TensorFlow 2 successor of
    tf_cnn_benchmarks, extensible with plugins.

    \b
    Examples:
      cnnb run --model=resnet50 --batch_size=32 --num_batches=100
      cnnb models
    """
    session = ctx.ensure_object(Session)
    session.debug = debug    # the blocked plugins are already stored by _block_plugins


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the CLI, turn user errors into one line and exit 2."""
    from cnnb.errors import CnnbError
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        code = cli.main(args=args, prog_name="cnnb", standalone_mode=False, obj=Session())
    except (CnnbError, click.UsageError, click.BadParameter) as error:
        if debug:
            raise
        message = error.format_message() if isinstance(error, click.ClickException) else error
        hint = ""
        if isinstance(error, click.UsageError) and error.ctx is not None:
            hint = f" (try '{error.ctx.command_path} --help')"
        click.echo(f"Error: {message}{hint}".replace("\n", " "), err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    if isinstance(code, int) and code:
        sys.exit(code)
