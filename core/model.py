"""Model specs: what a model plugin registers.

A :class:`BuilderModel` is data: a family's ``add_inference(cnn, **options)``
function plus the variant's options and defaults (image size, batch size,
learning rate). Because the layers go through the builder, :meth:`trace`
counts parameters and FLOPs in pure Python, and the TensorFlow engine creates
exactly the variables the trace lists.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from cnnb.builder import ConvNetBuilder
from cnnb.shapes import Shape, ShapeBackend

#: ``schedule(global_step, batch_size, context) -> learning rate``; context is a
#: :class:`cnnb.learning_rate.ScheduleContext` (devices, gradient reduction,
#: training examples, and the values of the model's ``run_options``).
Schedule = Callable[[int, int, Any], float]


@dataclasses.dataclass(frozen=True)
class Trace:
    """What a shape-only run of a model found."""

    params: int
    flops: int
    variables: tuple
    logits_shape: tuple


@dataclasses.dataclass(frozen=True)
class BuilderModel:
    """A CNN written with :class:`cnnb.builder.ConvNetBuilder`."""

    name: str
    add_inference: Callable[..., None]
    image_size: int
    default_batch_size: int
    description: str = ""
    learning_rate: float = 0.005
    schedule: Schedule | None = None
    options: dict = dataclasses.field(default_factory=dict)
    display_name: str | None = None          # the predecessor's get_model_name()
    skip_final_affine: bool = False
    aux_loss_weight: float = 0.4
    run_options: tuple = ()                  # run options its schedule reads (context.options)

    def build_network(self, cnn: ConvNetBuilder, num_classes: int) -> Any:
        """Run the layers, then the final linear layer of ``num_classes`` outputs."""
        self.add_inference(cnn, **self.options)
        if not self.skip_final_affine:
            cnn.affine(num_classes, activation="linear")
            if cnn.aux_top_layer is not None:
                cnn.aux_logits = cnn.affine(num_classes, activation="linear",
                                            input_layer=cnn.aux_top_layer,
                                            num_channels_in=cnn.aux_top_size)
        return cnn.top_layer

    def trace(self, num_classes: int, batch_size: int = 1, data_format: str = "NHWC",
              training: bool = True, image_size: int | None = None) -> Trace:
        """Shapes, parameters and FLOPs (per image), without TensorFlow."""
        backend = ShapeBackend()
        size = image_size or self.image_size
        dims = (batch_size, size, size, 3) if data_format == "NHWC" else (batch_size, 3, size,
                                                                          size)
        cnn = ConvNetBuilder(backend, Shape(dims), 3, training, data_format)
        logits = self.build_network(cnn, num_classes)
        return Trace(backend.trainable_params, backend.flops // batch_size,
                     tuple(backend.variables), logits.dims)

    def learning_rate_at(self, global_step: int, batch_size: int, context: Any) -> float:
        """The model's own learning rate: its schedule, else a constant."""
        if self.schedule is not None:
            return self.schedule(global_step, batch_size, context)
        return self.learning_rate
