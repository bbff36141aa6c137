"""cnnb's built-in datasets and preprocessors. Registration only; no TensorFlow
is imported (the preprocessors are lazy ``module:Class`` targets)."""

from __future__ import annotations

import cnnb
from cnnb.dataset import DatasetSpec
from cnnb.plugins.datasets.layouts import CifarPickles, ImageFolder, TFRecordShards

_FAKE = "cnnb.plugins.datasets.fakedata"

SYNTHETIC = DatasetSpec(
    "synthetic", 1001, 1281167, 50000, "imagenet",
    "Random ImageNet-shaped images kept on the device (what runs without --data_dir)")
IMAGENET = TFRecordShards(
    "imagenet", 1001, 1281167, 50000, "imagenet",
    "ImageNet ILSVRC-2012 TFRecords: 1000 classes + background (label 0); synthetic "
    "without --data_dir", fake_writer=f"{_FAKE}:write_imagenet")
CIFAR10 = CifarPickles(
    "cifar10", 10, 50000, 10000, "cifar10",
    "CIFAR-10 python pickles: 32x32 images in 10 classes; synthetic without --data_dir",
    image_size=32, fake_writer=f"{_FAKE}:write_cifar10")
IMAGEFOLDER = ImageFolder(
    "imagefolder", 0, 0, 0, "imagenet",
    "A folder of JPEG/PNG images, one sub-folder per class (counts read from the files)",
    fake_writer=f"{_FAKE}:write_imagefolder")

PREPROCESSORS = (
    ("imagenet", "cnnb.plugins.datasets.imagenet:ImagenetPreprocessor"),
    ("cifar10", "cnnb.plugins.datasets.cifar10:Cifar10Preprocessor"),
    ("imagefolder", "cnnb.plugins.datasets.imagefolder:ImageFolderPreprocessor"),
)
PREPROCESSOR_DESCRIPTIONS = {
    "imagenet": "Sampled-box crop (fused with JPEG decode), flip, resize, colour distortions "
                "with --distortions; eval: aspect-preserving resize and central crop",
    "cifar10": "With --distortions, pad to 40x40, random 32x32 crop and flip when training; "
               "scale to [-1, 1]",
    "imagefolder": "The ImageNet preprocessing on JPEG or PNG files",
}


@cnnb.hookimpl
def cnnb_register_datasets(registry):
    for spec in (SYNTHETIC, IMAGENET, CIFAR10, IMAGEFOLDER):
        registry.register(spec.name, spec, spec.description, num_classes=spec.num_classes or None,
                          train_examples=spec.train_examples or None,
                          validation_examples=spec.validation_examples or None,
                          model_scope=spec.model_scope, real_data=spec.has_real_data)


@cnnb.hookimpl
def cnnb_register_preprocessors(registry):
    for dataset, target in PREPROCESSORS:
        registry.register("default", target, PREPROCESSOR_DESCRIPTIONS[dataset], scope=dataset)
