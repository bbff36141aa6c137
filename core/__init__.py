"""cnnb: a plugin-based CNN benchmark for TensorFlow 2.

The public API for plugin authors is small: :data:`hookimpl` to mark hook
implementations, the layer builder and model spec (:mod:`cnnb.builder`,
:mod:`cnnb.model`), the option type (:mod:`cnnb.options`) and the errors
(:mod:`cnnb.errors`). Importing ``cnnb`` does not import TensorFlow.
"""

from __future__ import annotations

import importlib.metadata

import pluggy

from cnnb.errors import CnnbError, ConfigError, PluginLoadError, UnknownNameError

try:
    __version__ = importlib.metadata.version("cnnb")
except importlib.metadata.PackageNotFoundError:   # running from a source tree
    __version__ = "0+unknown"

#: Marks a function of a plugin module as a cnnb hook implementation.
hookimpl = pluggy.HookimplMarker("cnnb")

__all__ = ["hookimpl", "__version__", "CnnbError", "ConfigError", "PluginLoadError",
           "UnknownNameError"]
