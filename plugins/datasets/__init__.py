"""cnnb's built-in datasets. Registration only; no TensorFlow is imported."""

from __future__ import annotations

import cnnb
from cnnb.dataset import DatasetSpec

IMAGENET = DatasetSpec(
    "imagenet", 1001, 1281167, 50000, "imagenet",
    "ImageNet ILSVRC-2012: 1000 classes + background (label 0); synthetic without --data_dir")
CIFAR10 = DatasetSpec(
    "cifar10", 10, 50000, 10000, "cifar10",
    "CIFAR-10: 32x32 images in 10 classes; synthetic without --data_dir", image_size=32)


@cnnb.hookimpl
def cnnb_register_datasets(registry):
    for spec in (IMAGENET, CIFAR10):
        registry.register(spec.name, spec, spec.description, num_classes=spec.num_classes,
                          train_examples=spec.train_examples,
                          validation_examples=spec.validation_examples,
                          model_scope=spec.model_scope)
