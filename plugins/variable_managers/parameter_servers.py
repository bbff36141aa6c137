"""``parameter_server`` and ``distributed_replicated`` on a cluster, on
``tf.distribute.experimental.ParameterServerStrategy`` driven by a
``tf.distribute.coordinator.ClusterCoordinator``.

Processes (predecessor.md §6): the controller (TensorFlow's ``chief`` task,
``--job_name=controller``) runs cnnb's loop; the workers and the parameter
servers only start a ``tf.distribute.Server`` (:func:`serve`) and compute or
hold what the controller sends them. The variables and the optimizer's slots
live on the parameter servers (TensorFlow spreads them round-robin); every
worker reads them at the start of its step, computes the gradients of its own
batch and applies them to the parameter servers itself, as the predecessor's
workers did: gradients are **not** accumulated across workers (neither did
the predecessor's parameter_server mode), so a round of W workers makes W
updates, each the mean over that worker's own towers.

One loop step on the controller is a *round*: one step function scheduled per
worker. ``--cross_replica_sync`` (the default, as in the predecessor) joins
every round before the next starts, which is the predecessor's per-step
barrier (its FIFO-queue tokens); ``--nocross_replica_sync`` waits for one step of
each round only (its loss is the one printed) and lets the others run on, so
a fast worker takes the next steps instead of waiting for a slow one
(asynchronous updates). What differs from the
predecessor: TensorFlow's dispatcher, not cnnb, picks the worker that runs
each scheduled step, so a fast worker can occasionally run two of a round's
steps and a slow one none; the per-worker table counts what each one really
ran (:meth:`ParameterServers.worker_timings`).

``distributed_replicated`` is the same machinery with synchronous rounds
required: its per-worker copies, refreshed from the parameter servers after
every barrier, held exactly what a worker reads from the parameter servers
at the start of a synchronous round, so on tf.distribute the two modes differ
only in that rule.

Each worker has one replica (its CPU, or one GPU: ``--num_gpus=1``); data
comes from a per-worker dataset (synthetic images made on the worker, or the
``--data_dir`` pipeline sharded by worker index). Nothing is evaluated
during training here, and checkpoints are written by the controller.
"""

from __future__ import annotations

import os
import socket
import time

import tensorflow as tf

from cnnb.engine.variables import StrategyManager, fill_missing
from cnnb.errors import ConfigError

#: seconds between a server's checks that the controller is still there
POLL_SECONDS = 1.0
#: consecutive failed checks after which a server concludes the controller has gone
GONE_AFTER = 3


def resolver_of(cluster):
    return tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster.as_dict()), task_type=cluster.task_type,
        task_id=cluster.task_index, rpc_layer=cluster.protocol)


def controller_reachable(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=POLL_SECONDS):
            return True
    except OSError:
        return False


def serve(cluster, log=print) -> None:
    """Run this worker's or parameter server's TensorFlow server until the
    controller has come and gone (TensorFlow's servers never stop by
    themselves). A server that never sees its controller keeps waiting: the
    controller may still be starting; ``cnnb launch`` (or the user) stops it."""
    os.environ.setdefault("GRPC_FAIL_FAST", "use_caller")
    server = tf.distribute.Server(tf.train.ClusterSpec(cluster.as_dict()),
                                  job_name=cluster.task_type, task_index=cluster.task_index,
                                  protocol=cluster.protocol, start=True)
    word = "parameter server" if cluster.task_type == "ps" else "worker"
    log(f"Running {word} {cluster.task_index} on {cluster.address} ({server.target})")
    controller = cluster.jobs["chief"][0]
    seen, misses = False, 0
    while not seen or misses < GONE_AFTER:
        if controller_reachable(controller):
            seen, misses = True, 0
        elif seen:
            misses += 1
        time.sleep(POLL_SECONDS)
    log(f"The controller ({controller}) has finished; {word} {cluster.task_index} stops.")


