"""Where each built-in dataset keeps its files, and how many examples they hold.
TensorFlow-free: these checks run while planning, so a wrong ``--data_dir``
fails in a second and epochs count the examples actually given."""

from __future__ import annotations

import dataclasses
import glob
import os
import sys

from cnnb.dataset import SUBSETS, DataFiles, DatasetSpec, check_directory, why_not
from cnnb.errors import ConfigError
from cnnb.plugins.datasets import counts

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")

#: Above this many bytes of TFRecord shards in a subset, planning does not walk
#: their records: it assumes the dataset's published count and says so (or
#: reads the counts 'cnnb data count' recorded). Measured on this 2-core machine,
#: 1 GiB of ImageNet-sized (110 kB) records walks in 0.05 s cached and 1.5 s
#: from disk; real ImageNet (1.28 M records, 140 GB) would take minutes cold.
COUNT_LIMIT_BYTES = 1 << 30


@dataclasses.dataclass(frozen=True)
class CountedFiles(DatasetSpec):
    """A format whose example counts are read from its files when bound to a
    ``--data_dir``: from the sidecar ``cnnb data fake``/``cnnb data count``
    wrote, else by counting (:meth:`count_examples`)."""

    def bind(self, data_dir: str) -> DatasetSpec:
        check_directory(data_dir)
        found, guessed, stale = {}, {}, False
        for subset in SUBSETS:
            try:
                files = self.locate(data_dir, subset)
            except ConfigError:     # planning reports a missing subset if the run needs it
                continue
            found[subset], state = self.examples_in(data_dir, files)
            if found[subset] is None:
                found[subset] = guessed[subset] = self.published_examples(subset)
                stale = stale or state == "stale"
        if guessed:
            _note_guessed(self.name, data_dir, guessed, stale)
        return dataclasses.replace(
            self, train_examples=found.get("train", self.train_examples),
            validation_examples=found.get("validation", self.validation_examples))

    def published_examples(self, subset: str) -> int:
        return self.train_examples if subset == "train" else self.validation_examples

    def examples_in(self, data_dir: str, files: DataFiles) -> tuple[int | None, str]:
        """(examples, sidecar state): the sidecar's count while it matches the
        files, else the files' own count (None: too slow to count now)."""
        recorded, state = counts.recorded_examples(data_dir, files)
        if recorded is not None:
            return recorded, state
        return self.count_examples(files, quick=True), state

    def count_examples(self, files: DataFiles, quick: bool) -> int | None:
        """The examples in ``files``; with ``quick``, None where counting would
        be slow (the published count is used, with a note)."""
        raise NotImplementedError

    def write_counts(self, data_dir: str) -> dict[str, int]:
        """Count every subset in ``data_dir`` in full and record the counts in
        its sidecar, so later runs neither count nor guess."""
        check_directory(data_dir)
        counted = {}
        for subset in SUBSETS:
            try:
                files = self.locate(data_dir, subset)
            except ConfigError:
                continue
            counted[subset] = (files, self.count_examples(files, quick=False))
        if not counted:
            self.locate(data_dir, "train")          # raises, naming what is missing
        counts.write_sidecar(data_dir, self.name, counted)
        return {subset: examples for subset, (_, examples) in counted.items()}


def _note_guessed(name: str, data_dir: str, guessed: dict[str, int], stale: bool) -> None:
    """Say on stderr that epochs count published, not counted, examples."""
    published = ", ".join(f"{examples:,} {subset}" for subset, examples in guessed.items())
    why = (f"its {counts.SIDECAR_NAME} is out of date (the files changed since it was written)"
           if stale else f"it has no {counts.SIDECAR_NAME}")
    print(f"note: {data_dir} is too large to count its examples while planning and {why}; "
          f"assuming {name}'s published {published} examples. Run 'cnnb data count "
          f"{data_dir}' once to record the real counts.", file=sys.stderr)


@dataclasses.dataclass(frozen=True)
class TFRecordShards(CountedFiles):
    """TFRecord shards named ``train-*-of-*`` and ``validation-*-of-*``."""

    def _pattern(self, data_dir: str, subset: str) -> str:
        return os.path.join(glob.escape(data_dir), f"{subset}-*-of-*")

    def recognizes(self, data_dir: str) -> bool:
        return any(glob.glob(self._pattern(data_dir, subset)) for subset in ("train", "validation"))

    def locate(self, data_dir: str, subset: str) -> DataFiles:
        check_directory(data_dir)
        pattern = self._pattern(data_dir, subset)
        matches = sorted(glob.glob(pattern))
        paths = [path for path in matches if os.path.isfile(path)]
        shown = os.path.join(data_dir, f"{subset}-*-of-*")
        if len(paths) < len(matches):
            odd = next(path for path in matches if not os.path.isfile(path))
            raise ConfigError(f"{odd} {why_not(odd, 'a TFRecord file')}, but its name says it is "
                              f"a {subset} shard; replace or remove it.")
        if not paths:
            raise ConfigError(f"Found no files in --data_dir matching: {shown}; {self.name} "
                              f"needs TFRecord shards named {subset}-NNNNN-of-NNNNN.")
        return DataFiles(subset, tuple(paths), shown)

    def count_examples(self, files: DataFiles, quick: bool) -> int | None:
        if quick and sum(os.path.getsize(path) for path in files.paths) > COUNT_LIMIT_BYTES:
            return None
        return sum(counts.tfrecord_count(path) for path in files.paths)


CIFAR_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)),
               "validation": ("test_batch",)}


