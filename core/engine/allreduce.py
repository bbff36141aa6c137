"""Summing replicated gradients as the run's all-reduce plan says.

:class:`SpecAllReduce` takes every tower's gradients, optionally packs them
(``--gradient_repacking`` first, else ``--agg_small_grads_max_bytes``), splits
them into the spec's size ranges (by element count, the predecessor's rule),
lets each range's algorithm sum its tensors, and unpacks. Unlike the
predecessor, replicated mode accepts multi-range specs (``pscpu:32k:xring``).
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from cnnb.allreduce_spec import split_by_limits
from cnnb.engine import packing
from cnnb.errors import CnnbError


class SpecAllReduce:
    """``self(device_tensors) -> sums per device``; built eagerly, called in the step."""

    def __init__(self, plan):
        self.plan = plan
        self.ranges = [(_instantiate(r, plan.context), r.limit) for r in plan.ranges]

    @property
    def devices(self) -> tuple:
        return self.plan.context.devices

    def __call__(self, device_tensors):
        if len(device_tensors) != len(self.devices):
            raise ValueError(f"all-reduce over {len(self.devices)} devices got "
                             f"{len(device_tensors)} lists of tensors")
        if self.plan.transfer_dtype is None:
            return self._packed(device_tensors)
        compact, dtypes = compacted(device_tensors, self.plan.transfer_dtype)
        return [[tf.cast(t, dtype) if t.dtype != dtype else t for t, dtype in zip(sums, dtypes)]
                for sums in self._packed(compact)]

    def _packed(self, device_tensors):
        if self.plan.gradient_repacking:
            packs, layout = packing.repack(device_tensors, self.plan.gradient_repacking)
            return packing.unpack_repacked(self._by_ranges(packs), layout)
        if self.plan.agg_small_grads_max_bytes:
            packed, small = packing.pack_small_tensors(
                device_tensors, self.plan.agg_small_grads_max_bytes,
                self.plan.agg_small_grads_max_group)
            return packing.unpack_small_tensors(self._by_ranges(packed), small)
        return self._by_ranges(device_tensors)

    def _by_ranges(self, device_tensors):
        sizes = [packing.num_elements(t) for t in device_tensors[0]]
        groups = split_by_limits(sizes, [limit for _, limit in self.ranges])
        result = [[None] * len(sizes) for _ in device_tensors]
        for (algorithm, _), indices in zip(self.ranges, groups):
            if not indices:
                continue
            sums = algorithm.reduce([[tensors[i] for i in indices] for tensors in device_tensors])
            _check_shape(algorithm, sums, len(device_tensors), len(indices))
            for d, device_sums in enumerate(sums):
                for i, total in zip(indices, device_sums):
                    result[d][i] = total
        return result


def compacted(device_tensors, transfer_dtype: str):
    """float32 tensors cast to ``transfer_dtype`` (the predecessor's compact
    gradient transfer: half the bytes cross devices), and each tensor's dtype
    to cast the sums back to. Other dtypes travel as they are."""
    dtypes = [t.dtype for t in device_tensors[0]]
    compact = [[tf.cast(t, transfer_dtype) if t.dtype == tf.float32 else t for t in tensors]
               for tensors in device_tensors]
    return compact, dtypes


def _instantiate(range_plan, context):
    """The range's algorithm object; its constructor may reject the context."""
    algorithm_class = range_plan.entry.load()
    if range_plan.options:
        context = dataclasses.replace(context, options=dict(range_plan.options))
    return algorithm_class(context, range_plan.shards)


def _check_shape(algorithm, sums, num_devices: int, num_tensors: int) -> None:
    if len(sums) != num_devices or any(len(s) != num_tensors for s in sums):
        raise CnnbError(f"all-reduce algorithm {type(algorithm).__name__} returned "
                          f"{[len(s) for s in sums]} tensors per device for {num_devices} "
                          f"devices x {num_tensors} tensors; it breaks the contract of "
                          "cnnb.allreduce.AllReduceAlgorithm.reduce.")


def build_all_reduce(plan) -> SpecAllReduce | None:
    """The all-reduce of a replicated run, or None when there is nothing to sum."""
    if plan is None:
        return None
    return SpecAllReduce(plan)
