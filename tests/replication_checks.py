"""Checks of the replication contract that run in a child process (they split
the CPU into logical devices, which a process can do only before TensorFlow
starts). Each ``check_*`` raises AssertionError on failure. Not a test module.
"""

from __future__ import annotations

import types

from cnnb.engine.tfsetup import ensure_logical_cpus


class FixedLogits:
    """A "network" whose logits always favour class 0, whatever the images:
    two classes, logits (2, 0) plus 0 x a weight (so there is a gradient)."""

    def __init__(self, device: str):
        import tensorflow as tf
        self.device = device
        with tf.device(device):
            self.weight = tf.Variable(1.0)
        self.model = types.SimpleNamespace()          # no loss_function: cross-entropy

    @property
    def trainable_variables(self) -> list:
        return [self.weight]

    def __call__(self, images, training: bool, update_stats: bool = True):
        import tensorflow as tf
        rows = tf.shape(images)[0]
        logits = tf.tile(tf.constant([[2.0, 0.0]]), [rows, 1]) + 0.0 * self.weight
        return logits, None


def _two_tower_manager(name: str):
    from cnnb.engine.optimizers import make_optimizer
    from cnnb.plugins.variable_managers import local
    from cnnb.replication import ReplicationSettings
    from cnnb.settings import OptimizerSettings
    ensure_logical_cpus(2)
    devices = ("/cpu:0", "/cpu:1")
    manager = {"independent": local.Independent,
               "parameter_server": local.ParameterServer}[name](ReplicationSettings(devices))
    manager.create_towers(lambda device, index: FixedLogits(device or "/cpu:0"))
    manager.create_optimizers(lambda variables: make_optimizer(OptimizerSettings(), variables))
    return manager


def check_accuracy_counts_every_tower(name: str = "independent"):
    """Identical images; tower 0's labels are all 0 (right), tower 1's all 1
    (wrong): top-1 over the global batch is 0.5, in training and inference
    (tower 0 alone would say 1.0)."""
    import tensorflow as tf
    from cnnb.engine.step import make_forward_step, make_train_step
    from cnnb.settings import LossSettings, StepSettings
    manager = _two_tower_manager(name)

    def inputs(index):
        return tf.zeros([4, 1, 1, 3]), tf.fill([4], index)

    settings = StepSettings(with_accuracy=True)
    train = make_train_step(manager, inputs, settings, LossSettings(weight_decay=0.0))
    forward = make_forward_step(manager, inputs, settings)
    for step in (train, forward):
        result = step(tf.constant(0.1))
        top_1, top_5 = float(result["top_1"]), float(result["top_5"])
        assert top_1 == 0.5, (name, top_1)
        assert top_5 == 1.0, (name, top_5)      # two classes: both are in the top 5
