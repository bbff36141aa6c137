"""The contract of variable managers (``--variable_update`` modes)."""

from __future__ import annotations

from typing import Callable


class VariableManager:
    """Where each tower's variables live and how tower gradients become updates.

    The first line of a subclass's docstring is its description in
    ``cnnb variable-managers``.
    """

    #: the most devices this manager handles in one process (None: any)
    max_devices: int | None = None

    def __init__(self, devices: tuple[str, ...]):
        if self.max_devices is not None and len(devices) > self.max_devices:
            raise ValueError(f"{type(self).__name__} handles at most {self.max_devices} "
                             f"device(s), got {len(devices)}")
        self.devices = devices
        self.towers: list = []
        self.optimizers: list = []

    def create_towers(self, make_network: Callable[[str, int], object]) -> list:
        """One network per device; subclasses decide whether they share variables."""
        raise NotImplementedError

    def create_optimizers(self, make_optimizer: Callable[[list], object]) -> None:
        raise NotImplementedError

    def apply_gradients(self, tower_grads: list[list], lr) -> None:
        """Called inside the step with each tower's gradients (same order as
        its trainable variables)."""
        raise NotImplementedError


class SingleDeviceManager(VariableManager):
    """One device: its variables take its own gradients."""

    max_devices = 1

    def create_towers(self, make_network):
        self.towers = [make_network(self.devices[0], 0)]
        return self.towers

    def create_optimizers(self, make_optimizer):
        self.optimizers = [make_optimizer(self.towers[0].trainable_variables)]

    def apply_gradients(self, tower_grads, lr):
        self.optimizers[0].apply(tower_grads[0], lr)
