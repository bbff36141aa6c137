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


@cnnb.hookimpl
def cnnb_register_variable_managers(registry):
    for name, (attribute, description, capabilities) in MANAGERS.items():
        registry.register(name, f"cnnb.plugins.variable_managers.local:{attribute}", description,
                          multi_worker=False, **capabilities)
