"""The bench scripts run end to end with tiny settings. Their numbers are not
checked (wall-clock speed is never asserted in tests), only that they measure
and print them: a change to cnnb's internals that breaks a bench fails here."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import CLI_TIMEOUT, REPO

BENCH = REPO / "bench"


def _bench(script: str, *args: str, env: dict) -> str:
    proc = subprocess.run([sys.executable, str(BENCH / script), *args], cwd=BENCH, env=env,
                          capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False)
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return proc.stdout


@pytest.mark.slow
def test_frameworks_bench_prints_its_ratios(make_env, tmp_path):
    out = _bench("frameworks.py", "--configs=trivial", "--modes=fp32", "--rounds=2",
                 "--block=2", "--warmup=1", env=make_env(CNNB_CACHE_DIR=str(tmp_path)))
    rows = [line.split() for line in out.splitlines() if line.startswith("trivial ")]
    assert len(rows) == 1, out
    cnnb, plain, keras, vs_plain, vs_keras, mfu = rows[0][2:]
    assert min(map(float, (cnnb, plain, keras, vs_plain, vs_keras))) > 0, out
    assert float(vs_plain) == pytest.approx(float(cnnb) / float(plain), rel=0.5), out
    assert mfu.endswith("%") and (tmp_path / "peak.json").exists(), out


@pytest.mark.slow
def test_kernel_ceiling_bench_separates_the_two_gaps(make_env, tmp_path):
    out = _bench("kernel_ceiling.py", "--model=trivial", "--batch_size=4", "--steps=2",
                 "--warmup=1", "--rounds=1", env=make_env(CNNB_CACHE_DIR=str(tmp_path)))
    lines = out.splitlines()
    assert lines[0].startswith("trivial batch 4: 3 conv/dense layers"), out   # 3 dense
    assert lines[1].startswith("kernels alone: ") and "ceiling" in lines[1], out
    assert lines[2].startswith("cnnb: ") and "of the ceiling" in lines[2], out
    assert len([line for line in lines if line.startswith("  dense ")]) == 3, out


@pytest.mark.slow
def test_plain_loop_bench_prints_its_ratios(make_env, tmp_path):
    out = _bench("resnet50_vs_plain_loop.py", "--model=trivial", "--batch_size=4", "--steps=2",
                 "--warmup=1", "--repeats=1", env=make_env(CNNB_CACHE_DIR=str(tmp_path)))
    ratios = [line for line in out.splitlines() if line.startswith("ratio cnnb/")]
    assert len(ratios) == 2 and all(float(line.split()[-1]) > 0 for line in ratios), out
