"""cnnb's built-in variable managers (registration only; no TensorFlow).

Their semantics, the predecessor's, are described in
:mod:`cnnb.plugins.variable_managers.local`.
"""

from __future__ import annotations

import cnnb

MANAGERS = {
    "parameter_server": ("ParameterServer", "One copy of the variables (--local_parameter_device"
                         "); tower gradients averaged next to each variable"),
    "replicated": ("Replicated", "A copy per device; gradients summed (not averaged) by "
                   "all-reduce (--all_reduce_spec); ResNet schedules divide the rate by the "
                   "device count"),
    "independent": ("Independent", "A copy per device; each tower applies its own gradients"),
}


@cnnb.hookimpl
def cnnb_register_variable_managers(registry):
    for name, (attribute, description) in MANAGERS.items():
        registry.register(name, f"cnnb.plugins.variable_managers.local:{attribute}", description)
