"""The cluster of a multi-worker run: flags, TF_CONFIG and what planning refuses.

Pure Python (no TensorFlow): cnnb.cluster parses and checks, planning
(cnnb.api.prepare) refuses combinations before any process starts.
"""

from __future__ import annotations

import json

import pytest

from cnnb import api
from cnnb.cli.launch import check_run_args, plan_tasks, task_command
from cnnb.cluster import cluster_from, worker_of
from cnnb.errors import ConfigError

HOSTS = "localhost:2222,localhost:2223"


def test_flags_and_tf_config_describe_the_same_cluster():
    flags = cluster_from({"job_name": "worker", "task_index": 1, "worker_hosts": HOSTS}, {})
    tf_config = json.dumps({"cluster": {"worker": HOSTS.split(",")},
                            "task": {"type": "worker", "index": 1}})
    env = cluster_from({}, {"TF_CONFIG": tf_config})
    assert flags.as_dict() == env.as_dict() == {"worker": HOSTS.split(",")}
    assert (flags.task_type, flags.task_index) == (env.task_type, env.task_index) == ("worker", 1)
    assert worker_of(flags).task_index == 1 and worker_of(flags).num_workers == 2
    assert not worker_of(flags).is_chief and worker_of(cluster_from({}, {})).is_chief


def test_a_controller_is_tensorflows_chief():
    cluster = cluster_from({"job_name": "controller", "worker_hosts": HOSTS,
                            "ps_hosts": "localhost:2224", "controller_host": "localhost:2225"},
                           {})
    assert cluster.task_type == "chief" and cluster.address == "localhost:2225"
    assert worker_of(cluster, chief_computes=False).is_chief
    assert worker_of(cluster, chief_computes=False).num_workers == 2


@pytest.mark.parametrize("values, environ, phrase", [
    ({"worker_hosts": HOSTS}, {}, "also give --job_name"),
    ({"job_name": "worker"}, {}, "needs --worker_hosts"),
    ({"job_name": "worker", "task_index": 2, "worker_hosts": HOSTS}, {},
     "task index 2 is out of range"),
    ({"job_name": "ps", "worker_hosts": HOSTS}, {}, "lists no ps addresses; give --ps_hosts"),
    ({"job_name": "worker", "worker_hosts": "localhost"}, {}, "is not host:port"),
    ({"job_name": "worker", "worker_hosts": "a:1,a:1"}, {}, "lists an address twice"),
    ({"job_name": "worker", "worker_hosts": HOSTS, "server_protocol": "http"}, {},
     "--server_protocol=http is not one of"),
    ({"job_name": "worker", "worker_hosts": HOSTS}, {"TF_CONFIG": '{"cluster": {}}'},
     "both --job_name and TF_CONFIG"),
    ({}, {"TF_CONFIG": "{not json"}, "TF_CONFIG is not a TensorFlow cluster description"),
    ({}, {"TF_CONFIG": '{"cluster": {"trainer": ["a:1"]}}'}, "names job\\(s\\) trainer"),
])
def test_bad_clusters_are_one_line_errors(values, environ, phrase):
    with pytest.raises(ConfigError, match=phrase):
        cluster_from(values, environ)


@pytest.mark.parametrize("values, phrase", [
    ({"variable_update": "replicated", "job_name": "worker", "worker_hosts": HOSTS},
     "runs in one process and cannot be used with a cluster"),
    ({"variable_update": "collective_all_reduce", "job_name": "worker", "worker_hosts": HOSTS,
      "ps_hosts": "localhost:2224"}, "uses no ps tasks"),
    ({"variable_update": "collective_all_reduce", "all_reduce_spec": "pscpu"},
     "choose one of collective, auto, ring, nccl"),
    ({"variable_update": "collective_all_reduce", "gradient_repacking": 2},
     "configure cnnb's own all-reduce"),
    ({"variable_update": "horovod"}, "needs horovod, which cannot be imported here: install "
     "it with pip install cnnb\\[horovod\\]"),
    ({"variable_update": "distributed_all_reduce"}, "TF2 has no such graph. Use "
     "--variable_update=collective_all_reduce"),
])
def test_planning_refuses_what_cannot_run(values, phrase):
    with pytest.raises(ConfigError, match=phrase):
        api.prepare({"device": "cpu", **values}, visible_gpus=lambda: 0)


def test_planning_fills_the_worker_and_the_global_batch():
    plan = api.prepare({"device": "cpu", "variable_update": "collective_all_reduce",
                        "job_name": "worker", "task_index": 1, "worker_hosts": HOSTS,
                        "all_reduce_spec": "ring"}, visible_gpus=lambda: 0)
    assert plan.replication.worker.task_index == 1 and plan.replication.worker.num_workers == 2
    assert plan.capabilities.gradient_reduction == "sum" and plan.capabilities.multi_worker
    assert plan.replication.options["all_reduce_spec"] == "ring"


def test_launch_gives_each_task_its_cluster_flags():
    tasks = plan_tasks(2, 0, "127.0.0.1")
    assert len({task.address for task in tasks}) == 2
    command = task_command(tasks[1], tasks, ["--model=trivial"])
    assert command[3:5] == ["run", "--model=trivial"]
    assert "--job_name=worker" in command and "--task_index=1" in command
    assert f"--worker_hosts={tasks[0].address},{tasks[1].address}" in command
    with pytest.raises(ConfigError, match="cnnb launch sets --task_index itself"):
        check_run_args(["--model=trivial", "--task_index=1"])
