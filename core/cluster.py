"""The cluster of a multi-worker run, from the predecessor's flags or ``TF_CONFIG``.

Pure Python (no TensorFlow): planning reads it to fill
:class:`cnnb.replication.WorkerInfo`, and the ``tf.distribute`` managers turn
it into a cluster resolver.

Two ways to describe the same cluster:

* the predecessor's flags: ``--job_name`` (ps, worker or controller),
  ``--task_index``, ``--worker_hosts``, ``--ps_hosts``, ``--controller_host``
  (comma-separated ``host:port`` lists), ``--server_protocol``;
* a standard ``TF_CONFIG`` environment variable, e.g.
  ``{"cluster": {"worker": ["h1:2222", "h2:2222"]}, "task": {"type": "worker", "index": 0}}``.

Internally both become TensorFlow's job names: ``worker``, ``ps`` and
``chief`` (the predecessor's ``controller``: the process that drives the
parameter-server modes). Giving both is an error, so a stale ``TF_CONFIG``
in a shell never silently changes a run.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping

from cnnb.errors import ConfigError

#: the predecessor's --job_name values -> TensorFlow job names
JOB_NAMES = {"worker": "worker", "ps": "ps", "controller": "chief"}
#: TensorFlow job names -> the predecessor's
FLAG_NAMES = {value: key for key, value in JOB_NAMES.items()}
CLUSTER_FLAGS = ("worker_hosts", "ps_hosts", "controller_host")
PROTOCOLS = ("grpc", "grpc+verbs", "grpc+mpi", "grpc+gdr")


@dataclasses.dataclass(frozen=True)
class ClusterSettings:
    """One process's view of the cluster.

    :ivar jobs: TensorFlow job name -> its task addresses (``worker``, ``ps``,
        ``chief``), in task order.
    :ivar task_type: this process's job (``worker``, ``ps`` or ``chief``).
    :ivar task_index: its index in that job.
    :ivar protocol: the servers' protocol (``--server_protocol``).
    :ivar cross_replica_sync: synchronous updates (``--cross_replica_sync``).
    :ivar source: ``"flags"`` or ``"TF_CONFIG"``, for messages.
    """

    jobs: Mapping[str, tuple[str, ...]]
    task_type: str
    task_index: int = 0
    protocol: str = "grpc"
    cross_replica_sync: bool = True
    source: str = "flags"

    @property
    def num_workers(self) -> int:
        return len(self.jobs.get("worker", ()))

    @property
    def num_ps(self) -> int:
        return len(self.jobs.get("ps", ()))

    @property
    def has_chief(self) -> bool:
        return bool(self.jobs.get("chief"))

    @property
    def address(self) -> str:
        """This task's own ``host:port``."""
        return self.jobs[self.task_type][self.task_index]

    def as_dict(self) -> dict[str, list[str]]:
        """The cluster spec (for ``tf.train.ClusterSpec``), jobs without tasks left out."""
        return {job: list(hosts) for job, hosts in self.jobs.items() if hosts}

    def describe(self) -> str:
        """``worker 1 of 2 (grpc, from flags)``: a line for the info block."""
        counts = ", ".join(f"{len(h)} {job}" for job, h in self.jobs.items() if h)
        role = FLAG_NAMES.get(self.task_type, self.task_type)
        return f"{role} {self.task_index} in {counts} ({self.protocol}, {self.source})"


def hosts(text: str | None, flag: str) -> tuple[str, ...]:
    """'h1:2222,h2:2222' -> ('h1:2222', 'h2:2222'), each checked to be host:port."""
    if not text:
        return ()
    result = tuple(part.strip() for part in text.split(","))
    for address in result:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"--{flag}={text}: '{address}' is not host:port "
                              "(e.g. 10.0.0.1:2222).")
    if len(set(result)) != len(result):
        raise ConfigError(f"--{flag}={text} lists an address twice; each task needs its own.")
    return result


