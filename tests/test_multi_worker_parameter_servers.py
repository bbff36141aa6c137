"""The parameter-server modes on a cluster (tf.distribute's ParameterServerStrategy
driven by the controller): planning hands parameter_server over to the cluster
manager, distributed_replicated's rules, a real loopback launch whose loss
falls with the controller's per-worker table, and servers that stop by
themselves once the controller has gone (nothing hangs)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time

import pytest

from cnnb import api
from cnnb.cli.launch import Task, failure
from cnnb.errors import ConfigError
from conftest import cli_env

WORKERS, PS, CONTROLLER = "localhost:2222,localhost:2223", "localhost:2224", "localhost:2225"


def cluster(job: str, index: int = 0, **extra) -> dict:
    return {"device": "cpu", "job_name": job, "task_index": index, "worker_hosts": WORKERS,
            "ps_hosts": PS, "controller_host": CONTROLLER, **extra}


@pytest.mark.parametrize("mode", ["parameter_server", "distributed_replicated"])
def test_on_a_cluster_the_controller_drives_and_workers_only_serve(mode):
    controller = api.prepare(cluster("controller", variable_update=mode), visible_gpus=lambda: 0)
    entry = controller.variable_manager
    assert entry.name == mode
    assert entry.target == "cnnb.plugins.variable_managers.parameter_servers:ParameterServers"
    assert controller.replication.worker.is_chief
    assert controller.replication.worker.num_workers == 2        # the controller computes none
    worker = api.prepare(cluster("worker", 1, variable_update=mode), visible_gpus=lambda: 0)
    assert not worker.replication.worker.is_chief


def test_parameter_server_stays_in_process_without_a_cluster():
    plan = api.prepare({"device": "cpu", "variable_update": "parameter_server"},
                       visible_gpus=lambda: 0)
    assert plan.variable_manager.target.endswith("local:ParameterServer")
    assert plan.replication.cluster is None


@pytest.mark.parametrize("values, phrase", [
    ({"variable_update": "distributed_replicated"}, "runs on a cluster"),
    (cluster("controller", variable_update="distributed_replicated", cross_replica_sync=False),
     "is synchronous; it requires --cross_replica_sync"),
    ({**cluster("worker", variable_update="parameter_server"), "ps_hosts": None},
     "needs ps tasks in the cluster; give --ps_hosts"),
    ({**cluster("worker", variable_update="parameter_server"), "controller_host": None},
     "needs chief tasks in the cluster; give --controller_host"),
])
def test_parameter_server_modes_refuse_what_cannot_run(values, phrase):
    with pytest.raises(ConfigError, match=phrase):
        api.prepare(values, visible_gpus=lambda: 0)


def _finished(job: str, code: int) -> Task:
    process = subprocess.Popen([sys.executable, "-c", f"raise SystemExit({code})"])
    process.wait()
    return Task(job, 0, "127.0.0.1:1", process)


def test_a_server_that_ends_before_its_controller_is_a_failure():
    controller = Task("controller", 0, "127.0.0.1:2",
                      subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]))
    try:
        worker = _finished("worker", 0)
        assert failure([worker, controller]) is worker
    finally:
        controller.process.kill()
        controller.process.wait()
    assert failure([_finished("worker", 0), _finished("controller", 0)]) is None


STEP = re.compile(r"^\[controller 0\] (\d+)\timages/sec: .*\t(\S+)$", re.M)


@pytest.mark.slow
def test_parameter_server_launch_trains_and_reports_every_worker(cnnb, tmp_path):
    record = tmp_path / "ps.json"
    launched = cnnb("launch", "--num_workers=2", "--num_ps=1", "--", "--model=trivial",
                    "--device=cpu", "--variable_update=parameter_server", "--batch_size=4",
                    "--num_batches=6", "--num_warmup_batches=1", "--display_every=1",
                    "--tf_random_seed=7", f"--result_json={record}")
    assert launched.code == 0, launched
    assert "[ps 0] Running parameter server 0" in launched.out, launched
    losses = [float(loss) for _, loss in STEP.findall(launched.out)]
    assert len(losses) == 6 and losses[-1] < losses[0], launched       # it learns
    assert "[controller 0] global images/sec:" in launched.out
    result = json.loads(record.read_text())
    rows = result["measurements"]["workers"]
    assert [row["task"] for row in rows] == [0, 1]
    assert sum(row["num_steps"] for row in rows) == 12       # one step per worker per round
    assert result["plan"]["global_batch_size"] == 8
    assert result["measurements"]["global_images_per_sec"] == pytest.approx(
        sum(row["images_per_sec"] for row in rows))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_a_server_stops_by_itself_once_the_controller_has_gone():
    controller = socket.socket()
    controller.bind(("127.0.0.1", 0))
    controller.listen()
    address = f"127.0.0.1:{controller.getsockname()[1]}"
    command = [sys.executable, "-m", "cnnb", "run", "--device=cpu",
               "--variable_update=parameter_server", "--job_name=ps", "--task_index=0",
               f"--worker_hosts=127.0.0.1:{_free_port()}", f"--ps_hosts=127.0.0.1:{_free_port()}",
               f"--controller_host={address}"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, env=cli_env())
    try:
        first = server.stdout.readline()
        while first and "Running parameter server 0" not in first:
            first = server.stdout.readline()
        assert "Running parameter server 0" in first
        time.sleep(2)                                   # it has seen the controller
        controller.close()
        out, _ = server.communicate(timeout=60)        # a hang fails here
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, out
    assert "has finished; parameter server 0 stops" in out
