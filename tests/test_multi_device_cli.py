"""Several devices through the real CLI: ``cnnb run --num_gpus=N`` on logical CPUs
with every CPU all-reduce spec, a vendor's algorithm, the errors, and
``cnnb allreduce-bench``."""

from __future__ import annotations

import json
import re

import pytest

from multidevice_helpers import install_test_plugins, printed_losses

SPECS = ("xring", "xring#2", "pscpu", "psgpu", "pscpu/pscpu", "pscpu:32k:xring")
TRIVIAL = ("run", "--model=trivial", "--device=cpu", "--num_gpus=4", "--batch_size=2",
           "--num_batches=3", "--num_warmup_batches=0", "--display_every=1")


@pytest.fixture(scope="module")
def plugins_env(tmp_path_factory, make_env):
    """The test model's plugin prints full-precision losses; acme is the vendor example."""
    return make_env(install_test_plugins(tmp_path_factory))


@pytest.fixture(scope="module")
def runs(cnnb_batch, plugins_env):
    """All command lines of this module in one child (TensorFlow imported once,
    4 logical CPUs made by the first run)."""
    replicated = [[*TRIVIAL, "--variable_update=replicated", f"--all_reduce_spec={spec}"]
                  for spec in SPECS]
    replicated += [[*TRIVIAL, "--variable_update=replicated", "--all_reduce_spec=xring",
                    "--gradient_repacking=2"],
                   [*TRIVIAL, "--variable_update=replicated", "--all_reduce_spec=xring",
                    "--agg_small_grads_max_bytes=1000"],
                   [*TRIVIAL, "--variable_update=replicated", "--all_reduce_spec=pscpu:32k:acme"]]
    others = {
        "independent": [*TRIVIAL, "--variable_update=independent"],
        "gpu_indices": ["run", "--model=trivial", "--device=cpu", "--num_gpus=2",
                        "--gpu_indices=1,0", "--batch_size=1", "--num_batches=1"],
        "bench": ["allreduce-bench", "--model=trivial", "--device=cpu", "--num_gpus=4",
                  "--all_reduce_spec=pscpu:32k:xring", "--num_batches=3", "--display_every=1"],
        "bench_json": ["allreduce-bench", "--model=resnet50", "--device=cpu", "--num_gpus=2",
                       "--all_reduce_spec=acme", "--gradient_repacking=4", "--num_batches=2",
                       "--json"],
    }
    results = cnnb_batch(replicated + list(others.values()), env=plugins_env)
    return results[:len(replicated)], dict(zip(others, results[len(replicated):]))


@pytest.mark.slow
def test_every_cpu_spec_prints_the_same_losses_on_4_devices(runs):
    replicated, _ = runs
    reference = None
    for result in replicated:
        assert result.code == 0, result
        losses = printed_losses(result.out)
        assert len(losses) == 3, result
        assert "Devices:     ['/cpu:0', '/cpu:1', '/cpu:2', '/cpu:3']" in result.out
        reference = reference or losses
        assert losses == pytest.approx(reference, rel=1e-5), result
    assert reference[1] != reference[0] and reference[2] != reference[1], "no training"


@pytest.mark.slow
def test_independent_and_gpu_indices_run(runs):
    _, others = runs
    assert others["independent"].code == 0, others["independent"]
    assert len(printed_losses(others["independent"].out)) == 3
    assert others["gpu_indices"].code == 0, others["gpu_indices"]
    assert "Devices:     ['/cpu:1', '/cpu:0']" in others["gpu_indices"].out


@pytest.mark.slow
def test_allreduce_bench_prints_time_and_bandwidth(runs):
    _, others = runs
    bench = others["bench"]
    assert bench.code == 0, bench
    assert re.search(r"^Model:       trivial \(6 gradients, 4,263,877 elements", bench.out, re.M)
    assert re.search(r"^Time per all-reduce: [0-9.]+ ms$", bench.out, re.M)
    assert re.search(r"^Effective bandwidth: [0-9.]+ GB/s \(bus: [0-9.]+ GB/s\)$", bench.out,
                     re.M)
    assert re.match(r"^Average time per step: [0-9.]+$", bench.out_lines[-1])
    assert len([line for line in bench.out_lines if re.match(r"^\d\t[0-9.]+$", line)]) == 3
    record = json.loads(others["bench_json"].out_lines[-1])
    assert record["num_tensors"] == 161 and record["num_elements"] == 25559081
    assert record["spec"] == "acme" and len(record["step_times"]) == 2
    assert record["algorithm_bandwidth"] > 0
    assert record["bus_bandwidth"] == pytest.approx(record["algorithm_bandwidth"])   # 2 devices


def test_vendor_algorithm_is_listed_with_its_distribution(cnnb, plugins_env):
    listing = cnnb("allreduce", "--json", env=plugins_env)
    assert listing.code == 0, listing
    rows = {row["name"]: row for row in json.loads(listing.out)}
    assert rows["acme"]["distribution"] == "acme-allreduce"
    assert rows["xring"]["distribution"] == "cnnb" and rows["nccl"]["devices"] == "gpu"
    text = cnnb("allreduce", env=plugins_env)
    assert re.search(r"^acme\s+acme-allreduce\s+ACME", text.out, re.M)


@pytest.mark.parametrize("spec, phrase", [
    ("pscpu:32k", "not well formed"),
    ("bogus", "invalid algorithm 'bogus'"),
    ("pscpu:abc:xring", "'abc' is not a whole number"),
    ("nccl", "needs GPUs"),
    ("pscpu:32k:acme", "invalid algorithm 'acme'"),        # the vendor is not installed here
])
def test_invalid_specs_exit_2_with_one_line(cnnb, spec, phrase):
    result = cnnb("run", "--model=trivial", "--device=cpu", "--num_gpus=2",
                  "--variable_update=replicated", f"--all_reduce_spec={spec}")
    assert result.code == 2, result
    assert len(result.err_lines) == 1 and result.err_lines[0].startswith("Error: "), result
    assert phrase in result.err, result
    assert "Generating" not in result.out          # rejected before building anything
