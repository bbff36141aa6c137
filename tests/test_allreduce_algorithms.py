"""The all-reduce algorithms, the packing and the spec driver, on logical CPU
devices in child processes (predecessor.md §4 and its allreduce tests)."""

from __future__ import annotations

import json
import shutil

import pytest

from multidevice_helpers import child_code

CPU_ALGORITHMS = ("xring", "pscpu", "psgpu", "pscpu/pscpu", "copy", "hierarchical_copy",
                  "collective")
SHARDED = ("xring", "psgpu", "collective")

_CONFORMANCE = """
import json, sys
from cnnb.engine.tfsetup import ensure_logical_cpus
ensure_logical_cpus(8)
from cnnb.allreduce_conformance import run_checks
rows = []
for name in sys.argv[1].split(","):
    rows += [r.__dict__ for r in run_checks(name, (2, 3, 4, 8), (1, 2))]
print("ROWS=" + json.dumps(rows))
"""


@pytest.mark.slow
def test_every_cpu_algorithm_sums_exactly_on_2_3_4_and_8_devices(python_child):
    """Mixed shapes (scalar, sizes not divisible by the device count, 1000
    elements): every device gets the float32 sum, on its own device, identical
    on all devices."""
    proc = python_child(_CONFORMANCE, ",".join(CPU_ALGORITHMS))
    rows = json.loads(proc.stdout.split("ROWS=")[-1])
    failed = [r for r in rows if r["status"] == "failed"]
    assert not failed, failed
    ok = {(r["algorithm"], r["num_devices"], r["shards"]) for r in rows if r["status"] == "ok"}
    for name in CPU_ALGORITHMS:
        for count in (2, 3, 4, 8):
            assert (name, count, 1) in ok, (name, count)
            if name in SHARDED:
                assert (name, count, 2) in ok, (name, count)
    rejected = {(r["algorithm"], r["shards"]) for r in rows if r["status"] == "rejected"}
    assert rejected == {("pscpu", 2), ("pscpu/pscpu", 2)}      # one host CPU to shard over
    assert len(rows) == len(CPU_ALGORITHMS) * 4 * 2


@pytest.mark.slow
def test_conformance_check_fails_wrong_algorithms(python_child):
    python_child(child_code("check_conformance_catches_wrong_algorithms"))


@pytest.mark.slow
def test_conformance_command_line_reports_each_case(python_child):
    proc = python_child("import sys; from cnnb.allreduce_conformance import main; "
                        "sys.exit(main(['xring', 'pscpu', '--devices', '2,3', '--shards', '2']))")
    lines = proc.stdout.splitlines()
    assert "ok       xring devices=3 shards=2" in lines
    assert any(line.startswith("rejected pscpu devices=2 shards=2: pscpu#2") for line in lines)


@pytest.mark.slow
def test_small_gradient_packing_and_repacking_round_trip(python_child):
    """testPackSmallTensors, DynamicPackingTest (max_bytes 40) and repacking."""
    python_child(child_code("check_packing"))


@pytest.mark.slow
def test_spec_driver_sums_every_plan_like_the_predecessors_grad_aggregation(python_child):
    """8 towers x 10 scalars, g[i][j] = 10i + j, through copy, hierarchical copy,
    pscpu, xring + repacking, psgpu#4, multi-range + small-gradient packing,
    collective; plus a multi-range spec over mixed sizes."""
    python_child(child_code("check_spec_driver"))


@pytest.mark.slow
def test_cross_worker_stages_and_nccl_guard(python_child):
    python_child(child_code("check_two_level_blocks"))


@pytest.mark.skipif(shutil.which("nvidia-smi") is None,
                    reason="needs an NVIDIA GPU for NCCL (no nvidia-smi on this machine)")
def test_nccl_algorithms_sum_on_gpus(python_child):
    proc = python_child("""
import tensorflow as tf
from cnnb.allreduce_conformance import run_checks
count = len(tf.config.list_physical_devices('GPU'))
counts = tuple(n for n in (2, 4, 8) if n <= count) or (1,)
for name in ('nccl', 'nccl/xring', 'nccl/rechd', 'nccl/pscpu'):
    results = run_checks(name, counts, (1,), device_kind='gpu')
    assert all(r.status == 'ok' for r in results), results
print('NCCL-OK')
""")
    assert "NCCL-OK" in proc.stdout
