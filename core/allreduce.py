"""The all-reduce algorithm contract, and how a run's spec picks algorithms.

An all-reduce algorithm is a driver registered through
:func:`cnnb.hookspecs.cnnb_register_allreduce`. Its target is a subclass of
:class:`AllReduceAlgorithm` (or a lazy ``"module:Class"`` path to one). The
core parses ``--all_reduce_spec`` (:mod:`cnnb.allreduce_spec`), splits the
gradients into size ranges, and hands each range to the named algorithm,
constructed as ``Algorithm(context, shards)``. This module imports no
TensorFlow, so plugins can subclass the contract in their registration
modules' packages without slowing ``cnnb --help``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from cnnb.allreduce_spec import parse_all_reduce_spec
from cnnb.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class AllReduceContext:
    """What an algorithm may know about the run.

    :ivar devices: tower devices, in ring order (``--gpu_indices``).
    :ivar cpu_device: the host device where ``*cpu`` algorithms reduce.
    :ivar reduce_on_cpu: ``--local_parameter_device=cpu`` (the default ``copy``
        algorithm then sums on ``cpu_device``).
    :ivar network_topology: ``--network_topology`` (hierarchical copy).
    :ivar options: the values of the run options this algorithm declared
        (``options=(...)`` in its registration; e.g. a vendor's own
        ``cnnb_add_options`` flags), by name. Only the declared ones: an
        algorithm never sees the whole configuration.
    """

    devices: tuple
    cpu_device: str = "/cpu:0"
    reduce_on_cpu: bool = False
    network_topology: str = "dgx1"
    options: dict = dataclasses.field(default_factory=dict)

    @property
    def num_devices(self) -> int:
        return len(self.devices)


class AllReduceAlgorithm:
    """Sums tensors across the towers' devices.

    Subclasses implement :meth:`reduce`; the first line of their docstring is
    the description ``cnnb allreduce`` shows. The constructor runs eagerly,
    before the training step is traced: check the context there and raise
    :class:`cnnb.errors.ConfigError` for what cannot work (too many shards,
    no GPU, ...), and create any state (variables) there.
    """

    def __init__(self, context: AllReduceContext, shards: int = 1):
        if shards < 1:
            raise ConfigError(f"{type(self).__name__}: the shard count must be >= 1, "
                              f"got {shards}")
        self.context = context
        self.shards = shards

    @property
    def devices(self) -> tuple:
        return self.context.devices

    def reduce(self, device_tensors: list[list[Any]]) -> list[list[Any]]:
        """Return the sums, one copy per device.

        :param device_tensors: ``device_tensors[d][t]`` is tensor ``t`` of the
            device ``context.devices[d]``; for each ``t`` all devices hold the
            same shape and dtype (any rank, scalars included, any size).
        :returns: the same nesting; ``result[d][t]`` equals the sum over ``d``
            of ``device_tensors[d][t]`` (same shape and dtype), is placed on
            ``context.devices[d]``, and should be identical on every device
            (replicated variables stay equal only then).

        Called inside a ``tf.function`` (graph building), once per range per
        traced step. It must not sum in a device-dependent order that makes
        copies differ, and must not average (cnnb's replicated mode sums).
        """
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class RangePlan:
    """One range of the spec: the algorithm's registry entry, shards, size limit
    (elements; -1 = no limit), and the values of the options it declared."""

    name: str
    entry: Any
    shards: int
    limit: int
    options: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class AllReducePlan:
    """Everything the engine needs to sum replicated gradients; decided before
    TensorFlow starts."""

    spec: str
    ranges: tuple
    context: AllReduceContext
    gradient_repacking: int = 0
    agg_small_grads_max_bytes: int = 0
    agg_small_grads_max_group: int = 10
    #: "float16" when float32 gradients travel as float16 (--compact_gradient_transfer
    #: with fp16 compute), else None
    transfer_dtype: str | None = None


def spec_of(config) -> str:
    """The spec a replicated run uses: ``--all_reduce_spec``, else the
    predecessor's defaults (``hierarchical_copy`` with ``--hierarchical_copy``,
    otherwise ``copy``)."""
    if config.all_reduce_spec:
        return config.all_reduce_spec
    return "hierarchical_copy" if config.hierarchical_copy else "copy"


def plan_all_reduce(config, registry, devices: tuple) -> AllReducePlan:
    """The all-reduce of a run whose variable manager takes one (planning asks
    the manager's ``all_reduce_spec`` capability before calling this).

    Checks every algorithm name against ``registry`` and rejects GPU-only
    algorithms on ``--device=cpu``, all without TensorFlow.
    """
    from cnnb.replication import declared_options
    spec = spec_of(config)
    ranges = []
    for item in parse_all_reduce_spec(spec, registry.names()):
        entry = registry.get(item.alg)
        _check_device_kind(entry, config.device, registry)
        ranges.append(RangePlan(item.alg, entry, item.shards, item.limit,
                                declared_options(entry, config)))
    context = AllReduceContext(devices=tuple(devices),
                               reduce_on_cpu=config.local_parameter_device == "cpu",
                               network_topology=config.network_topology)
    return AllReducePlan(spec, tuple(ranges), context, config.gradient_repacking,
                         config.agg_small_grads_max_bytes, config.agg_small_grads_max_group,
                         transfer_dtype_of(config))


def transfer_dtype_of(config) -> str | None:
    """The predecessor's compact gradient transfer: under fp16 compute, float32
    gradients are all-reduced as float16 unless --nocompact_gradient_transfer.
    bf16 runs transfer float32 (bfloat16's 8-bit mantissa would round the sums)."""
    from cnnb.precision import precision_name
    if config.compact_gradient_transfer and precision_name(config) == "fp16":
        return "float16"
    return None


def _check_device_kind(entry, device: str, registry) -> None:
    if entry.metadata.get("devices", "any") != "gpu" or device == "gpu":
        return
    usable = [e.name for e in registry.entries() if e.metadata.get("devices", "any") != "gpu"]
    raise ConfigError(f"all-reduce algorithm '{entry.name}' needs GPUs and this run uses "
                      f"--device=cpu; use one of {', '.join(usable)} (or run on GPUs).")
