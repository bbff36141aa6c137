"""``collective_all_reduce``: many workers on ``tf.distribute.MultiWorkerMirroredStrategy``.

Every worker holds a copy of the variables (on each of its GPUs, or on its
CPU); each step every replica computes its gradients, TensorFlow's collective
all-reduce **sums** them across all replicas of all workers, and every copy
applies the same sum, so the copies stay equal. Summing, not averaging, is
the predecessor's collective_all_reduce (and replicated) behaviour: a
2-worker run takes the same steps as a one-process, 2-device ``replicated``
run with the same global batch, and ResNet schedules divide the rate by the
replica count as they do for replicated.

The initial values are broadcast from the chief (TensorFlow does this when a
variable is created in the strategy's scope), so the workers start equal
whatever their seeds. The reported loss is the mean over all replicas of the
global batch and the accuracy counts every replica's hits, so every worker
prints the same loss at every step.

``--all_reduce_spec`` chooses TensorFlow's collective implementation
(:class:`tf.distribute.experimental.CommunicationImplementation`):
``collective`` or ``auto`` (TensorFlow's choice), ``ring`` (its ring
algorithms, over gRPC), ``nccl`` (NVIDIA NCCL for the all-reduce on GPUs;
TensorFlow falls back to ring for CPU tensors). The in-process algorithms
(xring, pscpu, ...) do not apply: tf.distribute runs the collectives.

On ``--device=cpu`` the strategy makes one replica per worker (its CPU), so
each worker runs one tower (``--num_gpus=1``); on GPUs, one per GPU.
Batch-norm moving statistics are each worker's own (replica 0 of each worker
updates them, as in the predecessor); the chief's are the ones saved.
"""

from __future__ import annotations

import tensorflow as tf

from cnnb.engine.variables import StrategyManager, fill_missing
from cnnb.errors import ConfigError

#: --all_reduce_spec values -> CommunicationImplementation member names
IMPLEMENTATIONS = {"collective": "AUTO", "auto": "AUTO", "ring": "RING", "nccl": "NCCL"}
_SUM, _MEAN = tf.distribute.ReduceOp.SUM, tf.distribute.ReduceOp.MEAN


def implementation_of(spec: str | None) -> str:
    """The CommunicationImplementation name an ``--all_reduce_spec`` asks for."""
    name = (spec or "collective").strip().lower()
    if name not in IMPLEMENTATIONS:
        raise ConfigError(f"--all_reduce_spec={spec} cannot be used with "
                          "--variable_update=collective_all_reduce: TensorFlow's collectives "
                          f"do the all-reduce; choose one of {', '.join(IMPLEMENTATIONS)}.")
    return IMPLEMENTATIONS[name]


def cluster_resolver(cluster, num_gpus: int):
    """A resolver for the run's cluster (never TF_CONFIG read a second time)."""
    resolver_class = tf.distribute.cluster_resolver.SimpleClusterResolver
    if cluster is None:
        return resolver_class(tf.train.ClusterSpec({}), num_accelerators={"GPU": num_gpus})
    return resolver_class(tf.train.ClusterSpec(cluster.as_dict()), task_type=cluster.task_type,
                          task_id=cluster.task_index, rpc_layer=cluster.protocol,
                          num_accelerators={"GPU": num_gpus})


class CollectiveAllReduce(StrategyManager):
    """A copy per device on every worker; gradients summed by TensorFlow's collective all-reduce."""

    _strategy = None          # one per process, made before TensorFlow starts its runtime

    @classmethod
    def prepare_process(cls, settings) -> None:
        """Make the strategy: it configures the collective runtime, which TensorFlow
        allows only before any op has run in the process."""
        if cls._strategy is not None:
            return
        on_gpu = any("gpu" in device.lower() for device in settings.devices)
        if not on_gpu and len(settings.devices) > 1:
            raise ConfigError("collective_all_reduce on --device=cpu runs one replica per "
                              "worker (TensorFlow's MultiWorkerMirroredStrategy uses one CPU "
                              "device); use --num_gpus=1 and more workers.")
        implementation = implementation_of(settings.options.get("all_reduce_spec"))
        options = tf.distribute.experimental.CommunicationOptions(
            implementation=getattr(tf.distribute.experimental.CommunicationImplementation,
                                   implementation))
        resolver = cluster_resolver(settings.cluster, len(settings.devices) if on_gpu else 0)
        cls._strategy = tf.distribute.MultiWorkerMirroredStrategy(
            cluster_resolver=resolver, communication_options=options)

    def __init__(self, settings):
        super().__init__(settings)
        self.prepare_process(settings)
        self.strategy = self._strategy
        self.local_devices = tuple(self.strategy.extended.worker_devices)

    def local_index(self) -> int:
        """Which of this worker's replicas the current replica function runs on."""
        replica = tf.get_static_value(tf.distribute.get_replica_context()
                                      .replica_id_in_sync_group)
        return int(replica or 0) % len(self.local_devices)     # replicas go task by task

    def _local(self, value):
        """A value all-reduced across replicas: the same on each, take this worker's first."""
        return tf.nest.map_structure(
            lambda v: self.strategy.experimental_local_results(v)[0], value)

    def train_towers(self, tower_fn, lr):
        def replica_step():
            context = tf.distribute.get_replica_context()
            grads, (reported, hits) = tower_fn(self.local_index(), self.network)
            grads = fill_missing(grads, self.network.trainable_variables)
            grads = context.all_reduce(_SUM, grads)
            self.optimizers[0].apply(self.clip(grads), lr)
            loss = context.all_reduce(_MEAN, reported)
            return loss, tuple(context.all_reduce(_SUM, list(hits))) if hits else ()
        return [self._local(self.strategy.run(replica_step))]

    def run_towers(self, tower_fn):
        def replica_step():
            hits = tower_fn(self.local_index(), self.network)
            return tuple(tf.distribute.get_replica_context().all_reduce(_SUM, list(hits)))
        return [self._local(self.strategy.run(replica_step))]

    def apply_gradients(self, tower_grads, lr):
        raise NotImplementedError("collective_all_reduce applies gradients inside train_towers")

    def gather_workers(self, values):
        """``values`` (a float vector) of every worker, one row each, in task order:
        a collective, so every worker must call it at the same point."""
        @tf.function(autograph=False)
        def gather(vector):
            rows = self.strategy.run(lambda: tf.reshape(vector, [1, -1]))
            return self.strategy.gather(rows, axis=0)
        rows = gather(tf.constant(values, tf.float32)).numpy()
        per_worker = len(self.local_devices)
        return [list(map(float, row)) for row in rows[::per_worker]]
