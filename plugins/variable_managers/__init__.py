"""cnnb's built-in variable managers (registration only; no TensorFlow).

They register exactly as a third party's would: a lazy ``module:Class`` target
and their capabilities (:class:`cnnb.replication.Capabilities`) as metadata.
Their semantics, the predecessor's, are described in
:mod:`cnnb.plugins.variable_managers.local`.
"""

from __future__ import annotations

import cnnb

MANAGERS = {
    "parameter_server": ("ParameterServer", "One copy of the variables (--local_parameter_device"
                         "); tower gradients averaged next to each variable; on a cluster, "
                         "the variables on the parameter servers (ParameterServerStrategy)",
                         {"gradient_reduction": "mean", "options": ("local_parameter_device",),
                          "on_cluster": "parameter_servers"}),
    "replicated": ("Replicated", "A copy per device; gradients summed (not averaged) by "
                   "all-reduce (--all_reduce_spec); ResNet schedules divide the rate by the "
                   "device count", {"gradient_reduction": "sum", "all_reduce_spec": True}),
    "independent": ("Independent", "A copy per device; each tower applies its own gradients",
                    {"gradient_reduction": "none"}),
}


#: what the parameter-server modes on a cluster declare: a controller (TensorFlow's chief)
#: drives workers and parameter servers; it is not one of the computing workers
PARAMETER_SERVERS = {"gradient_reduction": "mean", "multi_worker": True, "chief_computes": False,
                     "cluster_jobs": (("worker", "ps", "chief"), ())}

#: single-process managers that hand over to a multi-worker one when a cluster is given
ON_CLUSTER = {"parameter_servers": (
    "parameter_servers:ParameterServers", "on a cluster: tf.distribute's ParameterServerStrategy "
    "driven by the controller", PARAMETER_SERVERS)}

#: multi-worker managers on tf.distribute (cnnb.plugins.variable_managers.distributed, ...)
CLUSTER_MANAGERS = {
    "collective_all_reduce": (
        "distributed:CollectiveAllReduce", "Workers on tf.distribute's MultiWorkerMirrored"
        "Strategy: a copy per device, gradients summed by collective all-reduce "
        "(--all_reduce_spec: collective|auto|ring|nccl)",
        {"gradient_reduction": "sum", "all_reduce_spec": True, "all_reduce_plan": False,
         "all_reduce_choices": ("collective", "auto", "ring", "nccl"),
         "options": ("all_reduce_spec",), "cluster_jobs": (("worker",), ("chief",))}),
    "distributed_replicated": (
        "parameter_servers:ParameterServers", "Workers driven by a controller on tf.distribute's "
        "ParameterServerStrategy, variables on the parameter servers, synchronous rounds "
        "(same machinery as parameter_server on a cluster)", PARAMETER_SERVERS | {
            "needs_cluster": True, "needs_sync": True}),
    "horovod": (
        "horovod:Horovod", "Horovod (optional: pip install cnnb[horovod]); one device per "
        "process, gradients summed by hvd.allreduce; start with horovodrun",
        {"gradient_reduction": "sum", "options": ("horovod_device",), "requires": ("horovod",),
         "requires_note": "install it with pip install cnnb[horovod]; note that Horovod's last "
         "release (0.28.1, 2023) does not build against TensorFlow 2.16+ and Keras 3, so on "
         "this TensorFlow use collective_all_reduce instead (cnnb launch --num_workers=N)"}),
}


@cnnb.hookimpl
def cnnb_register_variable_managers(registry):
    for name, (attribute, description, capabilities) in MANAGERS.items():
        handover = capabilities.get("on_cluster")
        if handover:          # the cluster manager's registration, used when a cluster is set
            target, note, metadata = ON_CLUSTER[handover]
            capabilities = capabilities | {"on_cluster": dict(
                metadata, target=f"cnnb.plugins.variable_managers.{target}", description=note)}
        registry.register(name, f"cnnb.plugins.variable_managers.local:{attribute}", description,
                          multi_worker=bool(handover), **capabilities)
    for name, (target, description, capabilities) in CLUSTER_MANAGERS.items():
        registry.register(name, f"cnnb.plugins.variable_managers.{target}", description,
                          **({"multi_worker": name != "horovod"} | capabilities))
