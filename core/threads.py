"""CPU thread defaults that fit the CPUs this process may really use.

TensorFlow sizes its intra-op pool from the cores it can be scheduled on. In a
container limited by a CPU *quota* (cgroup ``cpu.max``, e.g. ``docker
--cpus=4`` on a 64-core host) that is every host core: 64 threads time-share 4
CPUs and training slows down several-fold (the predecessor's users found 3x
from hand-set thread counts). So on ``--device=cpu``, when the user sets no
``--num_intra_threads`` and the quota allows fewer CPUs than TensorFlow would
use, cnnb sets the intra-op threads to the quota and inter-op threads to 2
(one op runs while the next is prepared), with a ``Note:`` line saying so.
Otherwise TensorFlow's own choice stays: on an unrestricted machine measured
here (bench/threads.py, 2-core AMD EPYC) hand-set counts gave no gain.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

import math
import os


def schedulable_cpus() -> int:
    """The cores this process may be scheduled on (TensorFlow's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def cpu_quota(root: str = "/sys/fs/cgroup") -> int | None:
    """CPUs the cgroup's quota allows (rounded up), None without a quota."""
    for path, parse in ((f"{root}/cpu.max", _cgroup_v2), (f"{root}/cpu/cpu.cfs_quota_us", None)):
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read().strip()
        except OSError:
            continue
        if parse is not None:
            return parse(text)
        return _cgroup_v1(text, root)
    return None


def _cgroup_v2(text: str) -> int | None:
    quota, _, period = text.partition(" ")
    if quota == "max" or not period:
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def _cgroup_v1(quota_text: str, root: str) -> int | None:
    quota = int(quota_text)
    if quota <= 0:
        return None
    try:
        with open(f"{root}/cpu/cpu.cfs_period_us", encoding="utf-8") as handle:
            period = int(handle.read().strip())
    except (OSError, ValueError):
        return None
    return max(1, math.ceil(quota / period))


def fit_threads(values: dict, explicit, quota: int | None = None,
                cpus: int | None = None) -> list[str]:
    """Set --num_intra_threads/--num_inter_threads for a CPU quota (see the module
    docstring); returns the note to print, if any."""
    if values.get("device") != "cpu" or "num_intra_threads" in explicit:
        return []
    quota = cpu_quota() if quota is None else quota
    cpus = schedulable_cpus() if cpus is None else cpus
    if quota is None or quota >= cpus:
        return []
    values["num_intra_threads"] = quota
    if "num_inter_threads" not in explicit:
        values["num_inter_threads"] = 2
    return [f"a CPU quota allows {quota} of the {cpus} cores TensorFlow would use: "
            f"--num_intra_threads defaults to {quota}, --num_inter_threads to "
            f"{values['num_inter_threads']}"]
