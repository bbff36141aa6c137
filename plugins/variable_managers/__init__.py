"""cnnb's built-in variable managers (registration only)."""

from __future__ import annotations

import cnnb

MANAGERS = {
    "parameter_server": ("ParameterServer", "One copy of the variables on the parameter "
                         "device; tower gradients averaged there"),
    "replicated": ("Replicated", "A copy per device; gradients summed by all-reduce"),
    "independent": ("Independent", "A copy per device; each tower applies its own gradients"),
}


@cnnb.hookimpl
def cnnb_register_variable_managers(registry):
    for name, (attribute, description) in MANAGERS.items():
        registry.register(name, f"cnnb.plugins.variable_managers.local:{attribute}", description,
                          max_devices=1)
