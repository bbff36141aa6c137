"""The environment manifest's probes: what a number depends on besides the flags.

:func:`cnnb.results.environment` assembles the record's ``environment`` part;
the facts that need probing live here: which plugin distributions were loaded
(a vendor's all-reduce changes the numbers as much as a TF upgrade), the CPU's
vector instruction sets (what TensorFlow's kernels can use), the GPUs and their
driver (from ``nvidia-smi`` when it is installed: no TensorFlow needed), and
the git revision of the working directory (which version of *your* code a
sweep measured).

Nothing here may leak a secret: no remote URLs, no user names, no paths
besides what the flags already hold. Every probe is best effort with a short
timeout and answers ``None`` (or an empty list) rather than fail a run whose
numbers are already measured. Imports no TensorFlow.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import Any

#: CPU feature flags that change which kernels TensorFlow (oneDNN, Eigen, XLA)
#: runs: x86 SIMD/AMX families and their ARM counterparts. The full flag list
#: (100+ names of paging, virtualization... features) would hide them.
_PERFORMANCE_FLAG = re.compile(
    r"^(sse\d?(_\d)?|ssse3|avx\w*|fma\d?|f16c|amx\w*|bmi\d|adx|aes|sha(_ni)?|popcnt|"
    r"asimd\w*|sve\w*|fphp|bf16|i8mm|dotprod|sme\d?)$")
_PROBE_TIMEOUT = 5.0


def plugin_versions(plugins) -> dict[str, str]:
    """Distribution name -> version of every *loaded* plugin that is not cnnb's own
    (broken plugins are left out: they took no part in the run)."""
    if plugins is None:
        return {}
    return {info.distribution: info.version for info in sorted(
        getattr(plugins, "infos", ()), key=lambda info: info.distribution)
        if not info.broken and info.distribution != "cnnb"}


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> list[str]:
    """The performance-relevant CPU feature flags (sorted), from the first processor's
    ``flags`` (x86) or ``Features`` (ARM) line; empty where the file is absent."""
    try:
        with open(cpuinfo, encoding="utf-8") as source:
            for line in source:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return sorted({flag for flag in value.split()
                                   if _PERFORMANCE_FLAG.match(flag)})
    except OSError:
        pass
    return []


def gpus() -> list[dict[str, str]]:
    """One ``{"name", "driver_version", "memory_total"}`` per NVIDIA GPU that
    ``nvidia-smi`` sees (honouring CUDA_VISIBLE_DEVICES is TensorFlow's job: the
    record's ``devices`` says which were used); empty without nvidia-smi."""
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return []
    output = _run([executable, "--query-gpu=name,driver_version,memory.total",
                   "--format=csv,noheader"])
    found = []
    for line in (output or "").splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) == 3 and parts[0]:
            found.append({"name": parts[0], "driver_version": parts[1],
                          "memory_total": parts[2]})
    return found


def git_revision(directory: str | None = None) -> dict[str, Any] | None:
    """``{"commit": SHA, "dirty": bool}`` of the git work tree holding ``directory``
    (default: the current directory), or None outside one. Only the commit and
    whether tracked files are modified: never a remote URL (it may hold a token)."""
    if shutil.which("git") is None:
        return None
    where = directory or os.getcwd()
    commit = _run(["git", "-C", where, "rev-parse", "--verify", "--quiet", "HEAD"])
    if not commit or not re.fullmatch(r"[0-9a-f]{40,64}", commit.strip()):
        return None
    status = _run(["git", "-C", where, "status", "--porcelain", "--untracked-files=no"])
    return {"commit": commit.strip(), "dirty": bool(status and status.strip())}


def _run(command: list[str]) -> str | None:
    """``command``'s standard output, or None if it fails or takes too long."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("GIT_")}
    env["LC_ALL"] = "C"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=_PROBE_TIMEOUT,
                              check=False, env=env, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def manifest(plugins=None) -> dict[str, Any]:
    """The probed part of the environment record (see docs/results.md)."""
    found = gpus()
    return {
        "plugin_versions": plugin_versions(plugins),
        "cpu_flags": cpu_flags(),
        "gpus": found,
        "gpu_driver": found[0]["driver_version"] if found else None,
        "git": git_revision(),
    }
