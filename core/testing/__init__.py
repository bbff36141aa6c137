"""cnnb.testing: the model conformance suite, for cnnb's models and any plugin's.

Every registered model must build at its native image size, take one training
step at batch 2 on the CPU with a finite loss, give logits of shape
``[batch, classes]``, and have the parameter count that ``cnnb models`` lists
(for builder models: the pure-Python shape trace's count equals the count of
the TensorFlow variables actually built, and every one of them gets a
gradient). Run it against all installed models, or a plugin's::

    pytest --pyargs cnnb.testing                  # every installed model
    pytest --pyargs cnnb.testing -k acme_net      # one model (ids are SCOPE/NAME)

or call :func:`check_model` from your own tests. ``pytest -p cnnb.testing.plugin``
(or ``pytest_plugins = ["cnnb.testing.plugin"]`` in a conftest) adds the
fixtures ``cnnb_plugins`` and ``cnnb_model_cases``.

Importing this module does not import TensorFlow; :func:`check_model` does.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

DEFAULT_NUM_CLASSES = 1000


class ConformanceError(AssertionError):
    """A model broke the contract; the message says which rule and the numbers."""


@dataclasses.dataclass(frozen=True)
class ModelCase:
    """One registered model, with what a run on its dataset family would use."""

    name: str
    scope: str | None
    num_classes: int
    entry: Any                       # the registry Entry
    listed_params: int | None        # what ``cnnb models`` shows
    flops: int | None                # forward FLOPs per image (builder models)
    num_variables: int = 0           # variables the shape trace lists (builder models)

    @property
    def id(self) -> str:
        return f"{self.scope}/{self.name}" if self.scope else self.name

    def load(self):
        from cnnb.keras_model import as_model
        return as_model(self.entry.load(), self.entry)


@dataclasses.dataclass(frozen=True)
class ConformanceResult:
    """What one conformance check measured."""

    params: int
    traced_params: int | None
    loss: float
    logits_shape: tuple


def model_cases(plugins=None) -> list[ModelCase]:
    """Every registered model (all installed plugins unless ``plugins`` is given),
    with the class count of a dataset of its scope."""
    if plugins is None:
        from cnnb.pluginmanager import load_plugins
        plugins = load_plugins()
    classes = scope_classes(plugins)
    cases = []
    for entry in plugins.registry("model").entries():
        num_classes = classes.get(entry.scope, DEFAULT_NUM_CLASSES)
        trace = getattr(entry.target, "trace", None)
        result = trace(num_classes) if callable(trace) else None
        listed = entry.metadata.get("params", result.params if result else None)
        cases.append(ModelCase(entry.name, entry.scope, num_classes, entry, listed,
                               result.flops if result else None,
                               len(result.variables) if result else 0))
    return cases


def scope_classes(plugins) -> dict:
    """Model scope -> class count: the dataset named like the scope (imagenet,
    cifar10), else the first of that scope with a fixed class count."""
    classes = {}
    for entry in plugins.registry("dataset").entries():
        spec = entry.load()
        if spec.num_classes > 0 and (spec.name == spec.model_scope
                                     or spec.model_scope not in classes):
            classes[spec.model_scope] = spec.num_classes
    return classes


def is_heavy(case: ModelCase, flops_limit: float = 10e9, params_limit: int = 50_000_000,
             variables_limit: int = 1000) -> bool:
    """Whether checking this model costs more than a few seconds on a small CPU:
    much compute, many parameters to initialize, or many small ops."""
    return ((case.flops or 0) >= flops_limit or (case.listed_params or 0) >= params_limit
            or case.num_variables >= variables_limit)


def model_params(plugins=None, heavy_marks=()) -> list:
    """``pytest.param`` per model (id SCOPE/NAME) for ``@pytest.mark.parametrize``;
    ``heavy_marks`` (e.g. ``pytest.mark.slow``) go on the expensive ones."""
    import pytest
    return [pytest.param(case, id=case.id, marks=heavy_marks if is_heavy(case) else ())
            for case in model_cases(plugins)]


def check_case(case: ModelCase, batch_size: int = 2) -> ConformanceResult:
    """:func:`check_model` for a registered model, against its listed parameter count."""
    return check_model(case.load(), case.num_classes, listed_params=case.listed_params,
                       batch_size=batch_size)


def check_model(model, num_classes: int, *, listed_params: int | None = None,
                image_size: int | None = None, batch_size: int = 2,
                device: str = "/cpu:0", data_format: str = "NHWC") -> ConformanceResult:
    """Build ``model`` (a BuilderModel or KerasModel) as the engine does, check its
    parameter counts, and take one training step; raise ConformanceError on a
    broken rule. The step runs eagerly: the same ops as the benchmark's
    ``tf.function`` step, without the graph compile time."""
    from cnnb.engine.network import make_network
    size = image_size or model.image_size
    traced = _check_trace(model, num_classes, size, batch_size, listed_params, data_format)
    network = make_network(model, num_classes, size, data_format, device)
    params = sum(v.shape.num_elements() for v in network.trainable_variables)
    expected = traced if traced is not None else listed_params
    if expected is not None and params != expected:
        raise ConformanceError(f"{model.name}: TensorFlow built {params:,} trainable "
                               f"parameters, but {expected:,} are listed")
    loss, shape = _train_step(network, num_classes, size, batch_size, device, data_format)
    return ConformanceResult(params, traced, loss, shape)


def _check_trace(model, num_classes, size, batch_size, listed_params, data_format):
    """The shape trace's parameter count (None for Keras models), checked."""
    if not hasattr(model, "trace"):
        return None
    trace = model.trace(num_classes, batch_size=batch_size, image_size=size,
                        data_format=data_format)
    if tuple(trace.logits_shape) != (batch_size, num_classes):
        raise ConformanceError(f"{model.name}: the shape trace gives logits "
                               f"{trace.logits_shape}, expected ({batch_size}, {num_classes})")
    if listed_params is not None and trace.params != listed_params:
        raise ConformanceError(f"{model.name}: the shape trace counts {trace.params:,} "
                               f"parameters, but {listed_params:,} are listed")
    return trace.params


