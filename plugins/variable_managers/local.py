"""The in-process variable managers. With one device the three coincide: the
device's variables take its own gradients."""

from __future__ import annotations

from cnnb.engine.variables import SingleDeviceManager


class ParameterServer(SingleDeviceManager):
    """One copy of the variables on the parameter device; tower gradients averaged there."""


class Replicated(SingleDeviceManager):
    """A copy per device; gradients summed by all-reduce, each copy applies them."""


class Independent(SingleDeviceManager):
    """A copy per device; each tower applies only its own gradients (no sharing)."""
