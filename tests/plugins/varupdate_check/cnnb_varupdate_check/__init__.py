"""The predecessor's variable-update check (``VariableUpdateTest``) as a cnnb plugin.

* model ``test_model``: two scalar variables A = 1 and B = 2 as 1x1
  convolutions without bias; the output is x * A * B and the loss is its
  mean (no softmax), so the losses of a few SGD steps have a closed form.
* dataset ``test_data`` with preprocessor ``default``: 1x1 images whose
  values are x = -1, 0, 1, ..., 14 in this order, repeated (the predecessor's
  ``127.5 * arange(16)`` after normalization); each tower takes the next
  batch. Run it with any existing ``--data_dir`` (no files are read).
* every timed step prints ``cnnb-test-loss STEP LOSS`` with the loss at full
  precision (the step lines round to 3 decimals).

Registration imports no TensorFlow.
"""

from __future__ import annotations

import dataclasses

import cnnb
from cnnb.dataset import DataFiles, DatasetSpec
from cnnb.model import BuilderModel

VALUES = tuple(float(x) for x in range(-1, 15))
SCOPE = "varupdate_test"


def mult_by_a_and_b(cnn):
    """x -> x * A * B. The 3 equal input channels become 3 rows of one channel,
    so each variable is a single 1x1x1x1 kernel (its L2 is v^2 / 2)."""
    backend = cnn.backend
    x = backend.reshape(cnn.top_layer, [-1, 1, 1, 1])
    for name, value in (("mult_by_var_A", 1.0), ("mult_by_var_B", 2.0)):
        kernel = backend.variable(f"{name}/kernel", [1, 1, 1, 1], ("constant", value))
        x = backend.conv2d(x, kernel, [1, 1, 1, 1], "VALID", "NHWC")
    cnn.top_layer, cnn.top_size = backend.reshape(x, [-1, 1]), 1


@dataclasses.dataclass(frozen=True)
class MeanOutputModel(BuilderModel):
    """A builder model whose loss is the mean of its output."""

    def loss_function(self, logits, labels):
        import tensorflow as tf
        return tf.reduce_mean(logits)


@dataclasses.dataclass(frozen=True)
class FixedSequenceData(DatasetSpec):
    """The fixed inputs; ``locate`` finds no files because none are read."""

    def locate(self, data_dir: str, subset: str) -> DataFiles:
        return DataFiles(subset, (data_dir,), data_dir)


MODEL = MeanOutputModel("test_model", mult_by_a_and_b, 1, 2,
                        "x * A * B with A=1, B=2; loss = mean (variable-update check)",
                        skip_final_affine=True)
DATASET = FixedSequenceData("test_data", 1, len(VALUES), len(VALUES), SCOPE,
                            "1x1 images x = -1..14 in order (variable-update check)",
                            image_size=1)


@cnnb.hookimpl
def cnnb_register_models(registry):
    registry.register(MODEL.name, MODEL, MODEL.description, scope=SCOPE, image_size=1,
                      default_batch_size=2)


@cnnb.hookimpl
def cnnb_register_datasets(registry):
    registry.register(DATASET.name, DATASET, DATASET.description, num_classes=1,
                      train_examples=len(VALUES), validation_examples=len(VALUES),
                      model_scope=SCOPE)


@cnnb.hookimpl
def cnnb_register_preprocessors(registry):
    registry.register("default", "cnnb_varupdate_check.inputs:FixedSequence",
                      "The values x = -1..14 in order, as 1x1 images", scope=DATASET.name)


@cnnb.hookimpl
def cnnb_step_end(step, stats):
    print(f"cnnb-test-loss {step} {stats.loss!r}", flush=True)
