"""A broken plugin: its dependency is not installed, so importing it fails.

cnnb must list it as broken (with this distribution and the error), keep
everything else working, and fail fast when someone picks ``example_broken``.
"""

from __future__ import annotations

import cnnb
import cnnb_example_missing_dependency  # noqa: F401  (deliberately absent)


@cnnb.hookimpl
def cnnb_register_models(registry):
    registry.register("example_broken", "cnnb_example.broken:MODEL", scope="imagenet")