def _train_step(network, num_classes, size, batch_size, device, data_format):
    """One SGD step on synthetic data like the engine's; (loss, logits shape)."""
    import tensorflow as tf
    from cnnb.engine.network import losses
    shape = ([batch_size, size, size, 3] if data_format == "NHWC"
             else [batch_size, 3, size, size])
    from cnnb.settings import LossSettings
    loss_settings = LossSettings(weight_decay=4e-5)
    variables = network.trainable_variables
    with tf.device(device):
        images = tf.random.truncated_normal(shape, mean=127, stddev=60, seed=1)
        labels = tf.random.uniform([batch_size], 0, max(num_classes - 1, 1), tf.int32, seed=2)
        with tf.GradientTape() as tape:
            logits, aux_logits = network(images, training=True)
            base, total = losses(network, logits, aux_logits, labels, loss_settings)
        # the data loss's gradient: weight decay would give unused variables one too
        grads = [g if g is None else tf.convert_to_tensor(g)      # IndexedSlices too
                 for g in tape.gradient(base, variables)]
        _check_step(network, logits, total, grads, variables, batch_size, num_classes)
        for grad, variable in zip(grads, variables):
            variable.assign_sub(0.001 * grad)
    return float(total), tuple(logits.shape)


def _check_step(network, logits, loss, grads, variables, batch_size, num_classes):
    name = network.model.name
    if tuple(logits.shape) != (batch_size, num_classes):
        raise ConformanceError(f"{name}: logits have shape {tuple(logits.shape)}, expected "
                               f"({batch_size}, {num_classes})")
    if not math.isfinite(float(loss)):
        raise ConformanceError(f"{name}: the training loss is {float(loss)}")
    unused = [v.name for g, v in zip(grads, variables) if g is None]
    if unused:
        raise ConformanceError(f"{name}: {len(unused)} trainable variable(s) get no gradient "
                               f"(not used by the forward pass), e.g. {unused[:3]}")
    import tensorflow as tf
    bad = [v.name for g, v in zip(grads, variables)
           if not bool(tf.reduce_all(tf.math.is_finite(g)))]
    if bad:
        raise ConformanceError(f"{name}: non-finite gradients for {bad[:3]}")


def graph_flops(function, input_shape) -> int:
    """Forward FLOPs (2 per multiply-add) of the Conv2D, DepthwiseConv2dNative and
    (Batch)MatMul ops in the TensorFlow graph of ``function(images)``: a count
    independent of the shape trace, usable for any model (Keras ones too)."""
    import tensorflow as tf
    spec = tf.TensorSpec(input_shape, tf.float32)
    graph = tf.function(function, autograph=False).get_concrete_function(spec).graph
    total = 0
    for op in graph.get_operations():
        outputs = op.outputs[0].shape.num_elements() if op.outputs else 0
        if op.type == "Conv2D":
            kh, kw, cin, _ = op.inputs[1].shape
            total += 2 * kh * kw * cin * outputs
        elif op.type == "DepthwiseConv2dNative":
            kh, kw, _, _ = op.inputs[1].shape
            total += 2 * kh * kw * outputs
        elif op.type in ("MatMul", "BatchMatMulV2"):
            transposed = op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x")
            inner = op.inputs[0].shape[-2 if transposed else -1]
            total += 2 * inner * outputs
    return total


def network_graph_flops(model, num_classes: int, image_size: int | None = None) -> int:
    """:func:`graph_flops` of ``model`` built by the engine, per image at batch 1."""
    from cnnb.engine.network import make_network
    size = image_size or model.image_size
    network = make_network(model, num_classes, size, "NHWC", "/cpu:0")
    return graph_flops(lambda images: network(images, training=False)[0], [1, size, size, 3])
