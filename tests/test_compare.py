"""``cnnb compare``: images/sec with intervals, the change, a significance verdict
from the per-step times, and exit status 1 as a CI gate (cnnb.compare).

Most cases compare records written here with seeded step times (so the verdict
is known); one compares two real tiny runs whose speeds differ by far more
than any machine noise (batch 32 against batch 1 of the trivial model)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from cnnb import compare, results

# Runs CLI commands (a JSON list of argument lists) in one process, then prints
# which heavy libraries got imported.
CLI_THEN_MODULES = """
import json, sys
from cnnb.cli import main
for args in json.loads(sys.argv[1]):
    try:
        main(args)
    except SystemExit:
        pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"tensorflow", "matplotlib", "scipy"})
print("HEAVY", ",".join(heavy))
"""


def record(step_times, global_batch=32, model="trivial", **options) -> dict:
    """A schema-2 record with these step times (seconds)."""
    result = results.Result(
        config=results.config_part({"model": model, **options}, ["model", *options]),
        plan={"model": model, "dataset": "imagenet", "mode": "training", "num_devices": 1,
              "batch_size": global_batch, "global_batch_size": global_batch},
        measurements=results.new_measurements(
            step_times=[float(t) for t in step_times], num_steps=len(step_times),
            images_per_sec=global_batch * len(step_times) / float(np.sum(step_times))),
        environment={"cnnb_version": "0.1.0", "tensorflow_version": "2.21.0"})
    return result.as_dict()


def steps(seed: int, mean: float, count: int = 60, spread: float = 0.03) -> np.ndarray:
    """Step times around ``mean`` with relative noise ``spread`` and a few slow outliers."""
    rng = np.random.default_rng(seed)
    times = mean * (1 + spread * rng.standard_normal(count))
    times[rng.choice(count, 3, replace=False)] *= 1.8          # page faults, neighbours
    return times


@pytest.fixture()
def write(tmp_path):
    def write_record(name: str, content) -> str:
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return str(path)
    return write_record


def test_same_distribution_is_no_significant_change(write, cnnb):
    a = write("a.json", record(steps(1, 0.100)))
    b = write("b.json", record(steps(2, 0.100)))
    result = cnnb("compare", a, b)          # a real process: the exit status CI sees
    assert result.code == 0, result
    assert "no significant difference" in result.out
    header = next(line for line in result.out_lines if "images/sec" in line and "run" in line)
    for column in ("global batch", "steps", "95% CI", "change", "p-value", "verdict"):
        assert column in header


def test_ten_percent_slower_fails_the_gate_and_faster_passes(write, cnnb_batch):
    a = write("a.json", record(steps(1, 0.100)))
    slow = write("slow.json", record(steps(3, 0.111)))
    fast = write("fast.json", record(steps(4, 0.090)))
    result, faster_only = cnnb_batch([["compare", a, slow, fast], ["compare", a, fast]])
    assert result.code == 1, result
    slow_row = next(line for line in result.out_lines if line.split()[:1] == ["slow.json"])
    assert slow_row.split()[-1] == "slower"
    assert re.search(r" -(9|10)\.\d% ", slow_row)                   # 1/1.11 - 1 = -9.9%
    assert any(line.startswith("FAIL: slow.json is significantly slower") for line in
               result.out_lines)
    assert any(line.startswith("ok: fast.json is significantly faster") for line in
               result.out_lines)
    assert faster_only.code == 0, faster_only


def test_threshold_decides_whether_a_small_significant_slowdown_fails(write, cnnb_batch):
    a = write("a.json", record(steps(1, 0.100, count=400, spread=0.01)))
    b = write("b.json", record(steps(5, 0.103, count=400, spread=0.01)))   # 2.9% slower
    default, gated, welch = cnnb_batch([
        ["compare", a, b], ["compare", a, b, "--threshold=2%"],
        ["compare", a, b, "--threshold=2", "--test=welch", "--json"]])
    assert default.code == 0, default
    assert "within the 5.0% threshold" in default.out
    assert gated.code == 1, gated
    verdict = json.loads(welch.out)["comparisons"][0]
    assert verdict["verdict"] == "slower" and verdict["fails"] and verdict["p_value"] < 0.05


def test_runs_compare_per_image_so_batch_sizes_may_differ():
    base = results.Result.from_dict(record(steps(1, 0.1)))
    double = results.Result.from_dict(record(steps(1, 0.1) * 2, global_batch=64))
    first, second = compare.throughput(base, "a"), compare.throughput(double, "b")
    assert second.images_per_sec == pytest.approx(first.images_per_sec)
    assert first.low < first.images_per_sec < first.high
    comparison = compare.compare(first, second)
    assert comparison.verdict == compare.SAME and comparison.p_value == pytest.approx(1.0)
    assert compare.config_differences(base, double) == [
        "batch_size: 32 -> 64", "global_batch_size: 32 -> 64"]


def test_unreadable_and_foreign_files_are_one_line_errors(write, cnnb_batch, tmp_path):
    good = write("good.json", record(steps(1, 0.1)))
    version_1 = write("v1.json", {"images_per_sec": 10.0, "model": "trivial"})
    newer = write("v3.json", {**record(steps(1, 0.1)), "schema_version": 3})
    cases = {
        version_1: "has no schema_version", newer: "schema_version 3",
        write("garbage.json", "not json {"): "not a JSON result record",
        str(tmp_path / "missing.json"): "cannot read",
        write("short.json", record([0.1, 0.1])): "at least 3",
    }
    runs = cnnb_batch([["compare", good, path] for path in cases] + [["compare", good]])
    for result, words in zip(runs, cases.values()):
        assert result.code == 2, result
        assert len(result.err_lines) == 1 and result.err_lines[0].startswith("Error: "), result
        assert words in result.err and "Traceback" not in result.err
    assert runs[-1].code == 2 and "at least two" in runs[-1].err


def test_listing_and_help_stay_light_and_compare_needs_no_tensorflow(write, python_child):
    light = [["--help"], ["compare", "--help"], ["sweep", "--help"], ["models"]]
    lines = python_child(CLI_THEN_MODULES, json.dumps(light)).stdout.splitlines()
    assert lines[-1] == "HEAVY ", lines[-1]
    a = write("a.json", record(steps(1, 0.1)))
    lines = python_child(CLI_THEN_MODULES, json.dumps([["compare", a, a]])).stdout.splitlines()
    assert lines[-1] == "HEAVY scipy"


@pytest.mark.slow
def test_two_real_runs_and_a_slowed_one(cnnb_batch, tmp_path):
    """The issue's acceptance: a run compared with itself passes; the same model at
    batch 1 (per-image overhead dominates) fails the gate against batch 32."""
    paths = [str(tmp_path / name) for name in ("a.json", "slow.json")]
    common = ["run", "--model=trivial", "--device=cpu", "--num_batches=12",
              "--num_warmup_batches=2"]
    runs = cnnb_batch([[*common, "--batch_size=32", f"--result_json={paths[0]}"],
                       [*common, "--batch_size=1", f"--result_json={paths[1]}"]])
    assert [run.code for run in runs] == [0, 0], runs
    same, slowed = cnnb_batch([["compare", paths[0], paths[0]], ["compare", *paths]])
    assert same.code == 0 and "no significant difference" in same.out, same
    assert slowed.code == 1, slowed
    assert "batch_size: 32 -> 1" in slowed.out
