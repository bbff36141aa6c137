"""One of two plugins that both register the model name ``example_dup``."""

from __future__ import annotations

import cnnb
from cnnb_example.models import EXAMPLE_TINY


@cnnb.hookimpl
def cnnb_register_models(registry):
    registry.register("example_dup", EXAMPLE_TINY, "example_dup from plugin b",
                      scope="imagenet", image_size=EXAMPLE_TINY.image_size,
                      default_batch_size=EXAMPLE_TINY.default_batch_size)
