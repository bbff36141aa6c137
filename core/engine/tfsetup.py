"""Importing and configuring TensorFlow before anything runs."""

from __future__ import annotations

import os

from cnnb.errors import TensorFlowMissingError


def import_tensorflow():
    """TensorFlow, quiet, or a clear error naming the package to install."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ImportError as error:
        raise TensorFlowMissingError() from error
    return tf


def visible_gpu_count() -> int:
    tf = import_tensorflow()
    return len(tf.config.list_physical_devices("GPU"))


def configure(config) -> None:
    """Threads, seeds, XLA auto-clustering and GPU memory growth; must run
    before TensorFlow initializes its devices."""
    import numpy as np
    tf = import_tensorflow()
    if config.num_intra_threads is not None:
        tf.config.threading.set_intra_op_parallelism_threads(config.num_intra_threads)
    if config.num_inter_threads:
        tf.config.threading.set_inter_op_parallelism_threads(config.num_inter_threads)
    if config.xla:
        tf.config.optimizer.set_jit("autoclustering")
    if config.allow_growth:
        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)
    tf.random.set_seed(config.tf_random_seed)
    np.random.seed(4321)
