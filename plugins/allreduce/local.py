"""All-reduce algorithms that run on any devices: ring, shuffles, copies.

They are the predecessor's ``xring``, ``pscpu``, ``psgpu`` and
``pscpu/pscpu`` spec algorithms and its default replicated-mode algorithms
(``copy``; ``hierarchical_copy`` for ``--hierarchical_copy``). With
``--device=cpu`` they run across logical CPU devices.
"""

from __future__ import annotations

from cnnb.allreduce import AllReduceAlgorithm
from cnnb.allreduce_spec import group_device_names
from cnnb.errors import ConfigError
from cnnb.plugins.allreduce.blocks import (broadcast, broadcast_to_workers, group_by_worker,
                                           host_cpu, per_tensor, reduce_then_broadcast,
                                           ring_all_reduce, ring_orders, shuffle_all_reduce)


class XRing(AllReduceAlgorithm):
    """Ring reduce-scatter and all-gather; xring#k runs k rings on 1/k of each tensor."""

    def __init__(self, context, shards=1):
        super().__init__(context, shards)
        ring_orders(context.num_devices, shards)        # rejects shards > devices now

    def reduce(self, device_tensors):
        return per_tensor(device_tensors,
                          lambda values, _t: ring_all_reduce(values, self.devices, self.shards))


class _Shuffle(AllReduceAlgorithm):
    """Tensor t is reduced on aux-device group t % groups; with #k a group has k
    devices and each tensor is split into k shards, one per device."""

    def __init__(self, context, shards=1):
        super().__init__(context, shards)
        aux = self.aux_devices()
        if shards > len(aux):
            raise ConfigError(f"{self.spec_name}#{shards} shards each tensor over {shards} "
                              f"devices but has {len(aux)} ({', '.join(aux)}); use "
                              f"{self.spec_name}#{len(aux)} or fewer.")
        self.groups = group_device_names(aux, shards)

    def aux_devices(self) -> list[str]:
        raise NotImplementedError

    def reduce(self, device_tensors):
        return per_tensor(device_tensors, lambda values, t: shuffle_all_reduce(
            values, self.devices, self.groups[t % len(self.groups)]))


class PsCpu(_Shuffle):
    """Shuffle all-reduce on the host CPU of each worker (gather, add_n, scatter)."""

    spec_name = "pscpu"

    def aux_devices(self):
        return _worker_cpus(self.context)


class PsGpu(_Shuffle):
    """Shuffle all-reduce on the towers' own devices; psgpu#k uses groups of k devices."""

    spec_name = "psgpu"

    def aux_devices(self):
        return list(self.devices)


class PsCpuPsCpu(AllReduceAlgorithm):
    """Shuffle to each worker's CPU, then across workers on the first #k worker
    CPUs, then back; in one process it is a sum on the host CPU."""

    def __init__(self, context, shards=1):
        super().__init__(context, shards)
        self.workers = group_by_worker(self.devices)
        self.worker_cpus = _worker_cpus(context)
        if shards > len(self.worker_cpus):
            raise ConfigError(f"pscpu/pscpu#{shards} needs {shards} workers; this run has "
                              f"{len(self.worker_cpus)} (use pscpu/pscpu).")

    def reduce(self, device_tensors):
        return per_tensor(device_tensors, self._reduce_one)

    def _reduce_one(self, values, _t):
        local = []
        for members, cpu in zip(self.workers, self.worker_cpus):
            local.append(reduce_then_broadcast([values[i] for i in members], [cpu], cpu)[0])
        totals = shuffle_all_reduce(local, self.worker_cpus, self.worker_cpus[:self.shards])
        return broadcast_to_workers(totals, self.workers, self.devices)


def _worker_cpus(context) -> list[str]:
    """One host CPU per worker that owns towers."""
    return [host_cpu(context.devices[members[0]], context.cpu_device)
            for members in group_by_worker(context.devices)]


class Copy(AllReduceAlgorithm):
    """Tensor i summed with add_n on device i % n (on the CPU with
    --local_parameter_device=cpu), then copied back: replicated mode's default."""

    def reduce(self, device_tensors):
        def reduce_one(values, t):
            where = (self.context.cpu_device if self.context.reduce_on_cpu
                     else self.devices[t % len(self.devices)])
            return reduce_then_broadcast(values, self.devices, where)
        return per_tensor(device_tensors, reduce_one)


GCP_V100_MAIN_PAIRS = ((0, 5), (2, 7), (5, 0), (7, 2))


class HierarchicalCopy(AllReduceAlgorithm):
    """Sum each half of the devices on a main device, add the halves, copy back
    (--hierarchical_copy; tuned for 8 GPUs; --network_topology picks the mains)."""

    def __init__(self, context, shards=1):
        super().__init__(context, shards)
        count = context.num_devices
        if count < 2:
            raise ConfigError("--hierarchical_copy needs at least 2 devices (--num_gpus).")
        if context.network_topology == "gcp_v100" and count != 8:
            raise ConfigError(f"--network_topology=gcp_v100 needs exactly 8 devices, this run "
                              f"has {count}; use --network_topology=dgx1.")
        self.halves = (list(range(count // 2)), list(range(count // 2, count)))
        self.half_of = {i: h for h, members in enumerate(self.halves) for i in members}

    def main_devices(self, t: int) -> tuple[int, int]:
        """(main of the half that makes the total, main of the other half)."""
        if self.context.network_topology == "gcp_v100":
            first, second = GCP_V100_MAIN_PAIRS[t % 4]
            return first, second
        low, high = self.halves
        main_low, main_high = low[t % len(low)], high[t % len(high)]
        if t % len(self.devices) < len(low):
            return main_low, main_high
        return main_high, main_low

    def reduce(self, device_tensors):
        return per_tensor(device_tensors, self._reduce_one)

    def _reduce_one(self, values, t):
        first, second = self.main_devices(t)
        sums = {}
        for main in (first, second):
            members = self.halves[self.half_of[main]]
            sums[main] = reduce_then_broadcast([values[i] for i in members],
                                               [self.devices[main]], self.devices[main])[0]
        total = reduce_then_broadcast([sums[first], sums[second]], [self.devices[first]],
                                      self.devices[first])[0]
        at_second = broadcast(total, [self.devices[second]])[0]
        source = {self.half_of[first]: total, self.half_of[second]: at_second}
        outputs = []
        for i, device in enumerate(self.devices):
            outputs.append(broadcast(source[self.half_of[i]], [device])[0])
        return outputs
