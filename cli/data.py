"""``cnnb data``: work with data files (``cnnb data fake`` writes test data,
``cnnb data count`` records how many examples a dataset holds)."""

from __future__ import annotations

import importlib
import os

import click

from cnnb.errors import ConfigError, PluginLoadError


@click.group("data")
def data_command():
    """Work with datasets on disk."""


@data_command.command("fake")
@click.option("--format", "format_name", required=True, metavar="NAME",
              help="Dataset format to write: imagenet, cifar10, imagefolder (or a plugin's).")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Directory to write into (created if missing).")
@click.option("--num_train", "--num-train", type=click.IntRange(min=0), default=1000,
              show_default=True, help="Training images.")
@click.option("--num_validation", "--num-validation", type=click.IntRange(min=0), default=200,
              show_default=True, help="Validation images.")
@click.option("--num_classes", "--num-classes", type=click.IntRange(min=1), default=10,
              show_default=True, help="Classes; each has its own colour.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--min_size", "--min-size", type=click.IntRange(min=8), default=48,
              show_default=True, help="Smallest image side (imagenet, imagefolder).")
@click.option("--max_size", "--max-size", type=click.IntRange(min=8), default=128,
              show_default=True, help="Largest image side (imagenet, imagefolder).")
@click.option("--shards", type=click.IntRange(min=1), default=8, show_default=True,
              help="Training TFRecord shards (imagenet; validation gets a quarter).")
@click.pass_obj
def fake_command(session, format_name, out, **sizes):
    """Write fake data in a dataset's real file format.

    Every image is a class-specific colour plus noise, so a small model can
    learn the classes; use it to test training, evaluation and input pipelines
    without downloading a dataset.

    \b
    Example:
      cnnb data fake --format=cifar10 --out=/tmp/cifar10 --num_train=2000 --num_validation=500
    """
    spec = session.plugins.registry("dataset").get(format_name).load()
    if not getattr(spec, "fake_writer", None):
        raise ConfigError(f"dataset '{format_name}' cannot write fake data; use one of: "
                          f"{', '.join(_writable(session))}.")
    from cnnb.plugins.datasets.fakedata import FakeDataRequest
    request = FakeDataRequest(out=out, **sizes)
    summary = _load(spec.fake_writer)(request)
    if getattr(spec, "write_counts", None):         # runs then need not count the files
        spec.write_counts(out)
    click.echo(f"Wrote {request.num_train} training and {request.num_validation} validation "
               f"images of {request.num_classes} classes in {format_name} format to {out} "
               f"({summary['files']} files).")


@data_command.command("count")
@click.argument("data_dir", type=click.Path())
@click.option("--data_name", "--data-name", metavar="NAME", default=None,
              help="The dataset format (default: inferred as 'cnnb run' does).")
@click.pass_obj
def count_command(session, data_dir, data_name):
    """Count the examples in DATA_DIR and record them next to the files.

    'cnnb run' counts small datasets itself, so --num_epochs and the 'Num
    epochs' line use the examples actually there; TFRecord sets over 1 GiB are
    not counted while planning (a cold disk makes that slow), and use the
    dataset's published counts unless this command recorded theirs. The record
    (cnnb-counts.json) is ignored once the files change; count again then.
    """
    from cnnb.planning import infer_dataset_name
    datasets = session.plugins.registry("dataset")
    name = infer_dataset_name(datasets, data_name, data_dir)
    spec = datasets.get(name).load()
    if not getattr(spec, "write_counts", None):
        raise ConfigError(f"dataset '{name}' counts its files on every run; there is nothing "
                          "to record.")
    counted = spec.write_counts(data_dir)
    shown = ", ".join(f"{examples:,} {subset}" for subset, examples in counted.items())
    click.echo(f"{data_dir} ({name}): {shown} examples; recorded in "
               f"{os.path.join(data_dir, 'cnnb-counts.json')}.")


def _writable(session) -> list[str]:
    return [entry.name for entry in session.plugins.registry("dataset").entries()
            if getattr(entry.load(), "fake_writer", None)]


def _load(target: str):
    module, _, attribute = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attribute)
    except ImportError as error:
        raise PluginLoadError(f"cannot load fake-data writer '{target}': {error}") from error