def from_flags(values: Mapping) -> ClusterSettings | None:
    """The cluster of the predecessor's flags; None without --job_name."""
    job_name = values.get("job_name") or ""
    given = [f"--{flag}" for flag in CLUSTER_FLAGS if values.get(flag)]
    if not job_name:
        if given:
            raise ConfigError(f"{', '.join(given)} describe a cluster; also give --job_name "
                              "(worker, ps or controller) and --task_index for this process.")
        return None
    jobs = {"worker": hosts(values.get("worker_hosts"), "worker_hosts"),
            "ps": hosts(values.get("ps_hosts"), "ps_hosts"),
            "chief": hosts(values.get("controller_host"), "controller_host")}
    if not jobs["worker"]:
        raise ConfigError(f"--job_name={job_name} needs --worker_hosts (comma-separated "
                          "host:port of every worker).")
    if len(jobs["chief"]) > 1:
        raise ConfigError("--controller_host takes one host:port.")
    return _checked(ClusterSettings(jobs, JOB_NAMES[job_name], values.get("task_index") or 0,
                                    values.get("server_protocol") or "grpc",
                                    bool(values.get("cross_replica_sync", True)), "flags"))


def from_tf_config(text: str, values: Mapping) -> ClusterSettings:
    """The cluster of a ``TF_CONFIG`` value (JSON with ``cluster`` and ``task``)."""
    try:
        parsed = json.loads(text)
        cluster, task = parsed["cluster"], parsed.get("task", {})
        jobs = {job: tuple(cluster.get(job, ())) for job in ("worker", "ps", "chief")}
        task_type, task_index = task.get("type", "worker"), int(task.get("index", 0))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ConfigError(f"TF_CONFIG is not a TensorFlow cluster description ({error}); "
                          'expected e.g. {"cluster": {"worker": ["h1:2222", "h2:2222"]}, '
                          '"task": {"type": "worker", "index": 0}}.') from None
    unknown = set(cluster) - set(jobs) - {"evaluator"}
    if unknown:
        raise ConfigError(f"TF_CONFIG names job(s) {', '.join(sorted(unknown))}; cnnb knows "
                          "worker, ps and chief.")
    for job, addresses in jobs.items():
        hosts(",".join(addresses), f"TF_CONFIG {job}")
    if task_type not in jobs:
        raise ConfigError(f"TF_CONFIG task type '{task_type}' must be worker, ps or chief.")
    return _checked(ClusterSettings(jobs, task_type, task_index,
                                    values.get("server_protocol") or "grpc",
                                    bool(values.get("cross_replica_sync", True)), "TF_CONFIG"))


def _checked(cluster: ClusterSettings) -> ClusterSettings:
    if cluster.protocol not in PROTOCOLS:
        raise ConfigError(f"--server_protocol={cluster.protocol} is not one of "
                          f"{', '.join(PROTOCOLS)}.")
    count = len(cluster.jobs.get(cluster.task_type, ()))
    if not count:
        role = FLAG_NAMES.get(cluster.task_type, cluster.task_type)
        flag = {"ps": "--ps_hosts", "chief": "--controller_host"}.get(cluster.task_type, "")
        raise ConfigError(f"this process is a {role} but the cluster ({cluster.source}) lists "
                          f"no {role} addresses{'; give ' + flag if flag else ''}.")
    if not 0 <= cluster.task_index < count:
        raise ConfigError(f"task index {cluster.task_index} is out of range: the cluster "
                          f"({cluster.source}) has {count} {cluster.task_type} task(s), "
                          f"indices 0-{count - 1}.")
    return cluster


def cluster_from(values: Mapping, environ: Mapping[str, str] | None = None
                 ) -> ClusterSettings | None:
    """The run's cluster: the flags, else ``TF_CONFIG``, else None (one process)."""
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG", "").strip()
    flagged = from_flags(values)
    if flagged is not None and text:
        raise ConfigError("both --job_name and TF_CONFIG describe the cluster; give one "
                          "(unset TF_CONFIG to use the flags).")
    if flagged is not None or not text:
        return flagged
    parsed = from_tf_config(text, values)
    if not parsed.num_workers and not parsed.has_chief:
        return None
    return parsed


# Planning: the variable manager and the cluster must fit (predecessor.md §3, §6).

def check_requirements(entry) -> None:
    """A manager registered with ``requires=("module", ...)`` (an optional
    dependency such as Horovod) fails before TensorFlow starts when one is
    missing, with the registration's ``requires_note``."""
    import importlib.util
    missing = [name for name in entry.metadata.get("requires", ())
               if importlib.util.find_spec(name.partition(".")[0]) is None]
    if missing:
        note = entry.metadata.get("requires_note", "")
        raise ConfigError(f"--variable_update={entry.name} needs {', '.join(missing)}, which "
                          f"cannot be imported here{': ' + note if note else '.'}")


