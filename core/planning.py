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

from cnnb.allreduce import plan_all_reduce
from cnnb.cluster import for_cluster, plan_cluster, worker_of
from cnnb.config import RunConfig
from cnnb.devices import tower_devices
from cnnb.errors import ConfigError
from cnnb.keras_model import as_model, is_external_model_name, resolve_external
from cnnb.registry import Entry, Provider
from cnnb.replication import (Capabilities, ReplicationSettings, check_all_reduce_flags,
                              check_variable_update, declared_options)
from cnnb.rules import EVAL_DURING_TRAINING_FLAGS
from cnnb.settings import Settings, settings_from_flags

DEFAULT_NUM_BATCHES = 100


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """Everything decided about a run before TensorFlow starts.

    Engine components get their own typed parts: ``settings`` (optimizer,
    loss, loop, schedule, checkpoints, ...), ``replication`` (the variable
    manager's) and ``all_reduce``. ``config``, the flags as given, is kept for
    the result record and the info block, not for components to dig in.
    """

    config: RunConfig
    model: Any                  # a cnnb.model.BuilderModel or cnnb.keras_model.KerasModel
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
    data_dir: str | None = None
    data_files: dict = dataclasses.field(default_factory=dict)   # subset -> DataFiles
    preprocessor: Any = None    # registry Entry of the preprocessor (real data only)
    eval_batch_size_per_device: int = 0
    num_eval_batches: int = 0
    num_eval_epochs: float = 0.0
    eval_every_n_steps: int | None = None
    eval_at_steps: frozenset = frozenset()
    all_reduce: Any = None      # cnnb.allreduce.AllReducePlan (replicated mode) or None
    capabilities: Capabilities = Capabilities()     # the variable manager's
    replication: ReplicationSettings | None = None  # what the variable manager gets
    settings: Settings = Settings()
    plugins: Any = dataclasses.field(default=None, compare=False, repr=False)  # cnnb.api's

    @property
    def eval_batch_size(self) -> int:
        return self.eval_batch_size_per_device * len(self.devices)

    def eval_due(self, local_step: int) -> bool:
        """Whether training + evaluation evaluates after timed step ``local_step``
        (1-based, counted in this run, as the predecessor did)."""
        if self.eval_every_n_steps:
            return local_step % self.eval_every_n_steps == 0
        return local_step in self.eval_at_steps


_UNKNOWN = object()


def resolve_names(plugins, model: str, data_name: str | None, variable_update: str,
                  data_dir=_UNKNOWN):
    """(dataset spec, model entry, variable-manager entry); fails fast on bad names.

    Called before the configuration exists (``data_dir`` unknown) without
    ``--data_name``, the dataset may still be inferred from ``--data_dir``
    later: then the model is only checked to exist for some dataset.
    """
    if data_name is None and data_dir is _UNKNOWN and not is_external_model_name(model):
        models = plugins.registry("model")
        scopes = {entry.scope for entry in models.entries() if entry.name == model}
        if not scopes:
            models.get(model)          # raises with close matches
        if all((model, scope) in models.conflicts() for scope in scopes):
            models.get(model, scopes.pop())    # raises, naming both providers
        return None, None, variable_manager_entry(plugins, variable_update)
    datasets = plugins.registry("dataset")
    name = infer_dataset_name(datasets, data_name, None if data_dir is _UNKNOWN else data_dir)
    dataset = datasets.get(name).load()
    if is_external_model_name(model):     # keras:Name or module:callable (imports TF)
        model_entry = external_model_entry(model)
    else:
        model_entry = plugins.registry("model").get(
            model, dataset.model_scope, context=f" for dataset '{dataset.name}'")
    return dataset, model_entry, variable_manager_entry(plugins, variable_update)


def variable_manager_entry(plugins, name: str) -> Entry:
    """The registered manager ``name``; the predecessor's modes cnnb lacks say so."""
    registry = plugins.registry("variable_manager")
    check_variable_update(name, registry)
    return registry.get(name, context=" (--variable_update)")


def external_model_entry(name: str) -> Entry:
    """A registry-like entry for a Keras model named on the command line."""
    model = resolve_external(name)
    return Entry("model", name, model, model.description,
                 Provider("--model", name.partition(":")[0], ""))


