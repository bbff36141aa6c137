"""cnnb's built-in all-reduce algorithms (registration only; no TensorFlow).

Each name is usable in ``--all_reduce_spec``; ``copy`` and
``hierarchical_copy`` are also what ``--variable_update=replicated`` uses
without a spec (the latter with ``--hierarchical_copy``), as the predecessor
did. Metadata: ``devices`` is ``"gpu"`` for algorithms that need GPUs
(rejected with ``--device=cpu`` before TensorFlow starts), ``multi_worker``
says whether the algorithm has a cross-worker stage.
"""

from __future__ import annotations

import cnnb

_LOCAL = "cnnb.plugins.allreduce.local"
_NCCL = "cnnb.plugins.allreduce.nccl"

ALGORITHMS = {
    "xring": (f"{_LOCAL}:XRing", "Ring reduce-scatter + all-gather; xring#k runs k rings "
              "(ring order: --gpu_indices)", "any", False),
    "pscpu": (f"{_LOCAL}:PsCpu", "Shuffle: gather on the host CPU, add_n, scatter back", "any",
              False),
    "psgpu": (f"{_LOCAL}:PsGpu", "Shuffle on the towers' devices; psgpu#k shards each tensor "
              "over groups of k devices", "any", False),
    "pscpu/pscpu": (f"{_LOCAL}:PsCpuPsCpu", "Shuffle to each worker's CPU, then across "
                    "workers' CPUs, then back", "any", True),
    "copy": (f"{_LOCAL}:Copy", "Tensor i summed on device i % n (or the CPU with "
             "--local_parameter_device=cpu) and copied back; replicated default", "any", False),
    "hierarchical_copy": (f"{_LOCAL}:HierarchicalCopy", "Sum each half of the devices, add "
                          "the halves, copy back (--hierarchical_copy, --network_topology)",
                          "any", False),
    "nccl": (f"{_NCCL}:Nccl", "NCCL all-reduce within one worker (GPUs only)", "gpu", False),
    "nccl/xring": (f"{_NCCL}:NcclThenRing", "NCCL in each worker, ring across workers "
                   "(one worker: same as nccl)", "gpu", True),
    "nccl/rechd": (f"{_NCCL}:NcclThenRecursiveHD", "NCCL in each worker, recursive "
                   "halving-doubling across workers (one worker: same as nccl)", "gpu", True),
    "nccl/pscpu": (f"{_NCCL}:NcclThenShuffle", "NCCL in each worker, shuffle on the workers' "
                   "CPUs (one worker: same as nccl)", "gpu", True),
    "collective": ("cnnb.plugins.allreduce.collective:Collective", "TensorFlow collective "
                   "ops (CollectiveReduceV2) across the towers' devices", "any", True),
}


@cnnb.hookimpl
def cnnb_register_allreduce(registry):
    for name, (target, description, devices, multi_worker) in ALGORITHMS.items():
        registry.register(name, target, description, devices=devices,
                          multi_worker=multi_worker)
