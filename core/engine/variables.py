"""The replication contract's runtime half: what a variable manager does.

A manager (a ``--variable_update`` mode) decides where each tower's variables
live, how a step runs on the towers, and how their gradients become updates.
The engine only ever talks to this interface, in this order:

1. ``with manager.scope():`` ``create_towers(make_network)``, then (training)
   ``create_optimizers(make_optimizer)``: variables are created here.
2. ``inputs = manager.distribute_inputs(inputs)``: per-tower batches.
3. inside the step's ``tf.function``: ``manager.train_towers(tower_fn, lr)``
   (or ``run_towers(tower_fn)`` for inference) runs ``tower_fn(index,
   network)`` once per tower and, in training, applies the gradients.
4. checkpoints: ``savable_variables()`` (one copy, device-count independent
   names), ``sync_copies()`` after a restore; only ``is_chief`` writes files.

The in-process managers (parameter_server, replicated, independent) loop over
their towers with ``tf.device``; a ``tf.distribute`` manager implements the
same methods with ``strategy.scope()``, ``strategy.run`` and
``distribute_datasets_from_function``. What a manager *declares* (gradient
reduction, all-reduce, multi-worker) is registration metadata:
:class:`cnnb.replication.Capabilities`.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable

import tensorflow as tf

from cnnb.errors import ConfigError
from cnnb.replication import ReplicationSettings


class VariableManager:
    """Where each tower's variables live and how tower gradients become updates.

    The first line of a subclass's docstring is its description in
    ``cnnb variable-managers``. Subclasses implement :meth:`create_towers`,
    :meth:`create_optimizers` and :meth:`apply_gradients`; the rest has
    in-process defaults.
    """

    #: the most devices this manager handles in one process (None: any)
    max_devices: int | None = None

    def __init__(self, settings: ReplicationSettings):
        devices = settings.devices
        if self.max_devices is not None and len(devices) > self.max_devices:
            raise ConfigError(f"{type(self).__name__} handles at most {self.max_devices} "
                              f"device(s), got {len(devices)}; use a smaller --num_gpus.")
        self.devices = tuple(devices)
        self.settings = settings
        self.towers: list = []
        self.optimizers: list = []

    @classmethod
    def prepare_process(cls, settings: ReplicationSettings) -> None:
        """Called once, right after TensorFlow is configured and before any op
        runs: a ``tf.distribute`` manager makes its strategy here (collective
        ops can only be configured at program start)."""

    @property
    def is_chief(self) -> bool:
        """Whether this process writes checkpoints, summaries and result files."""
        return self.settings.worker.is_chief

    def gather_workers(self, values: list[float]) -> list[list[float]]:
        """Every worker's ``values``, one row per worker in task order (a
        multi-worker manager overrides this with a collective; every worker
        calls it at the same point). One process: its own row."""
        return [list(values)]

    def compile_step(self, body: Callable, jit_compile: bool = False) -> Callable:
        """The step the loop calls, ``step(lr) -> outputs``, from ``body(lr)``
        (which calls :meth:`train_towers` or :meth:`run_towers`): one
        ``tf.function`` here; a coordinator-driven manager schedules it on its
        workers instead."""
        return tf.function(body, jit_compile=jit_compile, autograph=False)

    def scope(self):
        """Where variables are created (a ``tf.distribute`` strategy's scope);
        the in-process managers place them themselves."""
        return contextlib.nullcontext()

    def create_towers(self, make_network: Callable[[str | None, int], Any]) -> list:
        """One network per device; subclasses decide whether they share variables.

        ``make_network(device, index)`` builds a network whose variables live on
        ``device`` (None: wherever the current variable-creator scope puts them)."""
        raise NotImplementedError

    def create_optimizers(self, make_optimizer: Callable[[list], Any]) -> None:
        """Optimizers (and their slots) for the variables the manager updates."""
        raise NotImplementedError

    def distribute_inputs(self, inputs: Callable[[int], tuple]) -> Callable[[int], tuple]:
        """``inputs(index) -> (images, labels)`` of tower ``index``, as the step
        will call it. In-process towers read their device's iterator as is."""
        return inputs

    def run_towers(self, tower_fn: Callable[[int, Any], Any]) -> list:
        """``[tower_fn(index, network)]`` with each tower on its device; called
        while the step's ``tf.function`` is traced."""
        results = []
        for index, network in enumerate(self.towers):
            with tf.device(network.device):
                results.append(tower_fn(index, network))
        return results

    def train_towers(self, tower_fn: Callable[[int, Any], tuple], lr) -> list:
        """One training step: ``tower_fn(index, network) -> (gradients, outputs)``
        on every tower, then the update; returns each tower's outputs."""
        results = self.run_towers(tower_fn)
        self.apply_gradients([grads for grads, _ in results], lr)
        return [outputs for _, outputs in results]

    def apply_gradients(self, tower_grads: list[list], lr) -> None:
        """Called inside the step with each tower's gradients (same order as
        its trainable variables; None for a variable the loss does not use)."""
        raise NotImplementedError

    def savable_variables(self) -> dict[str, tf.Variable]:
        """One copy of every variable, by a name that does not depend on the
        device count: what a checkpoint saves and restores. Model variables
        come from the first tower; optimizer slots are ``<variable>/slot<k>``."""
        named = named_variables(self.towers[0])
        names = {id(v): name for name, v in named.items()}
        for optimizer in self.optimizers_of_first_copy():
            named.update(slot_names(optimizer, names))
        return named

    def optimizers_of_first_copy(self) -> list:
        """The optimizers whose slots belong to the variables of savable_variables()."""
        return self.optimizers[:1]

    def sync_copies(self) -> None:
        """Make every copy equal to the first; call after restoring a checkpoint
        into :meth:`savable_variables`. Nothing to do with a single copy."""

    def clip(self, grads: list) -> list:
        clip = self.settings.gradient_clip
        if clip is None:
            return grads
        return [tf.clip_by_value(g, -clip, clip) for g in grads]


class StrategyManager(VariableManager):
    """Base of managers that run on a ``tf.distribute`` strategy (``self.strategy``,
    set by the subclass): one network and one optimizer, created in the
    strategy's scope, which places the variables (mirrored on every replica,
    or on parameter servers)."""

    strategy = None

    def scope(self):
        return self.strategy.scope()

    def create_towers(self, make_network):
        self.network = make_network(None, 0)
        self.towers = [self.network]
        return self.towers

    def create_optimizers(self, make_optimizer):
        self.optimizers = [make_optimizer(self.network.trainable_variables)]


def named_variables(network) -> dict:
    """name -> variable of one tower: its ``checkpoint_variables`` if it defines
    them, else its variable store, else its Keras model's variables."""
    explicit = getattr(network, "checkpoint_variables", None)
    if explicit is not None:
        return dict(explicit() if callable(explicit) else explicit)
    stored = getattr(getattr(network, "store", None), "variables", None)
    if isinstance(stored, dict):
        return dict(stored)
    keras_model = getattr(network, "keras_model", None)
    if keras_model is not None:
        return {v.path: v if isinstance(v, tf.Variable) else v.value
                for v in keras_model.variables}
    return {v.name: v for v in network.trainable_variables}


def fill_missing(grads: list, variables: list) -> list:
    """Zeros for the gradients of variables the loss does not depend on."""
    return [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]


def slot_names(optimizer, variable_names: dict) -> dict:
    """Name an optimizer's slot variables after the variables they belong to.

    Slots come in blocks of one per variable, shaped like it (``make_slots``
    order); what follows the blocks (Adam's beta powers) is ``optimizer/extra<k>``."""
    variables, slots = optimizer.variables, list(optimizer.slots)
    count, blocks = len(variables), 0
    while count and len(slots) >= (blocks + 1) * count and all(
            slots[blocks * count + i].shape == v.shape for i, v in enumerate(variables)):
        blocks += 1
    named = {}
    for j, slot in enumerate(slots):
        if j < blocks * count:
            block, index = divmod(j, count)
            owner = variable_names.get(id(variables[index]), f"variable{index}")
            named[f"{owner}/slot{block}"] = slot
        else:
            named[f"optimizer/extra{j - blocks * count}"] = slot
    return named


def copy_values(sources: list, targets: list) -> None:
    """Assign each source's value to its target (eagerly, across devices)."""
    if len(sources) != len(targets):
        raise ValueError(f"cannot copy {len(sources)} variables into {len(targets)}")
    for source, target in zip(sources, targets):
        target.assign(source.read_value())


class TowerView:
    """A network seen from another device: same variables, another ``device``.

    Parameter-server towers compute on their own device with the one shared
    copy of the variables.
    """

    def __init__(self, network, device: str):
        self._network = network
        self.device = device

    def __getattr__(self, name: str):
        return getattr(self._network, name)

    def __call__(self, *args, **kwargs):
        return self._network(*args, **kwargs)


def make_variable_manager(plan) -> VariableManager:
    """The plan's manager, constructed with its typed settings."""
    return plan.variable_manager.load()(plan.replication)
