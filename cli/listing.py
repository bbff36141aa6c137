"""Listing commands: ``cnnb models``, ``datasets``, ``variable-managers``, ``allreduce``.

They read the registries only; no TensorFlow is imported. Model parameter
counts and FLOPs come from the pure-Python shape trace.
"""

from __future__ import annotations

import fnmatch
import json

import click

from cnnb.cli.session import Session


def _rows(session: Session, kind: str, patterns=(), scope=None) -> list[dict]:
    rows = []
    registry = session.plugins.registry(kind)
    conflicts = registry.conflicts()
    for entry in registry.entries():
        if patterns and not any(fnmatch.fnmatchcase(entry.name, p) for p in patterns):
            continue
        if scope and entry.scope != scope:
            continue
        row = {"name": entry.name, "description": entry.description, **entry.metadata,
               "distribution": entry.provider.distribution, "plugin": entry.provider.plugin}
        if kind == "variable_manager":
            row.update(_capabilities(entry))
        if entry.scope is not None:
            row["scope"] = entry.scope
        if (entry.name, entry.scope) in conflicts:
            row["conflict"] = True
        rows.append(row)
    return rows


def _capabilities(entry) -> dict:
    """A manager's declared capabilities, defaults filled in (a bad declaration
    shows as such here, and fails only a run that picks the manager)."""
    import dataclasses
    from cnnb.errors import PluginLoadError
    from cnnb.replication import Capabilities
    try:
        return dataclasses.asdict(Capabilities.of(entry))
    except PluginLoadError:
        return {"gradient_reduction": f"invalid: {entry.metadata.get('gradient_reduction')!r}"}


def _broken_rows(session: Session) -> list[dict]:
    return [{"plugin": info.name, "distribution": info.distribution, "version": info.version,
             "error": f"{type(info.error).__name__}: {info.error}"}
            for info in session.plugins.broken]


def _emit(rows, broken, as_json: bool, columns: list[tuple[str, str]]) -> None:
    if as_json:
        # Always a list of rows; broken plugins go to stderr so parsers see one shape.
        click.echo(json.dumps(rows, indent=2, default=str))
        for row in broken:
            click.echo(f"warning: plugin '{row['plugin']}' ({row['distribution']} "
                       f"{row['version']}) is broken: {row['error']}", err=True)
        return
    table = [[title for _, title in columns]]
    table += [[_cell(row.get(key)) for key, _ in columns] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns) - 1)]
    for line in table:
        cells = [cell.ljust(width) for cell, width in zip(line, widths)] + [line[-1]]
        click.echo("  ".join(cells).rstrip())
    for row in broken:
        click.echo(f"BROKEN  plugin '{row['plugin']}' ({row['distribution']} {row['version']}): "
                   f"{row['error']}")


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 10000:
        return f"{value:,}"
    if isinstance(value, float) and 0 < abs(value) < 0.001:
        return f"{value:.7f}".rstrip("0")
    return str(value)


def _model_rows(session, patterns, dataset):
    datasets = {e.name: e.load() for e in session.plugins.registry("dataset").entries()}
    rows = _rows(session, "model", patterns, _model_scope(dataset, datasets))
    registry = session.plugins.registry("model")
    from cnnb.testing import DEFAULT_NUM_CLASSES, scope_classes  # as the conformance suite
    classes = scope_classes(session.plugins)
    for row in rows:
        row["dataset"] = row.pop("scope", None)
        entry = registry.get(row["name"], row["dataset"]) if not row.get("conflict") else None
        trace = getattr(entry.target, "trace", None) if entry else None
        if callable(trace):
            result = trace(classes.get(row["dataset"], DEFAULT_NUM_CLASSES))
            row.setdefault("params", result.params)
            row.setdefault("flops", result.flops)
        row["datasets"] = [name for name, spec in datasets.items()
                           if spec.model_scope == row["dataset"]]
        row["gflops"] = _gflops(row.get("flops"))
    return rows


def _model_scope(dataset, datasets: dict):
    """``--dataset`` names a dataset (its models' scope) or a scope (imagenet, cifar10)."""
    if dataset is None:
        return None
    if dataset in datasets:
        return datasets[dataset].model_scope
    if dataset in {spec.model_scope for spec in datasets.values()}:
        return dataset
    from cnnb.errors import UnknownNameError
    raise UnknownNameError("dataset", dataset, sorted(datasets), "cnnb datasets")


def _gflops(flops):
    """Two decimals, or two significant digits for tiny models."""
    if not flops:
        return None
    value = flops / 1e9
    return round(value, 2) if value >= 0.1 else float(f"{value:.2g}")


@click.command("models")
@click.argument("patterns", nargs=-1)
@click.option("--dataset", "dataset", help="Only models for this dataset family "
              "(imagenet, cifar10).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def models_command(session, patterns, dataset, as_json):
    """List models (PATTERNS may use wildcards: 'resnet*')."""
    rows = _model_rows(session, patterns, dataset)
    _emit(rows, _broken_rows(session), as_json,
          [("name", "NAME"), ("dataset", "DATASET"), ("image_size", "IMAGE"),
           ("default_batch_size", "BATCH"), ("params", "PARAMS"), ("gflops", "GFLOPS"),
           ("description", "DESCRIPTION")])


def _simple_listing(kind: str, name: str, summary: str, extra=()):
    @click.command(name, help=summary)
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @click.pass_obj
    def command(session, as_json):
        _emit(_rows(session, kind), _broken_rows(session), as_json,
              [("name", "NAME"), *extra, ("distribution", "FROM"),
               ("description", "DESCRIPTION")])
    return command


datasets_command = _simple_listing(
    "dataset", "datasets", "List datasets.",
    [("num_classes", "CLASSES"), ("train_examples", "TRAIN"), ("validation_examples", "VAL")])
variable_managers_command = _simple_listing(
    "variable_manager", "variable-managers", "List variable managers (--variable_update) and "
    "their capabilities: how they combine gradients (mean, sum, none), whether they take "
    "--all_reduce_spec, whether they span workers.",
    [("gradient_reduction", "GRADIENTS"), ("all_reduce_spec", "ALL-REDUCE"),
     ("multi_worker", "MULTI-WORKER")])
allreduce_command = _simple_listing(
    "allreduce", "allreduce", "List all-reduce algorithms (--all_reduce_spec).")
preprocessors_command = _simple_listing(
    "preprocessor", "preprocessors", "List preprocessors of real data (--input_preprocessor).",
    [("scope", "DATASET")])
