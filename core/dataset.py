"""Dataset specs: what a dataset plugin registers."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """A dataset's shape facts. ``model_scope`` picks which variant of a model
    (ImageNet- or CIFAR-sized) runs on it; ``image_size`` overrides the model's
    (None: the model's own size)."""

    name: str
    num_classes: int
    train_examples: int
    validation_examples: int
    model_scope: str
    description: str = ""
    image_size: int | None = None
