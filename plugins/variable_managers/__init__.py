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
                         "); tower gradients averaged next to each variable",
                         {"gradient_reduction": "mean", "options": ("local_parameter_device",)}),
    "replicated": ("Replicated", "A copy per device; gradients summed (not averaged) by "
                   "all-reduce (--all_reduce_spec); ResNet schedules divide the rate by the "
                   "device count", {"gradient_reduction": "sum", "all_reduce_spec": True}),
    "independent": ("Independent", "A copy per device; each tower applies its own gradients",
                    {"gradient_reduction": "none"}),
}


#: multi-worker managers on tf.distribute (cnnb.plugins.variable_managers.distributed, ...)
CLUSTER_MANAGERS = {
    "collective_all_reduce": (
        "distributed:CollectiveAllReduce", "Workers on tf.distribute's MultiWorkerMirrored"
        "Strategy: a copy per device, gradients summed by collective all-reduce "
        "(--all_reduce_spec: collective|auto|ring|nccl)",
        {"gradient_reduction": "sum", "all_reduce_spec": True, "all_reduce_plan": False,
         "all_reduce_choices": ("collective", "auto", "ring", "nccl"),
         "options": ("all_reduce_spec",), "cluster_jobs": (("worker",), ("chief",))}),
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
        registry.register(name, f"cnnb.plugins.variable_managers.local:{attribute}", description,
                          multi_worker=False, **capabilities)
    for name, (target, description, capabilities) in CLUSTER_MANAGERS.items():
        registry.register(name, f"cnnb.plugins.variable_managers.{target}", description,
                          multi_worker=name != "horovod", **capabilities)
