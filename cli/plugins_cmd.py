"""``cnnb plugins``: what is installed, what it provides, what is broken."""

from __future__ import annotations

import json

import click


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--hook", "hook", help="Only plugins implementing this hook.")
@click.pass_obj
def plugins_command(session, as_json, hook):
    """List plugins: distribution, version, hooks, registered names, errors."""
    plugins = session.plugins
    rows = []
    for info in plugins.infos:
        hooks = plugins.hooks_of(info)
        if hook and hook not in hooks:
            continue
        names = {kind: sorted({e.name for e in registry.entries()
                               if e.provider.plugin == info.name})
                 for kind, registry in plugins.registries.items()}
        row = {"name": info.name, "module": info.target, "distribution": info.distribution,
               "version": info.version, "hooks": hooks,
               "provides": {kind: found for kind, found in names.items() if found}}
        if info.broken:
            row["error"] = f"{type(info.error).__name__}: {info.error}"
            if session.debug:
                row["traceback"] = info.traceback()
        rows.append(row)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        status = f"BROKEN: {row['error']}" if "error" in row else ", ".join(
            f"{len(found)} {kind}(s)" for kind, found in row["provides"].items()) or "hooks only"
        click.echo(f"{row['name']}  ({row['distribution']} {row['version']})  {status}")
        if session.debug and "traceback" in row:
            click.echo(row["traceback"])