class ParameterServers(StrategyManager):
    """Variables on the cluster's parameter servers; each worker applies its own gradients."""

    max_devices = 1
    _strategy = None
    _coordinator = None

    @classmethod
    def prepare_process(cls, settings) -> None:
        """The controller makes the strategy and coordinator (they connect to every
        task, so it must happen before any op); a worker or parameter server serves."""
        cluster = settings.cluster
        if cluster.task_type != "chief":
            serve(cluster)
            raise SystemExit(0)
        if cls._strategy is None:
            os.environ.setdefault("GRPC_FAIL_FAST", "use_caller")
            cls._strategy = tf.distribute.experimental.ParameterServerStrategy(
                resolver_of(cluster))
            cls._coordinator = tf.distribute.coordinator.ClusterCoordinator(cls._strategy)

    def __init__(self, settings):
        super().__init__(settings)
        self.prepare_process(settings)
        self.strategy, self.coordinator = self._strategy, self._coordinator
        self.num_workers = settings.cluster.num_workers
        self.synchronous = settings.cluster.cross_replica_sync
        self.records: list[tuple[int, int, float]] = []   # (round, worker, seconds) per step
        self.rounds = 0
        self._in_flight: list = []
        self._iterators = None
        self._iterator = None             # the worker's iterator while a step is traced

    def distribute_inputs(self, inputs):
        """Batches from a dataset on each worker; the step reads its worker's iterator."""
        dataset_fn = per_worker_dataset_fn(inputs, self.num_workers)
        self._iterators = iter(self.coordinator.create_per_worker_dataset(dataset_fn))
        channels_first = getattr(inputs, "channels_first", False)

        def worker_batch(index):
            images, labels = next(self._iterator)
            return (tf.transpose(images, [0, 3, 1, 2]) if channels_first else images), labels
        return worker_batch

    def train_towers(self, tower_fn, lr):
        def replica_step():
            grads, outputs = tower_fn(0, self.network)
            grads = fill_missing(grads, self.network.trainable_variables)
            self.optimizers[0].apply(self.clip(grads), lr)
            return outputs
        return [self.strategy.run(replica_step)]

    def run_towers(self, tower_fn):
        return [self.strategy.run(lambda: tower_fn(0, self.network))]

    def apply_gradients(self, tower_grads, lr):
        raise NotImplementedError("parameter-server workers apply gradients in train_towers")

    def compile_step(self, body, jit_compile: bool = False):
        """``round(lr)``: one ``body`` per worker, scheduled by the coordinator."""
        @tf.function(autograph=False, jit_compile=jit_compile)
        def worker_step(iterator, lr):
            self._iterator = iterator
            try:
                began = tf.timestamp()
                outputs = dict(body(lr))
            finally:
                self._iterator = None
            with tf.control_dependencies(tf.nest.flatten(outputs)):
                seconds = tf.timestamp() - began
            return outputs, tf.distribute.coordinator.experimental_get_current_worker_index(), \
                seconds
        return lambda lr: self._round(worker_step, lr)

    def _round(self, worker_step, lr) -> dict:
        number, self.rounds = self.rounds, self.rounds + 1
        scheduled = [(number, self.coordinator.schedule(worker_step, args=(self._iterators, lr)))
                     for _ in range(self.num_workers)]
        if self.synchronous:
            self.coordinator.join()
            return self._fetched(scheduled)
        self._in_flight += scheduled[1:]           # the others finish when they finish
        return self._fetched(scheduled[:1])

    def _fetched(self, scheduled) -> dict:
        """The outputs of ``scheduled`` ``(round, step)`` averaged; each step's
        round, worker and time recorded."""
        results = [(number, value.fetch()) for number, value in scheduled]
        self.records += [(number, int(worker), float(seconds))
                         for number, (_, worker, seconds) in results]
        outputs = [output for _, (output, _, _) in results]
        return {key: sum(float(o[key]) for o in outputs) / len(outputs) for key in outputs[0]}

    def finish_rounds(self) -> None:
        """Wait for the steps still running (asynchronous mode)."""
        if self._in_flight:
            self.coordinator.join()
            self._fetched(self._in_flight)
            self._in_flight = []

    def worker_timings(self, rounds: int) -> list[tuple[int, float]]:
        """``(steps, seconds)`` each worker spent on the last ``rounds`` rounds, in
        worker order: the steps it really ran and their total time on the worker."""
        self.finish_rounds()
        totals = [(0, 0.0)] * self.num_workers
        for number, worker, seconds in self.records:
            if number >= self.rounds - rounds:
                steps, spent = totals[worker]
                totals[worker] = (steps + 1, spent + seconds)
        return totals


def per_worker_dataset_fn(inputs, num_workers: int):
    """A function each worker runs to make its own batches: the synthetic batch
    made there (same shape and labels as cnnb's synthetic input), or the real
    pipeline, sharded by worker index."""
    make_dataset = getattr(inputs, "make_dataset", None)
    if make_dataset is not None:
        def real_fn():
            index = tf.distribute.coordinator.experimental_get_current_worker_index()
            return make_dataset().shard(num_workers, index)
        return real_fn
    images = getattr(inputs, "images", None)
    if not images:
        raise ConfigError("the parameter-server modes cannot read this input source "
                          f"({type(inputs).__name__}).")
    shape, labels = images[0].shape, inputs.labels[0].numpy()

    def synthetic_fn():
        batch = tf.random.truncated_normal(shape, mean=127, stddev=60)
        return tf.data.Dataset.from_tensors((batch, tf.constant(labels))).repeat()
    return synthetic_fn
