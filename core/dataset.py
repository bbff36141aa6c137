"""Dataset and preprocessor contracts: what dataset plugins register.

A *dataset* driver is a :class:`DatasetSpec` (TensorFlow-free): its shape
facts, plus how to find its files under ``--data_dir`` (:meth:`DatasetSpec.locate`)
so that a missing directory or an empty glob fails before TensorFlow starts.
A *preprocessor* driver (:class:`Preprocessor`, imported only when chosen)
turns those files into batches with ``tf.data``. Nothing here imports
TensorFlow.
"""

from __future__ import annotations

import dataclasses
import os

from cnnb.errors import CnnbError, ConfigError

SUBSETS = ("train", "validation")

#: Preprocessors wrap the text of an input check that failed in these markers
#: (inside a ``tf.debugging.Assert``); the engine turns it back into a DataError.
DATA_ERROR_MARKER = "cnnb-data-error: "
DATA_ERROR_END = " :cnnb-end"


class DataError(CnnbError):
    """Input data cnnb cannot read; the message names the file and the problem."""


@dataclasses.dataclass(frozen=True)
class DataFiles:
    """The files of one subset found under ``--data_dir``.

    ``labels`` is one label per path for formats that keep labels outside the
    files (an image folder); None when the files hold their labels.
    ``where`` describes the location in messages (a glob, a directory).
    """

    subset: str
    paths: tuple[str, ...]
    where: str
    labels: tuple[int, ...] | None = None


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """A dataset's shape facts. ``model_scope`` picks which variant of a model
    (ImageNet- or CIFAR-sized) runs on it; ``image_size`` overrides the model's
    (None: the model's own size). ``fake_writer`` is a lazy ``"module:function"``
    that writes fake data in this format (``cnnb data fake``).

    This base class has no real data (synthetic only); subclasses that read
    files override :meth:`locate` and usually :meth:`recognizes`.
    """

    name: str
    num_classes: int
    train_examples: int
    validation_examples: int
    model_scope: str
    description: str = ""
    image_size: int | None = None
    fake_writer: str | None = None

    @property
    def has_real_data(self) -> bool:
        return type(self).locate is not DatasetSpec.locate

    def recognizes(self, data_dir: str) -> bool:
        """True if ``data_dir`` looks like this dataset's files (used to infer
        ``--data_name`` when the path does not name the dataset)."""
        return False

    def bind(self, data_dir: str) -> DatasetSpec:
        """This spec for the data in ``data_dir``; a format whose class and
        example counts depend on the files returns a spec with those counts
        (epochs and the default evaluation length count the examples given,
        not the published ones)."""
        check_directory(data_dir)
        return self

    def locate(self, data_dir: str, subset: str) -> DataFiles:
        """The files of ``subset`` (``train`` or ``validation``); raises
        ConfigError naming what is missing."""
        raise ConfigError(f"dataset '{self.name}' has no real data files; leave out --data_dir "
                          "or pick a dataset that reads files with --data_name.")


def check_directory(data_dir: str) -> None:
    """A one-line ConfigError unless ``data_dir`` is a directory cnnb can list,
    checked before anything globs or scans it (a glob of an unreadable
    directory finds nothing, and would blame the files)."""
    if os.path.isdir(data_dir):
        if not os.access(data_dir, os.R_OK | os.X_OK):
            raise ConfigError(f"--data_dir={data_dir} cannot be listed (permission denied); "
                              "give this user read access to it.")
        return
    raise ConfigError(f"--data_dir={data_dir} {why_not(data_dir, 'a directory')}; point it at "
                      "the dataset's files (or leave it out for synthetic data).")


def why_not(path: str, kind: str) -> str:
    """Why ``path`` is not an existing ``kind`` ("a directory", "a file"), in
    words that point at the cause: a broken link, a file on the way, ..."""
    try:
        os.stat(path)
    except PermissionError:     # os.path.exists() says False: not the same as missing
        return "cannot be reached (permission denied on a folder on its path)"
    except OSError:
        pass
    if os.path.islink(path) and not os.path.exists(path):
        return f"is a broken symbolic link (to {os.readlink(path)})"
    if os.path.isdir(path):
        return f"is a directory, not {kind}"
    if os.path.exists(path):
        return f"is not {kind}"
    ancestor = os.path.dirname(os.path.abspath(path))
    while not os.path.lexists(ancestor) and ancestor != os.path.dirname(ancestor):
        ancestor = os.path.dirname(ancestor)
    if os.path.lexists(ancestor) and not os.path.isdir(ancestor):
        return f"does not exist ({ancestor} is a file, not a directory)"
    return "does not exist"


@dataclasses.dataclass(frozen=True)
class InputOptions:
    """The flags a preprocessor reads (its own typed options, not the whole config)."""

    resize_method: str = "bilinear"
    distortions: bool = False
    distort_color_in_yiq: bool = True
    fuse_decode_and_crop: bool = True
    ml_perf: bool = False
    interleave_cycle_length: int | None = None
    sloppy_interleave: bool = False
    use_caching: bool = False
    repeat_cached_sample: bool = False
    private_threads: int | None = None
    seed: int | None = None

    @classmethod
    def from_config(cls, config) -> InputOptions:
        return cls(
            resize_method=config.resize_method, distortions=config.distortions,
            distort_color_in_yiq=config.distort_color_in_yiq,
            fuse_decode_and_crop=config.fuse_decode_and_crop, ml_perf=config.ml_perf,
            interleave_cycle_length=config.datasets_parallel_interleave_cycle_length,
            sloppy_interleave=config.datasets_sloppy_parallel_interleave,
            use_caching=config.datasets_use_caching,
            repeat_cached_sample=config.datasets_repeat_cached_sample,
            private_threads=config.datasets_num_private_threads,
            seed=config.tf_random_seed)


class Preprocessor:
    """The contract of preprocessor drivers (``--input_preprocessor``).

    Registered with ``scope`` = the dataset name it reads, as a lazy
    ``"module:Class"`` (the module imports TensorFlow). The first line of a
    subclass's docstring is its description.
    """

    def __init__(self, dataset: DatasetSpec, image_size: int, options: InputOptions):
        self.dataset, self.image_size, self.options = dataset, image_size, options

    def make_dataset(self, files: DataFiles, batch_size: int, training: bool):
        """A ``tf.data.Dataset`` of ``(images, labels)`` batches that repeats forever:
        images float32 ``[batch_size, S, S, 3]`` (NHWC, S = ``image_size``), labels
        int32 ``[batch_size]`` in ``[0, num_classes)``. Training batches are
        shuffled and distorted; evaluation batches come in file order, so every
        pass over the same files sees the same images.

        Problems found while building (an unreadable file) raise DataError; a
        bad record found while iterating fails a ``tf.debugging.Assert`` whose
        message is ``DATA_ERROR_MARKER + text + DATA_ERROR_END``.
        """
        raise NotImplementedError
