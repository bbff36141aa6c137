"""Registers ``smallnet`` with cnnb. This is the module the ``cnnb`` entry point names.

It imports no TensorFlow: cnnb loads it for ``cnnb --help`` and the listings
too, which must stay fast. The model is written with cnnb's layer builder, so
``cnnb models`` counts its parameters and FLOPs without TensorFlow, and the
same definition runs in the benchmark's TensorFlow step.
"""

from __future__ import annotations

import cnnb
from cnnb.model import BuilderModel

IMAGE_SIZE = 32


def smallnet(cnn, width: int = 16, hidden: int = 64) -> None:
    """Two 3x3 conv blocks (the second one twice as wide), each with a 2x2 max
    pool, then a hidden fully connected layer; cnnb adds the final classifier."""
    cnn.conv(width, 3, 3)
    cnn.mpool(2, 2)
    cnn.conv(2 * width, 3, 3)
    cnn.mpool(2, 2)
    cnn.flatten()
    cnn.affine(hidden)


SMALLNET = BuilderModel("smallnet", smallnet, image_size=IMAGE_SIZE, default_batch_size=32,
                        description="Example plugin: a small VGG-style CNN (2 conv blocks)",
                        options={"width": 16, "hidden": 64})


@cnnb.hookimpl
def cnnb_register_models(registry):
    """One variant per dataset family: ImageNet-like data (1000 classes) and CIFAR-10."""
    for scope in ("imagenet", "cifar10"):
        registry.register("smallnet", SMALLNET, SMALLNET.description, scope=scope,
                          image_size=IMAGE_SIZE, default_batch_size=SMALLNET.default_batch_size)
