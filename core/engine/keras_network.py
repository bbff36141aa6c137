"""A Keras model behind the engine's network interface.

:class:`KerasNetwork` offers what :class:`cnnb.engine.network.Network` offers
(``trainable_variables``, ``__call__(images, training, update_stats)`` ->
``(logits, aux_logits)``, ``store.decayed()``, ``model.aux_loss_weight``,
``device``), so Keras models run through the same step, optimizer, weight
decay and output lines as builder models. The variables handed to the
optimizer are the ``tf.Variable`` objects inside Keras's variables, which the
fused ``ResourceApply*`` kernels update in place.
"""

from __future__ import annotations

import keras
import tensorflow as tf

#: layers whose variables weight decay leaves alone (the predecessor skipped batch norm)
NORMALIZATION_LAYERS = (keras.layers.BatchNormalization, keras.layers.LayerNormalization,
                        keras.layers.GroupNormalization)


class KerasVariables:
    """A Keras model's variables seen as a :class:`cnnb.tfops.VariableStore`:
    ``variables`` (name -> tf.Variable, for checkpoints), ``trainable`` and
    ``decayed()``."""

    def __init__(self, keras_model):
        self.keras_model = keras_model

    @property
    def variables(self) -> dict:
        """Every variable (moving statistics too) by its Keras path."""
        return {variable.path: _tf_variable(variable) for variable in self.keras_model.variables}

    @property
    def trainable(self) -> list:
        return [_tf_variable(v) for v in self.keras_model.trainable_variables]

    def decayed(self) -> list:
        """Trainable variables outside normalization layers."""
        excluded = {id(v) for layer in _all_layers(self.keras_model)
                    if isinstance(layer, NORMALIZATION_LAYERS) for v in layer.weights}
        return [_tf_variable(v) for v in self.keras_model.trainable_variables
                if id(v) not in excluded]


class KerasNetwork:
    """A :class:`cnnb.keras_model.KerasModel` built on ``device``."""

    def __init__(self, model, num_classes: int, image_size: int, data_format: str,
                 device: str, name_prefix: str = ""):
        self.model, self.num_classes = model, num_classes
        self.data_format, self.device = data_format, device
        with tf.device(device):
            self.keras_model = model.build(num_classes, image_size, data_format)
        self.store = KerasVariables(self.keras_model)

    @property
    def trainable_variables(self) -> list:
        return self.store.trainable

    def __call__(self, images, training: bool, update_stats: bool = True):
        """(logits, None). Keras batch norm updates its own model's moving statistics
        in training, so ``update_stats`` has no effect here."""
        logits = self.keras_model(images, training=training)
        return tf.cast(logits, tf.float32), None


def _tf_variable(variable):
    """The tf.Variable inside a Keras variable (the object itself if it is one)."""
    if isinstance(variable, tf.Variable):
        return variable
    return variable.value


def _all_layers(keras_model):
    """Every layer, nested models' layers included."""
    stack, seen = [keras_model], []
    while stack:
        layer = stack.pop()
        seen.append(layer)
        stack.extend(getattr(layer, "layers", []))
    return seen
