"""Importing and configuring TensorFlow before anything runs."""

from __future__ import annotations

import os
import sys
import tempfile

from cnnb.errors import ConfigError, TensorFlowMissingError


def import_tensorflow():
    """TensorFlow, quiet, or a clear error naming the package to install.

    oneDNN CPU kernels are turned on unless the user chose otherwise: TF enables
    them by default only on some Intel CPUs, and on the AMD EPYC machines here
    they make ResNet-50 training 1.5-1.6x faster (bench/resnet50_vs_plain_loop.py
    with and without TF_ENABLE_ONEDNN_OPTS=1). Set TF_ENABLE_ONEDNN_OPTS=0 to
    measure TF's own default.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    with _native_stderr_held_back() as held:
        try:
            import tensorflow as tf
        except ImportError as error:
            held.release()
            raise TensorFlowMissingError() from error
    return tf


class _native_stderr_held_back:
    """Hold back what TensorFlow's C++ side writes to stderr while it loads.

    It logs through absl before TF_CPP_MIN_LOG_LEVEL applies (e.g. "oneDNN custom
    operations are on"), which would break cnnb's one-line errors. The text is
    written out after all if loading fails or CNNB_TF_LOGS=1.
    """

    def __enter__(self):
        sys.stderr.flush()
        self._saved = os.dup(2)
        self._file = tempfile.TemporaryFile()
        os.dup2(self._file.fileno(), 2)
        self._released = os.environ.get("CNNB_TF_LOGS", "") not in ("", "0")
        return self

    def release(self) -> None:
        self._released = True

    def __exit__(self, *exc_info):
        os.dup2(self._saved, 2)
        os.close(self._saved)
        if self._released or exc_info[0] is not None:
            self._file.seek(0)
            sys.stderr.write(self._file.read().decode(errors="replace"))
        self._file.close()
        return False


def visible_gpu_count() -> int:
    tf = import_tensorflow()
    return len(tf.config.list_physical_devices("GPU"))


def configure(runtime) -> None:
    """Threads, seeds, XLA auto-clustering and GPU memory growth; must run
    before TensorFlow initializes its devices (``runtime``: a
    :class:`cnnb.settings.RuntimeSettings`)."""
    import numpy as np
    tf = import_tensorflow()
    prepare_devices(runtime)
    if runtime.num_intra_threads is not None:
        tf.config.threading.set_intra_op_parallelism_threads(runtime.num_intra_threads)
    if runtime.num_inter_threads:
        tf.config.threading.set_inter_op_parallelism_threads(runtime.num_inter_threads)
    if runtime.xla_auto_clustering:
        tf.config.optimizer.set_jit("autoclustering")
    if runtime.allow_growth:
        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)
    tf.random.set_seed(runtime.seed)
    np.random.seed(4321)


def prepare_devices(runtime) -> None:
    """Make sure the run's devices exist: on ``--device=cpu``, split the CPU into
    logical devices (this must happen before TensorFlow initializes anything);
    on ``--device=gpu``, check that enough GPUs are visible."""
    from cnnb.devices import devices_needed
    needed = devices_needed(runtime.num_devices, runtime.gpu_indices)
    if runtime.device == "cpu":
        ensure_logical_cpus(needed)
        return
    visible = visible_gpu_count()
    if visible < needed:
        indices = runtime.gpu_indices
        raise ConfigError(f"this run needs {needed} GPU(s) (--num_gpus={runtime.num_devices}"
                          f"{', --gpu_indices=' + indices if indices else ''})"
                          f" but {visible} {'is' if visible == 1 else 'are'} visible; use "
                          "fewer, or --device=cpu for logical CPU devices.")


def ensure_logical_cpus(count: int) -> None:
    """Split the first physical CPU into ``count`` logical devices (/cpu:0..).

    A process can do this only once, before TensorFlow initializes its
    devices; later calls succeed when enough logical CPUs already exist.
    """
    tf = import_tensorflow()
    if count <= 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) >= count:
        return
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])
    except RuntimeError:
        existing = len(tf.config.list_logical_devices("CPU"))
        if existing >= count:
            return
        raise ConfigError(f"{count} logical CPU devices are needed but TensorFlow already "
                          f"started in this process with {existing}; they can only be made "
                          "before it starts: run in a fresh process.") from None