def plan_run(config: RunConfig, plugins) -> RunPlan:
    dataset, model_entry, vm_entry = resolve_names(plugins, config.model, config.data_name,
                                                   config.variable_update, config.data_dir)
    if config.data_dir is not None:
        dataset = dataset.bind(config.data_dir)
    elif not dataset.num_classes:
        raise ConfigError(f"dataset '{dataset.name}' takes its classes from its files; give "
                          "--data_dir (or leave out --data_name for synthetic data).")
    model = as_model(model_entry.load(), model_entry)
    per_device = config.batch_size or model.default_batch_size
    batch = per_device * config.num_gpus
    mode = run_mode(config)
    examples = dataset.validation_examples if mode == EVALUATION else dataset.train_examples
    num_batches, num_epochs = batches_and_epochs(config.num_batches, config.num_epochs, batch,
                                                 examples)
    plan = RunPlan(
        config=config, model=model, model_entry=model_entry, dataset=dataset,
        synthetic=config.data_dir is None, variable_manager=vm_entry,
        batch_size_per_device=per_device,
        batch_size=batch, num_batches=num_batches, num_epochs=num_epochs,
        num_warmup_batches=warmup_batches(config), mode=mode,
        devices=tower_devices(config.device, config.num_gpus, config.gpu_indices),
        image_size=dataset.image_size or model.image_size, data_dir=config.data_dir)
    return dataclasses.replace(plan, **_data_fields(plan, plugins), **_eval_fields(plan),
                               **_replication_fields(plan, plugins))


def _replication_fields(plan: RunPlan, plugins) -> dict:
    """The manager's capabilities, checked against the flags, and its settings
    (the all-reduce plan only for a manager that takes one)."""
    config = plan.config
    entry = for_cluster(plan.variable_manager, config)     # e.g. parameter_server on a cluster
    capabilities = Capabilities.of(entry)
    check_all_reduce_flags(config, entry, capabilities, plugins.registry("variable_manager"))
    all_reduce = None
    if capabilities.all_reduce_spec and entry.metadata.get("all_reduce_plan", True):
        all_reduce = plan_all_reduce(config, plugins.registry("allreduce"), plan.devices)
    cluster = plan_cluster(config, entry, plugins.registry("variable_manager"))
    replication = ReplicationSettings(plan.devices, config.gradient_clip, all_reduce,
                                      options=declared_options(entry, config), cluster=cluster,
                                      worker=worker_of(cluster, entry.metadata.get(
                                          "chief_computes", True)))
    return {"capabilities": capabilities, "replication": replication, "all_reduce": all_reduce,
            "settings": settings_from_flags(config), "variable_manager": entry}


def infer_dataset_name(datasets, data_name: str | None, data_dir: str | None) -> str:
    """--data_name; else, as the predecessor, the first dataset name found in the
    --data_dir path (longest names first); else the dataset whose files are
    there; without --data_dir, imagenet (synthetic)."""
    if data_name or data_dir is None:
        return data_name or "imagenet"
    clashing = {name for name, _ in datasets.conflicts()}
    specs = [(name, datasets.get(name).load()) for name in datasets.names()
             if name not in clashing]
    readers = [(name, spec) for name, spec in specs if getattr(spec, "has_real_data", False)]
    for name, _ in sorted(readers, key=lambda pair: -len(pair[0])):
        if name in data_dir:
            return name
    for name, spec in readers:
        if spec.recognizes(data_dir):
            return name
    from cnnb.dataset import check_directory
    check_directory(data_dir)
    raise ConfigError(f"Could not identify the dataset in --data_dir={data_dir} from its path "
                      f"or its files; name it with --data_name (one of: "
                      f"{', '.join(name for name, _ in readers)}).")


def _data_fields(plan: RunPlan, plugins) -> dict:
    """The real data's files (found now, so a bad --data_dir fails before
    TensorFlow starts) and its preprocessor."""
    if plan.synthetic:
        return {}
    config, dataset = plan.config, plan.dataset
    subsets = []
    if plan.mode != EVALUATION:
        subsets.append("train")
    if plan.mode in (EVALUATION, TRAINING_AND_EVALUATION):
        subsets.append("validation")
    files = {subset: dataset.locate(plan.data_dir, subset) for subset in subsets}
    preprocessor = plugins.registry("preprocessor").get(
        config.input_preprocessor, dataset.name, context=f" for dataset '{dataset.name}'")
    return {"data_files": files, "preprocessor": preprocessor}


