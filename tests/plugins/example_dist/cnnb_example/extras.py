"""Event hooks: a sub-command, a ``cnnb run`` option, and a reporter.

With ``--example_result_file=PATH`` the run-end hook writes the run's
images/sec and the number of ``cnnb_step_end`` calls it saw, so a test can
check that plugin options reach the frozen config and that hooks fire.
"""

from __future__ import annotations

import json

import click

import cnnb
from cnnb.options import Option

RESULT_FILE_OPTION = "example_result_file"
_steps_seen: list[int] = []


@cnnb.hookimpl
def cnnb_add_options(options):
    options.append(Option(RESULT_FILE_OPTION, str, None,
                          "Write images/sec to this file (cnnb_example plugin).",
                          group="cnnb_example"))


@cnnb.hookimpl
def cnnb_register_commands(cli):
    @cli.command("example-hello")
    @click.argument("who", default="world")
    def example_hello(who):
        """Say hello (a command added by the cnnb_example plugin)."""
        click.echo(f"hello {who} from cnnb_example")


@cnnb.hookimpl
def cnnb_step_end(step, stats):
    _steps_seen.append(step)


@cnnb.hookimpl
def cnnb_run_end(result):
    path = result.options.get(RESULT_FILE_OPTION)
    if not path:
        return
    with open(path, "w", encoding="utf-8") as out:
        json.dump({"images_per_sec": result.images_per_sec, "steps_seen": _steps_seen}, out)
