"""Keras models in the benchmark, next to builder models.

Three ways in, all run by the same engine (same step, optimizer, weight decay
and output lines) through :class:`cnnb.engine.keras_network.KerasNetwork`:

* ``--model=keras:ResNet50``: any ``keras.applications`` constructor, built
  with ``weights=None``, the dataset's classes, logits out;
* ``--model=package.module:callable``: a callable returning a ``keras.Model``;
* a plugin registering ``"module:callable"`` (with ``image_size`` and
  ``default_batch_size`` metadata).

The callable receives those of ``input_shape``, ``classes``, ``num_classes``,
``weights`` and ``classifier_activation`` that it accepts, and must return
logits (no softmax). Its attributes ``image_size``, ``default_batch_size``
and ``learning_rate`` set the run's defaults. This module imports TensorFlow
only in :meth:`KerasModel.build` and when resolving a ``keras:`` name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import inspect
from typing import Any, Callable

from cnnb.errors import ConfigError, PluginLoadError, close_matches
from cnnb.registry import _first_doc_line

KERAS_PREFIX = "keras:"
DEFAULT_IMAGE_SIZE = 224
DEFAULT_BATCH_SIZE = 32

#: keras.applications constructors whose native input is not 224x224.
KERAS_IMAGE_SIZES = {
    "InceptionV3": 299, "InceptionResNetV2": 299, "Xception": 299, "NASNetLarge": 331,
    "EfficientNetB1": 240, "EfficientNetB2": 260, "EfficientNetB3": 300, "EfficientNetB4": 380,
    "EfficientNetB5": 456, "EfficientNetB6": 528, "EfficientNetB7": 600,
    "EfficientNetV2B1": 240, "EfficientNetV2B2": 260, "EfficientNetV2B3": 300,
    "EfficientNetV2S": 384, "EfficientNetV2M": 480, "EfficientNetV2L": 480,
}


@dataclasses.dataclass(frozen=True)
class KerasModel:
    """A ``keras.Model`` factory with the defaults a run needs."""

    name: str
    factory: Callable[..., Any]
    image_size: int = DEFAULT_IMAGE_SIZE
    default_batch_size: int = DEFAULT_BATCH_SIZE
    description: str = ""
    learning_rate: float = 0.005
    schedule: Callable[[int, int, Any], float] | None = None
    display_name: str | None = None
    aux_loss_weight: float = 0.4

    #: tells the engine to run this model with KerasNetwork
    is_keras = True

    def build(self, num_classes: int, image_size: int, data_format: str = "NHWC"):
        """The keras.Model for ``num_classes`` on ``image_size`` images in ``data_format``."""
        import keras
        shape = (image_size, image_size, 3) if data_format == "NHWC" else (3, image_size,
                                                                           image_size)
        offered = {"input_shape": shape, "classes": num_classes, "num_classes": num_classes,
                   "weights": None, "classifier_activation": None}
        with _image_data_format(keras, data_format):
            try:
                model = self.factory(**_accepted(self.factory, offered))
            except ValueError as error:
                raise ConfigError(f"model '{self.name}' cannot be built for {num_classes} "
                                  f"classes on {image_size}x{image_size} images: {error}") \
                    from error
        _check_built(keras, model, self.name, num_classes)
        return model

    def learning_rate_at(self, global_step: int, batch_size: int, context: Any) -> float:
        if self.schedule is not None:
            return self.schedule(global_step, batch_size, context)
        return self.learning_rate


def _accepted(factory, offered: dict) -> dict:
    """The offered keyword arguments the factory's signature takes (all of the
    basic ones when it takes ``**kwargs``)."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return {"input_shape": offered["input_shape"], "classes": offered["classes"]}
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return {"input_shape": offered["input_shape"], "classes": offered["classes"]}
    return {key: value for key, value in offered.items() if key in parameters}


@contextlib.contextmanager
def _image_data_format(keras, data_format: str):
    """Keras layers read the global image data format when they are created."""
    previous = keras.config.image_data_format()
    keras.config.set_image_data_format("channels_last" if data_format == "NHWC"
                                       else "channels_first")
    try:
        yield
    finally:
        keras.config.set_image_data_format(previous)


def _check_built(keras, model, name: str, num_classes: int) -> None:
    if not isinstance(model, keras.Model):
        raise ConfigError(f"model '{name}' returned {type(model).__name__}, not a keras.Model.")
    outputs = model.output_shape
    if not isinstance(outputs, tuple) or len(outputs) != 2 or outputs[-1] != num_classes:
        raise ConfigError(f"model '{name}' outputs shape {outputs}; the benchmark needs "
                          f"(batch, {num_classes}) logits for this dataset.")
    if getattr(model.layers[-1], "activation", None) is keras.activations.softmax:
        raise ConfigError(f"model '{name}' ends in a softmax; return logits (e.g. "
                          "classifier_activation=None).")


def is_external_model_name(name: str) -> bool:
    """``keras:Name`` or ``module:callable``; registered names never hold a colon."""
    return ":" in name


def resolve_external(name: str) -> KerasModel:
    """The KerasModel for a ``keras:`` or ``module:callable`` --model value."""
    if name.startswith(KERAS_PREFIX):
        return _keras_application(name[len(KERAS_PREFIX):])
    module_name, _, attribute = name.partition(":")
    _quiet_tensorflow()
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        raise ConfigError(f"--model={name}: cannot import module '{module_name}': "
                          f"{type(error).__name__}: {error}") from error
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ConfigError(f"--model={name}: module '{module_name}' has no callable "
                          f"'{attribute}'; give module.path:function returning a keras.Model.")
    return from_callable(name, factory)


def _quiet_tensorflow() -> None:
    """Import TensorFlow the engine's way (its C++ log chatter off) before Keras."""
    from cnnb.engine.tfsetup import import_tensorflow
    import_tensorflow()


def _keras_application(application: str) -> KerasModel:
    _quiet_tensorflow()
    import keras
    known = sorted(n for n in dir(keras.applications) if n[:1].isupper()
                   and callable(getattr(keras.applications, n)))
    if application not in known:
        matches = close_matches(application, known)
        hint = f" Did you mean: {', '.join(matches)}?" if matches else ""
        raise ConfigError(f"unknown Keras application '{application}'.{hint} "
                          f"keras.applications has: {', '.join(known)}.")
    return KerasModel(f"{KERAS_PREFIX}{application}", getattr(keras.applications, application),
                      image_size=KERAS_IMAGE_SIZES.get(application, DEFAULT_IMAGE_SIZE),
                      description=f"keras.applications.{application} (weights=None)")


def from_callable(name: str, factory, metadata: dict | None = None) -> KerasModel:
    """A KerasModel from a callable; its defaults from ``metadata``, then its attributes."""
    metadata = metadata or {}

    def setting(key, default):
        return metadata.get(key, getattr(factory, key, default))
    return KerasModel(name, factory, image_size=setting("image_size", DEFAULT_IMAGE_SIZE),
                      default_batch_size=setting("default_batch_size", DEFAULT_BATCH_SIZE),
                      learning_rate=setting("learning_rate", 0.005),
                      description=_first_doc_line(factory))


def as_model(target, entry):
    """A registry entry's loaded target as a model spec: builder and Keras models as
    they are; a bare callable becomes a KerasModel."""
    if hasattr(target, "learning_rate_at"):
        return target
    if callable(target):
        return from_callable(entry.name, target, entry.metadata)
    raise PluginLoadError(f"model '{entry.name}' from {entry.provider} is a "
                          f"{type(target).__name__}; a model must be a cnnb.model.BuilderModel "
                          "or a callable returning a keras.Model.")