@dataclasses.dataclass(frozen=True)
class CifarPickles(CountedFiles):
    """CIFAR-10 'python version' pickles: ``data_batch_1..5`` and ``test_batch``."""

    def recognizes(self, data_dir: str) -> bool:
        return any(os.path.isfile(os.path.join(data_dir, name))
                   for names in CIFAR_FILES.values() for name in names)

    def locate(self, data_dir: str, subset: str) -> DataFiles:
        check_directory(data_dir)
        paths = tuple(os.path.join(data_dir, name) for name in CIFAR_FILES[subset])
        missing = [path for path in paths if not os.path.isfile(path)]
        if missing:
            raise ConfigError(f"{missing[0]} {why_not(missing[0], 'a file')}; CIFAR-10 needs "
                              "the python-version pickles data_batch_1..5 and test_batch in "
                              "--data_dir.")
        return DataFiles(subset, paths, data_dir)

    def count_examples(self, files: DataFiles, quick: bool) -> int:
        """The rows of every pickle: loading them is the only exact way, and takes
        about a second for the real 180 MB (they are read again by the preprocessor)."""
        from cnnb.plugins.datasets.cifar_files import load_batch     # imports numpy
        return sum(len(load_batch(path, self.num_classes)[1]) for path in files.paths)


SUBSET_FOLDERS = {"train": ("train",), "validation": ("validation", "val")}


@dataclasses.dataclass(frozen=True)
class ImageFolder(DatasetSpec):
    """One sub-folder of JPEG/PNG images per class, under ``train/`` and
    ``validation/`` (or ``val/``); without those, the class folders sit in
    ``--data_dir`` itself and serve both subsets. Classes are the sorted
    folder names of the training subset; labels are their indices."""

    def recognizes(self, data_dir: str) -> bool:
        root = _subset_root(data_dir, "train")
        try:
            return any(_images_in(os.path.join(root, name)) for name in _class_folders(root))
        except ConfigError:     # unreadable: not recognized (check_directory says why)
            return False

    #: (data_dir, subset) -> DataFiles found by :meth:`bind`, so planning's
    #: :meth:`locate` does not list every image a second time.
    found: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def bind(self, data_dir: str) -> ImageFolder:
        check_directory(data_dir)
        classes = self._classes(data_dir)
        found = {(data_dir, "train"): self.locate(data_dir, "train", classes)}
        try:
            found[(data_dir, "validation")] = self.locate(data_dir, "validation", classes)
        except ConfigError:      # a training-only folder; evaluating it fails when planned
            pass
        validation = found.get((data_dir, "validation"))
        return dataclasses.replace(
            self, num_classes=len(classes), train_examples=len(found[(data_dir, "train")].paths),
            validation_examples=len(validation.paths) if validation else 0, found=found)

    def _classes(self, data_dir: str) -> list[str]:
        root = _subset_root(data_dir, "train")
        classes = _class_folders(root)
        if not classes:
            raise ConfigError(f"{root} holds no class folders; an image folder needs one "
                              "sub-folder of JPEG/PNG images per class.")
        return classes

    def locate(self, data_dir: str, subset: str, classes: list[str] | None = None) -> DataFiles:
        if (data_dir, subset) in self.found:
            return self.found[(data_dir, subset)]
        check_directory(data_dir)
        classes = classes or self._classes(data_dir)
        root = _subset_root(data_dir, subset)
        if root == data_dir and _subset_root(data_dir, "train") != data_dir:
            raise ConfigError(f"{data_dir} has a train/ folder but no {subset}/ folder; "
                              f"{subset} needs one (with the same class folders).")
        extra = sorted(set(_class_folders(root)) - set(classes))
        if extra:
            raise ConfigError(f"{os.path.join(root, extra[0])} is a class folder that "
                              "training data does not have; both subsets need the same classes.")
        paths, labels = [], []
        for label, name in enumerate(classes):
            images = _images_in(os.path.join(root, name))
            paths += images
            labels += [label] * len(images)
        if not paths:
            raise ConfigError(f"Found no .jpg, .jpeg or .png images in the class folders of "
                              f"{root}.")
        return DataFiles(subset, tuple(paths), root, tuple(labels))


def _subset_root(data_dir: str, subset: str) -> str:
    for name in SUBSET_FOLDERS[subset]:
        if os.path.isdir(os.path.join(data_dir, name)):
            return os.path.join(data_dir, name)
    return data_dir


def _class_folders(root: str) -> list[str]:
    if not os.path.isdir(root):
        return []
    skip = {name for names in SUBSET_FOLDERS.values() for name in names}
    return sorted(entry.name for entry in _entries(root)
                  if entry.is_dir() and not entry.name.startswith(".") and entry.name not in skip)


def _images_in(folder: str) -> list[str]:
    """The image files of a class folder; an image name that is not a readable
    file (a broken link, a directory) is an error, not an image quietly dropped."""
    if not os.path.isdir(folder):
        return []
    named = [entry for entry in _entries(folder)
             if entry.name.lower().endswith(IMAGE_EXTENSIONS) and not entry.name.startswith(".")]
    odd = [entry.path for entry in named if not entry.is_file()]
    if odd:
        raise ConfigError(f"{odd[0]} {why_not(odd[0], 'an image file')}; replace or remove it.")
    return sorted(entry.path for entry in named)


def _entries(folder: str) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except OSError as error:
        raise ConfigError(f"{folder} cannot be listed ({error.strerror or error}); give this "
                          "user read access to it.") from None
