"""``cnnb data``: work with data files (``cnnb data fake`` writes test data)."""

from __future__ import annotations

import importlib

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
    click.echo(f"Wrote {request.num_train} training and {request.num_validation} validation "
               f"images of {request.num_classes} classes in {format_name} format to {out} "
               f"({summary['files']} files).")


def _writable(session) -> list[str]:
    return [entry.name for entry in session.plugins.registry("dataset").entries()
            if getattr(entry.load(), "fake_writer", None)]


def _load(target: str):
    module, _, attribute = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attribute)
    except ImportError as error:
        raise PluginLoadError(f"cannot load fake-data writer '{target}': {error}") from error