def _eval_fields(plan: RunPlan) -> dict:
    """Evaluation batch size, batches and epochs, and when training evaluates.

    --num_eval_batches or --num_eval_epochs say how long an evaluation is.
    Without them real data gets one pass over its validation set:
    ceil(validation examples / evaluation batch) batches, the last one
    completed with the first images again. (The predecessor used the training
    values, so a 300-batch run evaluated 38,400 images of a 500-image set.)
    --eval with --num_batches or --num_epochs still evaluates that many, as the
    predecessor did; synthetic data, which has no validation set, keeps the
    training values too. In --eval mode the run's batches are the evaluation's.
    """
    config = plan.config
    if plan.mode not in (EVALUATION, TRAINING_AND_EVALUATION):
        return {}
    per_device = config.eval_batch_size or plan.batch_size_per_device
    eval_batch = per_device * config.num_gpus
    given = (config.num_eval_batches, config.num_eval_epochs)
    training_values = (config.num_batches, config.num_epochs)
    if given == (None, None):
        asked = plan.mode == EVALUATION and training_values != (None, None)
        given = training_values if plan.synthetic or asked else (None, 1.0)
    batches, epochs = batches_and_epochs(*given, eval_batch, plan.dataset.validation_examples)
    fields = {"eval_batch_size_per_device": per_device, "num_eval_batches": batches,
              "num_eval_epochs": epochs}
    if plan.mode == EVALUATION:
        return {**fields, "num_batches": batches, "num_epochs": epochs}
    return {**fields, **eval_schedule(config, plan.batch_size, plan.dataset.train_examples,
                                      plan.num_epochs)}


def eval_schedule(config, batch_size: int, train_examples: int, num_epochs: float) -> dict:
    """``eval_every_n_steps`` or the set ``eval_at_steps`` of --eval_during_training_*;
    epochs become steps as ``int(e * N + batch - 1) // batch``."""
    def step_of(epoch: float) -> int:
        return int(epoch * train_examples + batch_size - 1) // batch_size
    if config.eval_during_training_every_n_steps:
        return {"eval_every_n_steps": config.eval_during_training_every_n_steps}
    if config.eval_during_training_every_n_epochs:
        every = config.eval_during_training_every_n_epochs
        epochs = [every * i for i in range(1, math.ceil(num_epochs / every) + 1)
                  if every * i < num_epochs]
        return {"eval_at_steps": frozenset(step_of(e) for e in epochs)}
    if config.eval_during_training_at_specified_steps:
        steps = parse_list(config.eval_during_training_at_specified_steps, int,
                           "eval_during_training_at_specified_steps", "integers")
        return {"eval_at_steps": frozenset(steps)}
    if config.eval_during_training_at_specified_epochs:
        epochs = parse_list(config.eval_during_training_at_specified_epochs, float,
                            "eval_during_training_at_specified_epochs", "numbers")
        return {"eval_at_steps": frozenset(step_of(e) for e in epochs)}
    return {}


def parse_list(text: str, kind, flag: str, what: str) -> list:
    """'2,3,5' (absl list syntax) as a list of ``kind``."""
    try:
        return [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"--{flag}={text} must be a comma-separated list of {what}.") \
            from None


def batches_and_epochs(num_batches, num_epochs, batch_size: int, examples: int):
    """(batches, epochs): one given, the other derived; neither means 100 batches.

    Epochs become batches rounding up (``ceil(epochs * examples / batch)``, as
    the predecessor), so every example is seen; ``examples`` is what the data
    actually holds (see ``DatasetSpec.bind``)."""
    if num_batches is not None and num_epochs is not None:
        raise ConfigError("--num_batches and --num_epochs cannot both be given; pick one.")
    if num_epochs is not None:
        num_batches = max(1, math.ceil(num_epochs * examples / batch_size))
    elif num_batches is None:
        num_batches = DEFAULT_NUM_BATCHES
    return num_batches, num_batches * batch_size / examples if examples else 0.0


def warmup_batches(config: RunConfig) -> int:
    if config.num_warmup_batches is not None:
        return config.num_warmup_batches
    return max(10, 5 * (config.autotune_threshold or 0) ** 2)


EVALUATION, FORWARD_ONLY = "evaluation", "forward only"
TRAINING, TRAINING_AND_EVALUATION = "training", "training + evaluation"


def run_mode(config: RunConfig) -> str:
    """The predecessor's mode names (printed in the info block)."""
    if config.eval:
        return EVALUATION
    if config.forward_only:
        return FORWARD_ONLY
    if any(config[flag] for flag in EVAL_DURING_TRAINING_FLAGS):
        return TRAINING_AND_EVALUATION
    return TRAINING
