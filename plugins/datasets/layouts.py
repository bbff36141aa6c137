"""Where each built-in dataset keeps its files. TensorFlow-free: these checks
run while planning, so a wrong ``--data_dir`` fails in a second."""

from __future__ import annotations

import dataclasses
import glob
import os

from cnnb.dataset import DataFiles, DatasetSpec, check_directory
from cnnb.errors import ConfigError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")


@dataclasses.dataclass(frozen=True)
class TFRecordShards(DatasetSpec):
    """TFRecord shards named ``train-*-of-*`` and ``validation-*-of-*``."""

    def _pattern(self, data_dir: str, subset: str) -> str:
        return os.path.join(glob.escape(data_dir), f"{subset}-*-of-*")

    def recognizes(self, data_dir: str) -> bool:
        return any(glob.glob(self._pattern(data_dir, subset)) for subset in ("train", "validation"))

    def locate(self, data_dir: str, subset: str) -> DataFiles:
        check_directory(data_dir)
        pattern = self._pattern(data_dir, subset)
        paths = sorted(path for path in glob.glob(pattern) if os.path.isfile(path))
        shown = os.path.join(data_dir, f"{subset}-*-of-*")
        if not paths:
            raise ConfigError(f"Found no files in --data_dir matching: {shown}; {self.name} "
                              f"needs TFRecord shards named {subset}-NNNNN-of-NNNNN.")
        return DataFiles(subset, tuple(paths), shown)


CIFAR_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)),
               "validation": ("test_batch",)}


@dataclasses.dataclass(frozen=True)
class CifarPickles(DatasetSpec):
    """CIFAR-10 'python version' pickles: ``data_batch_1..5`` and ``test_batch``."""

    def recognizes(self, data_dir: str) -> bool:
        return any(os.path.isfile(os.path.join(data_dir, name))
                   for names in CIFAR_FILES.values() for name in names)

    def locate(self, data_dir: str, subset: str) -> DataFiles:
        check_directory(data_dir)
        paths = tuple(os.path.join(data_dir, name) for name in CIFAR_FILES[subset])
        missing = [path for path in paths if not os.path.isfile(path)]
        if missing:
            raise ConfigError(f"{missing[0]} does not exist; CIFAR-10 needs the python-version "
                              "pickles data_batch_1..5 and test_batch in --data_dir.")
        return DataFiles(subset, paths, data_dir)


SUBSET_FOLDERS = {"train": ("train",), "validation": ("validation", "val")}


@dataclasses.dataclass(frozen=True)
class ImageFolder(DatasetSpec):
    """One sub-folder of JPEG/PNG images per class, under ``train/`` and
    ``validation/`` (or ``val/``); without those, the class folders sit in
    ``--data_dir`` itself and serve both subsets. Classes are the sorted
    folder names of the training subset; labels are their indices."""

    def recognizes(self, data_dir: str) -> bool:
        root = _subset_root(data_dir, "train")
        return any(_images_in(os.path.join(root, name)) for name in _class_folders(root))

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
    return sorted(entry.name for entry in os.scandir(root)
                  if entry.is_dir() and not entry.name.startswith(".") and entry.name not in skip)


def _images_in(folder: str) -> list[str]:
    if not os.path.isdir(folder):
        return []
    return sorted(entry.path for entry in os.scandir(folder)
                  if entry.is_file() and entry.name.lower().endswith(IMAGE_EXTENSIONS))
