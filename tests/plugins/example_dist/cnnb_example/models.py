"""A good model plugin: one tiny builder model that trains in milliseconds."""

from __future__ import annotations

import cnnb
from cnnb.model import BuilderModel

IMAGE_SIZE = 16


def tiny_cnn(cnn, width=8, hidden=32):
    """3x3 conv, 2x2 max pool, one hidden affine layer: the smallest real CNN."""
    cnn.conv(width, 3, 3)
    cnn.mpool(2, 2)
    cnn.flatten()
    cnn.affine(hidden)


EXAMPLE_TINY = BuilderModel("example_tiny", tiny_cnn, IMAGE_SIZE, 4,
                            "Tiny example CNN from a third-party distribution",
                            options={"width": 8, "hidden": 32})


@cnnb.hookimpl
def cnnb_register_models(registry):
    registry.register("example_tiny", EXAMPLE_TINY, EXAMPLE_TINY.description, scope="imagenet",
                      image_size=EXAMPLE_TINY.image_size,
                      default_batch_size=EXAMPLE_TINY.default_batch_size)
