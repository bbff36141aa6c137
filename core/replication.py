"""The replication contract's planning side: what a variable manager declares.

A variable manager (a ``--variable_update`` mode) is registered through
:func:`cnnb.hookspecs.cnnb_register_variable_managers` with its capabilities
as registration metadata, so planning can check flags against them without
importing TensorFlow or the manager's module::

    registry.register("mirror", "acme.managers:Mirror", "one line",
                      gradient_reduction="mean", all_reduce_spec=False,
                      multi_worker=False, options=("acme_mirror_copies",))

Core and model code ask these capabilities, never the manager's name: a
ResNet schedule divides its rate by the device count when gradients are
*summed*, the ``--all_reduce_spec`` family of flags needs a manager that
takes an all-reduce plan, and so on. The runtime half of the contract (build
towers, run a step, distribute inputs, is-chief) is
:class:`cnnb.engine.variables.VariableManager`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from cnnb.errors import ConfigError, PluginLoadError

#: how a step combines the towers' gradients before applying them
GRADIENT_REDUCTIONS = ("mean", "sum", "none")

#: the predecessor's modes cnnb does not have yet, and what they wait for
NOT_BUILT_YET: dict[str, str] = {}

#: the predecessor's modes cnnb will not have, and what to use instead
NOT_IN_TF2 = {
    "distributed_all_reduce": (
        "it ran one TF1 graph spanning every worker, driven by a controller process (a single "
        "session), and TF2 has no such graph. Use --variable_update=collective_all_reduce: the "
        "same synchronous all-reduce of summed gradients across workers, run by tf.distribute's "
        "collectives (e.g. cnnb launch --num_workers=2 -- --variable_update="
        "collective_all_reduce)"),
}

#: flags that configure the all-reduce; only managers with ``all_reduce_spec`` use them
ALL_REDUCE_FLAGS = ("all_reduce_spec", "gradient_repacking", "agg_small_grads_max_bytes",
                    "hierarchical_copy")


@dataclasses.dataclass(frozen=True)
class Capabilities:
    """What a manager does, declared when it registers.

    :ivar gradient_reduction: ``"mean"`` (towers' gradients averaged, e.g.
        parameter_server), ``"sum"`` (summed, e.g. replicated: an N times
        larger step, which ResNet's schedule compensates), or ``"none"``
        (each tower applies its own, e.g. independent).
    :ivar all_reduce_spec: takes the run's all-reduce plan (``--all_reduce_spec``,
        ``--gradient_repacking``, ...); other managers reject those flags.
    :ivar multi_worker: can span several machines (``--worker_hosts``).
    :ivar options: names of the run options the manager reads (its own
        ``cnnb_add_options`` options or legacy flags); they reach it as
        :attr:`ReplicationSettings.options`, the rest of the run does not.
    """

    gradient_reduction: str = "mean"
    all_reduce_spec: bool = False
    multi_worker: bool = False
    options: tuple[str, ...] = ()

    @classmethod
    def of(cls, entry) -> Capabilities:
        """The capabilities a registry entry declares; a bad declaration is the
        plugin's fault and is reported as such."""
        meta = entry.metadata
        reduction = meta.get("gradient_reduction", "mean")
        if reduction not in GRADIENT_REDUCTIONS:
            raise PluginLoadError(
                f"variable manager '{entry.name}' from {entry.provider} declares "
                f"gradient_reduction={reduction!r}; it must be one of "
                f"{', '.join(GRADIENT_REDUCTIONS)}.")
        return cls(reduction, bool(meta.get("all_reduce_spec", False)),
                   bool(meta.get("multi_worker", False)), tuple(meta.get("options", ())))

    @property
    def gradients_summed(self) -> bool:
        return self.gradient_reduction == "sum"


@dataclasses.dataclass(frozen=True)
class WorkerInfo:
    """This process's place in a (possibly one-machine) job."""

    task_index: int = 0
    num_workers: int = 1

    @property
    def is_chief(self) -> bool:
        """The worker that writes checkpoints, summaries and results."""
        return self.task_index == 0


@dataclasses.dataclass(frozen=True)
class ReplicationSettings:
    """All a manager gets from the run: no global bag of flags.

    :ivar devices: the tower devices of this worker, in order.
    :ivar gradient_clip: ``--gradient_clip``: clip what is applied (after the
        towers' gradients are combined), as the predecessor did.
    :ivar all_reduce: the :class:`cnnb.allreduce.AllReducePlan`, for managers
        declaring ``all_reduce_spec`` on several devices; else None.
    :ivar worker: this worker's :class:`WorkerInfo`.
    :ivar options: the values of the options the manager declared.
    :ivar cluster: the :class:`cnnb.cluster.ClusterSettings` of a multi-worker
        run (``--job_name``... or ``TF_CONFIG``); None in one process.
    """

    devices: tuple[str, ...]
    gradient_clip: float | None = None
    all_reduce: Any = None
    worker: WorkerInfo = WorkerInfo()
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    cluster: Any = None


def declared_options(entry, config) -> dict[str, Any]:
    """``{name: value}`` of the options a driver's registration names (its
    ``options`` metadata); a name the run does not have is the plugin's bug."""
    names = tuple(entry.metadata.get("options", ()))
    missing = [name for name in names if name not in config]
    if missing:
        raise PluginLoadError(
            f"{entry.kind.replace('_', ' ')} '{entry.name}' from {entry.provider} reads "
            f"option(s) {', '.join(missing)} that no plugin adds (cnnb_add_options).")
    return {name: config[name] for name in names}


def check_variable_update(name: str, registry) -> None:
    """A predecessor mode that cnnb lacks gets "not built yet" (or why it is not
    in TF2), not "unknown"."""
    if name in NOT_IN_TF2 and name not in registry.names():
        raise ConfigError(f"--variable_update={name} is not available in cnnb: "
                          f"{NOT_IN_TF2[name]}.")
    if name in NOT_BUILT_YET and name not in registry.names():
        usable = ", ".join(registry.names())
        raise ConfigError(f"--variable_update={name} is not built yet in cnnb: it arrives with "
                          f"{NOT_BUILT_YET[name]}. Use one of: {usable}.")


def check_all_reduce_flags(config, entry, capabilities: Capabilities, registry) -> None:
    """The ``--all_reduce_spec`` family needs a manager that takes an all-reduce."""
    given = ["--" + flag for flag in ALL_REDUCE_FLAGS if config.get(flag)]
    if not given or capabilities.all_reduce_spec:
        return
    takers = [e.name for e in registry.entries() if e.metadata.get("all_reduce_spec")]
    verb, them = ("applies", "it") if len(given) == 1 else ("apply", "them")
    raise ConfigError(f"{', '.join(given)} {verb} only to variable managers that take an "
                      f"all-reduce ({', '.join(takers) or 'none installed'}); this run uses "
                      f"--variable_update={entry.name}. Choose one of those or leave {them} out.")
