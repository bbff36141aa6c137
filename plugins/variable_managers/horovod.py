"""``horovod``: one process per device, gradients summed by Horovod (optional).

The predecessor's horovod mode: every process (started by ``horovodrun -np N
cnnb run --variable_update=horovod ...``) runs one tower on its own device
(GPU ``local_rank``), sums every gradient across processes with
``hvd.allreduce(op=hvd.Sum)`` (``--horovod_device`` picks the device of the
reduction) and starts from rank 0's variables (a broadcast). Rank 0 is the
chief. Planning refuses the mode before TensorFlow starts when Horovod cannot
be imported (its registration declares ``requires=("horovod",)``): Horovod's
last release (0.28.1) does not build against TensorFlow 2.16+ and Keras 3, so
it is kept correct by design, not tested here.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from cnnb.engine.variables import VariableManager, fill_missing
from cnnb.errors import ConfigError
from cnnb.replication import WorkerInfo


def _horovod():
    try:
        import horovod.tensorflow as hvd
    except ImportError as error:      # planning checked the package; its TF part may not load
        raise ConfigError(f"--variable_update=horovod: Horovod's TensorFlow support cannot be "
                          f"imported ({error}); it does not build against TensorFlow 2.16+ / "
                          "Keras 3. Use collective_all_reduce (cnnb launch).") from None
    return hvd


class Horovod(VariableManager):
    """One device per process; gradients summed across processes by hvd.allreduce."""

    max_devices = 1

    @classmethod
    def prepare_process(cls, settings) -> None:
        hvd = _horovod()
        hvd.init()
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            tf.config.set_visible_devices(gpus[hvd.local_rank()], "GPU")

    def __init__(self, settings):
        super().__init__(settings)
        self.hvd = _horovod()
        self.settings = dataclasses.replace(settings, worker=WorkerInfo(self.hvd.rank(),
                                                                        self.hvd.size()))

    def create_towers(self, make_network):
        self.network = make_network(self.devices[0], 0)
        self.towers = [self.network]
        self.hvd.broadcast_variables(self.network.trainable_variables, root_rank=0)
        return self.towers

    def create_optimizers(self, make_optimizer):
        self.optimizers = [make_optimizer(self.network.trainable_variables)]

    def apply_gradients(self, tower_grads, lr):
        grads = fill_missing(tower_grads[0], self.network.trainable_variables)
        device = self.settings.options.get("horovod_device") or ""
        summed = [self.hvd.allreduce(g, op=self.hvd.Sum, device_dense=device) for g in grads]
        self.optimizers[0].apply(self.clip(summed), lr)
