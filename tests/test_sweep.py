"""``cnnb sweep`` (cnnb.sweep, cnnb.cli.sweep): a grid of run flags, one process
per point, sweep.csv after every point, PNG plots, failed points recorded and
skipped, Ctrl-C keeps the finished rows."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from cnnb import sweep
from cnnb.errors import ConfigError
from cnnb.option_table import ALL_OPTIONS


def read_rows(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as source:
        return list(csv.DictReader(source))


def test_grid_takes_run_syntax_and_expands_every_combination():
    grid = sweep.parse_grid(["--model=resnet20,trivial", "--batch-size", "8,16",
                             "--noforward_only", "--gpu_indices=0\\,1", "--xla",
                             "--num_gpus=1,2"], ALL_OPTIONS)
    assert grid.swept == ("model", "batch_size", "num_gpus")
    assert dict(grid.fixed) == {"forward_only": "false", "gpu_indices": "0,1", "xla": "true"}
    points = grid.points()
    assert len(points) == 8 and points[1] == {"model": "resnet20", "batch_size": "8",
                                              "num_gpus": "2"}
    assert grid.arguments(points[0])[-3:] == ["--model=resnet20", "--batch_size=8",
                                              "--num_gpus=1"]


@pytest.mark.parametrize("tokens, words", [
    (["--batch_sise=8,16"], "Did you mean: --batch_size"),
    (["--batch_size=8"], "nothing to sweep"),
    (["--batch_size=8,16", "--result_json=x.json"], "writes each point's record"),
    (["--batch_size=8,16", "--batch_size=4,2"], "given twice"),
    (["--batch_size=8,16", "resnet50"], "unexpected argument"),
])
def test_grid_mistakes_are_one_clear_error(tokens, words):
    with pytest.raises(ConfigError, match=words):
        sweep.parse_grid(tokens, ALL_OPTIONS)


def test_scaling_efficiency_is_per_device_throughput_against_fewest_devices():
    rows = [{"status": "ok", "model": "a", "num_gpus": "1", "num_devices": 1,
             "images_per_sec": 100.0},
            {"status": "ok", "model": "a", "num_gpus": "2", "num_devices": 2,
             "images_per_sec": 150.0},
            {"status": "ok", "model": "b", "num_gpus": "2", "num_devices": 2,
             "images_per_sec": 80.0},
            {"status": "failed", "model": "b", "num_gpus": "1", "num_devices": None}]
    sweep.add_scaling_efficiency(rows, ("model", "num_gpus"))
    assert [row["scaling_efficiency"] for row in rows] == [1.0, 0.75, 1.0, None]


@pytest.mark.slow
def test_sweep_of_four_points_writes_table_and_plots(cnnb, tmp_path):
    out = tmp_path / "S"
    result = cnnb("sweep", "--model=trivial", "--batch_size=2,4", "--num_gpus=1,2",
                  "--device=cpu", "--num_batches=3", "--num_warmup_batches=1", f"--out={out}")
    assert result.code == 0, result
    rows = read_rows(out / "sweep.csv")
    assert [(r["batch_size"], r["num_gpus"], r["status"]) for r in rows] == [
        ("2", "1", "ok"), ("2", "2", "ok"), ("4", "1", "ok"), ("4", "2", "ok")]
    assert [int(r["global_batch_size"]) for r in rows] == [2, 4, 4, 8]
    assert all(float(r["images_per_sec"]) > 0 for r in rows)
    assert [r["scaling_efficiency"] for r in rows][::2] == ["1", "1"]
    for name in ("throughput.png", "scaling.png"):
        with Image.open(out / name) as image:
            image.verify()
            assert image.format == "PNG" and image.size[0] > 300
    assert (out / "points" / "4.json").is_file() and "total images/sec" in (
        out / "logs" / "4.log").read_text()


def test_failed_points_are_recorded_and_the_sweep_goes_on(cnnb, tmp_path):
    out = tmp_path / "S"
    result = cnnb("sweep", "--model=resnet51,trivial4", "--num_batches=2", f"--out={out}")
    assert result.code == 1, result
    rows = read_rows(out / "sweep.csv")
    assert [r["status"] for r in rows] == ["failed", "failed"]
    assert rows[0]["error"].startswith("exit status 2: Error: unknown model 'resnet51'")
    assert "trivial4" in rows[1]["error"]
    assert "2 of 2 points done, 2 failed" in result.out
    assert not (out / "throughput.png").exists()


@pytest.mark.slow
def test_ctrl_c_keeps_the_finished_rows(make_env, tmp_path):
    """The first point fails at once (a finished row all the same), the second would
    run for hours: Ctrl-C stops it, and the table keeps the first row only."""
    out = tmp_path / "S"
    process = subprocess.Popen(
        [sys.executable, "-m", "cnnb", "sweep", "--model=resnet51,trivial",
         "--num_batches=100000", "--num_warmup_batches=0", "--device=cpu", f"--out={out}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=make_env())
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        started = (out / "logs" / "2.log").exists() and "Running warm up" in (
            out / "logs" / "2.log").read_text()
        if started:
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=240)
    assert process.returncode == 130, stdout + stderr
    rows = read_rows(out / "sweep.csv")
    assert [(r["model"], r["status"]) for r in rows] == [("resnet51", "failed")]
    assert "Interrupted: 1 of 2 points done" in stdout
    assert "Interrupted (SIGTERM)" in (out / "logs" / "2.log").read_text()
