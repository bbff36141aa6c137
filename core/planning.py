"""From a frozen configuration and the loaded plugins to a concrete run plan.

Everything that can be decided without TensorFlow is decided here: which
model, dataset and variable manager, the batch sizes, the number of batches
and epochs, the warm-up, the devices, the mode. Bad names fail here, fast,
with close-match suggestions.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from cnnb.config import RunConfig
from cnnb.errors import ConfigError

DEFAULT_NUM_BATCHES = 100


@dataclasses.dataclass(frozen=True)
class RunPlan:
    config: RunConfig
    model: Any                  # a cnnb.model.BuilderModel
    model_entry: Any            # its registry Entry
    dataset: Any                # a cnnb.dataset.DatasetSpec
    synthetic: bool
    variable_manager: Any       # registry Entry
    batch_size_per_device: int
    batch_size: int             # per worker: per device x devices
    num_batches: int
    num_epochs: float
    num_warmup_batches: int
    devices: tuple[str, ...]
    mode: str
    image_size: int


def resolve_names(plugins, model: str, data_name: str | None, variable_update: str):
    """(dataset spec, model entry, variable-manager entry); fails fast on bad names."""
    dataset = plugins.registry("dataset").get(data_name or "imagenet").load()
    model_entry = plugins.registry("model").get(
        model, dataset.model_scope, context=f" for dataset '{dataset.name}'")
    return dataset, model_entry, plugins.registry("variable_manager").get(variable_update)


def plan_run(config: RunConfig, plugins) -> RunPlan:
    dataset, model_entry, vm_entry = resolve_names(plugins, config.model, config.data_name,
                                                   config.variable_update)
    model = model_entry.load()
    per_device = config.batch_size or model.default_batch_size
    batch = per_device * config.num_gpus
    num_batches, num_epochs = batches_and_epochs(config.num_batches, config.num_epochs, batch,
                                                 dataset.train_examples)
    kind = "gpu" if config.device == "gpu" else "cpu"
    return RunPlan(
        config=config, model=model, model_entry=model_entry, dataset=dataset,
        synthetic=True, variable_manager=vm_entry, batch_size_per_device=per_device,
        batch_size=batch, num_batches=num_batches, num_epochs=num_epochs,
        num_warmup_batches=warmup_batches(config), mode=run_mode(config),
        devices=tuple(f"/{kind}:{i}" for i in range(config.num_gpus)),
        image_size=dataset.image_size or model.image_size)


def batches_and_epochs(num_batches, num_epochs, batch_size: int, examples: int):
    """(batches, epochs): one given, the other derived; neither means 100 batches."""
    if num_batches is not None and num_epochs is not None:
        raise ConfigError("--num_batches and --num_epochs cannot both be given; pick one.")
    if num_epochs is not None:
        num_batches = max(1, math.ceil(num_epochs * examples / batch_size))
    elif num_batches is None:
        num_batches = DEFAULT_NUM_BATCHES
    return num_batches, num_batches * batch_size / examples


def warmup_batches(config: RunConfig) -> int:
    if config.num_warmup_batches is not None:
        return config.num_warmup_batches
    return max(10, 5 * (config.autotune_threshold or 0) ** 2)


def run_mode(config: RunConfig) -> str:
    return "forward only" if config.forward_only else "training"
