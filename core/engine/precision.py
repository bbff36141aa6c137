"""Reduced-precision compute for Keras models (builder models cast in
:class:`cnnb.tfops.TFBackend`; the flags and rules are :mod:`cnnb.precision`)."""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def keras_dtype_policy(precision):
    """Build a Keras model under Keras's mixed policy for fp16/bf16 (float32
    variables, reduced compute), restoring the global policy afterwards."""
    if precision is None or precision.compute_dtype == "float32":
        yield
        return
    import keras
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(f"mixed_{precision.compute_dtype}")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
