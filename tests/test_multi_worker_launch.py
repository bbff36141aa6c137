"""``cnnb launch`` with real loopback processes: collective_all_reduce on two
workers (losses equal on both, and equal to one process with two devices in
replicated mode), the chief's per-worker table, and a killed worker ending
the launch with an error instead of a hang."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from conftest import cli_env

pytestmark = pytest.mark.slow

RUN = ["--model=trivial", "--device=cpu", "--batch_size=4", "--num_warmup_batches=1",
       "--display_every=1", "--tf_random_seed=7"]
STEP = re.compile(r"^\[worker (\d)\] (\d+)\timages/sec: .*\t(\S+)$")


def step_losses(out: str) -> dict[int, list[str]]:
    """worker -> its printed loss of each step."""
    losses: dict[int, list[str]] = {}
    for line in out.splitlines():
        found = STEP.match(line)
        if found:
            losses.setdefault(int(found.group(1)), []).append(found.group(3))
    return losses


def test_two_workers_match_one_process_with_two_replicated_devices(cnnb, tmp_path):
    record = tmp_path / "launch.json"
    launched = cnnb("launch", "--num_workers=2", "--", *RUN, "--num_batches=4",
                    "--variable_update=collective_all_reduce", f"--result_json={record}")
    assert launched.code == 0, launched
    losses = step_losses(launched.out)
    assert len(losses[0]) == 4 and losses[0] == losses[1], launched
    assert "[worker 0] global images/sec:" in launched.out
    assert re.search(r"^\[worker 0\] 1\t4\t[\d.]+\t[\d.]+", launched.out, re.M), launched
    chief = json.loads(record.read_text())
    assert chief["plan"]["num_workers"] == 2 and chief["plan"]["global_batch_size"] == 8
    assert [w["task"] for w in chief["measurements"]["workers"]] == [0, 1]

    single = tmp_path / "single.json"
    alone = cnnb("run", *RUN, "--num_batches=4", "--num_gpus=2", "--variable_update=replicated",
                 f"--result_json={single}")
    assert alone.code == 0, alone
    expected = json.loads(single.read_text())["measurements"]["last_average_loss"]
    assert chief["measurements"]["last_average_loss"] == pytest.approx(expected, abs=1e-5)


def test_a_killed_worker_stops_the_launch_with_an_error():
    command = [sys.executable, "-m", "cnnb", "launch", "--num_workers=2", "--grace=5", "--",
               *RUN, "--num_batches=100000", "--variable_update=collective_all_reduce"]
    launch = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=cli_env())
    pid, lines = None, []
    try:
        for line in launch.stdout:
            lines.append(line)
            found = re.search(r"started worker 1 .*\(pid (\d+)\)", line)
            pid = int(found.group(1)) if found else pid
            if line.startswith("[worker 1] 1\t"):       # both are training now
                break
        assert pid is not None, "".join(lines)
        os.kill(pid, signal.SIGKILL)
        out, err = launch.communicate(timeout=120)      # a hang fails here
    finally:
        if launch.poll() is None:
            launch.kill()
    assert launch.returncode != 0
    assert "worker 1 was killed by SIGKILL; stopped the other tasks" in err, err
