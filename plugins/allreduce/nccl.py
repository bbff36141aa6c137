"""NCCL all-reduce, alone or as the local stage of a two-level all-reduce.

``nccl`` sums within one worker with NCCL. ``nccl/xring``, ``nccl/rechd``
and ``nccl/pscpu`` first sum within each worker with NCCL, then across
workers with a ring, recursive halving-doubling, or a shuffle on the
workers' CPUs, then copy the total back to each worker's GPUs. In a
single-worker run (every cnnb run today) the cross-worker stage has one
participant, so all three are plain ``nccl``.

NCCL needs NVIDIA GPUs: every device must be a GPU, else the constructor
raises a ConfigError (the planner already rejects them with --device=cpu).
"""

from __future__ import annotations

import itertools
import threading

import tensorflow as tf

from cnnb.allreduce import AllReduceAlgorithm
from cnnb.devices import parse_device_name
from cnnb.errors import ConfigError
from cnnb.plugins.allreduce.blocks import (broadcast, broadcast_to_workers, group_by_worker,
                                           host_cpu, per_tensor, recursive_halving_doubling,
                                           ring_all_reduce, shuffle_all_reduce)

_NAMES = itertools.count()
_NAMES_LOCK = threading.Lock()


def nccl_all_sum(values, devices) -> list:
    """One NcclAllReduce per device, joined by a shared name unique to this call."""
    if len(values) == 1:
        return broadcast(values[0], devices)
    with _NAMES_LOCK:
        shared_name = f"cnnb_nccl_{next(_NAMES)}"
    sums = []
    for value, device in zip(values, devices):
        with tf.device(device):
            sums.append(tf.raw_ops.NcclAllReduce(input=value, reduction="sum",
                                                 num_devices=len(values),
                                                 shared_name=shared_name))
    return sums


class Nccl(AllReduceAlgorithm):
    """NCCL all-reduce among one worker's GPUs."""

    spec_name = "nccl"

    def __init__(self, context, shards=1):
        super().__init__(context, shards)
        not_gpu = [d for d in self.devices if parse_device_name(d).type != "GPU"]
        if not_gpu:
            raise ConfigError(f"all-reduce algorithm '{self.spec_name}' needs NVIDIA GPUs, "
                              f"but {', '.join(not_gpu)} {'is' if len(not_gpu) == 1 else 'are'}"
                              " not a GPU; use xring or pscpu instead.")
        self.workers = group_by_worker(self.devices)

    def reduce(self, device_tensors):
        return per_tensor(device_tensors, self._reduce_one)

    def _reduce_one(self, values, _t):
        if len(self.workers) == 1:
            return nccl_all_sum(values, self.devices)
        leaders, leader_devices = [], []
        for members in self.workers:
            local = nccl_all_sum([values[i] for i in members], [self.devices[i] for i in members])
            leaders.append(local[0])
            leader_devices.append(self.devices[members[0]])
        totals = self.across_workers(leaders, leader_devices)
        return broadcast_to_workers(totals, self.workers, self.devices)

    def across_workers(self, leaders, leader_devices) -> list:
        raise ConfigError("'nccl' sums within one worker only; for several workers use "
                          "nccl/xring, nccl/rechd or nccl/pscpu.")


class NcclThenRing(Nccl):
    """NCCL within each worker, a ring across workers (#k rings), NCCL-style copy back."""

    spec_name = "nccl/xring"

    def across_workers(self, leaders, leader_devices):
        return ring_all_reduce(leaders, leader_devices, min(self.shards, len(leaders)))


class NcclThenRecursiveHD(Nccl):
    """NCCL within each worker, recursive halving-doubling across workers."""

    spec_name = "nccl/rechd"

    def across_workers(self, leaders, leader_devices):
        return recursive_halving_doubling(leaders, leader_devices)


class NcclThenShuffle(Nccl):
    """NCCL within each worker, a shuffle on the workers' CPUs across workers."""

    spec_name = "nccl/pscpu"

    def across_workers(self, leaders, leader_devices):
        cpus = [host_cpu(d, self.context.cpu_device) for d in leader_devices]
        return shuffle_all_reduce(leaders, leader_devices, cpus)