def check_manager_cluster(entry, cluster: ClusterSettings | None, registry) -> None:
    """Single-process managers refuse a cluster; a multi-worker manager gets the
    jobs it declares (``cluster_jobs`` metadata: required, optional)."""
    name, meta = entry.name, entry.metadata
    if cluster is None:
        if meta.get("needs_cluster"):
            raise ConfigError(f"--variable_update={name} runs on a cluster: give --job_name, "
                              "--task_index and the hosts (or TF_CONFIG), or start one on this "
                              "machine with 'cnnb launch'.")
        return
    if not meta.get("multi_worker"):
        takers = [e.name for e in registry.entries() if e.metadata.get("multi_worker")]
        raise ConfigError(f"--variable_update={name} runs in one process and cannot be used "
                          f"with a cluster ({cluster.source}); use one of: {', '.join(takers)}.")
    required, optional = meta.get("cluster_jobs", (("worker",), ()))
    for job in required:
        if not cluster.jobs.get(job):
            flag = {"ps": "--ps_hosts", "chief": "--controller_host"}.get(job, "--worker_hosts")
            raise ConfigError(f"--variable_update={name} needs {job} tasks in the cluster; "
                              f"give {flag} (or list them in TF_CONFIG).")
    unused = [job for job, hosts_ in cluster.jobs.items()
              if hosts_ and job not in required + optional]
    if unused:
        raise ConfigError(f"--variable_update={name} uses no {' or '.join(unused)} tasks; "
                          "leave them out of the cluster.")
    if meta.get("needs_sync") and not cluster.cross_replica_sync:
        raise ConfigError(f"--variable_update={name} is synchronous; it requires "
                          "--cross_replica_sync (leave out --nocross_replica_sync).")


def worker_of(cluster: ClusterSettings | None, chief_computes: bool = True):
    """This process's :class:`cnnb.replication.WorkerInfo`.

    With collectives every task computes and the chief, if the cluster has
    one, is worker 0 (TensorFlow's order). In the parameter-server modes the
    chief (controller) only drives the workers: it is task 0 of the report
    and the workers are counted without it."""
    from cnnb.replication import WorkerInfo
    if cluster is None:
        return WorkerInfo()
    chiefs = len(cluster.jobs.get("chief", ())) if chief_computes else 0
    total = chiefs + cluster.num_workers
    if cluster.task_type == "chief":
        return WorkerInfo(0, total)
    if cluster.task_type == "worker":
        return WorkerInfo(chiefs + cluster.task_index if chief_computes else -1, total)
    return WorkerInfo(-1, total)                 # a parameter server: never the chief


def for_cluster(entry, config, environ=None):
    """The registration that runs ``entry``'s mode: a single-process manager
    registered with ``on_cluster`` metadata (``{"target": "module:Class",
    "description": ..., <its capabilities>}``) hands over to that manager when
    the run has a cluster, keeping its name (``parameter_server`` runs on
    ParameterServerStrategy there)."""
    handover = entry.metadata.get("on_cluster")
    if not handover or cluster_from(config, environ) is None:
        return entry
    metadata = {key: value for key, value in handover.items()
                if key not in ("target", "description")}
    return dataclasses.replace(entry, target=handover["target"], metadata=metadata,
                               description=handover.get("description", entry.description))


def plan_cluster(config, entry, registry, environ=None) -> ClusterSettings | None:
    """The run's cluster, checked against its variable manager (planning calls this)."""
    check_requirements(entry)
    check_spec_choices(entry, config)
    cluster = cluster_from(config, environ)
    check_manager_cluster(entry, cluster, registry)
    return cluster


def check_spec_choices(entry, config) -> None:
    """A manager whose all-reduce is TensorFlow's (``all_reduce_choices``
    metadata) takes one of those names as --all_reduce_spec and none of the
    in-process all-reduce's other flags."""
    choices = entry.metadata.get("all_reduce_choices")
    if not choices:
        return
    spec = config.get("all_reduce_spec")
    if spec is not None and spec.strip().lower() not in choices:
        raise ConfigError(f"--all_reduce_spec={spec} cannot be used with --variable_update="
                          f"{entry.name}: TensorFlow's collectives do the all-reduce; choose one "
                          f"of {', '.join(choices)}.")
    others = [f"--{flag}" for flag in ("gradient_repacking", "agg_small_grads_max_bytes",
                                       "hierarchical_copy") if config.get(flag)]
    if others:
        raise ConfigError(f"{', '.join(others)} configure cnnb's own all-reduce; "
                          f"--variable_update={entry.name} uses TensorFlow's collectives.")
