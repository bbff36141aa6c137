"""The in-process variable managers: parameter_server, replicated, independent.

Semantics are the predecessor's:

* ``parameter_server``: one copy of the variables, on the CPU with
  ``--local_parameter_device=cpu``, otherwise spread over the towers' devices
  (each variable on the device holding the fewest elements so far). Every
  tower computes with that copy; the gradients are averaged (mean) next to
  each variable and applied once.
* ``replicated``: a copy per device, equal at the start (copied from the
  first), kept equal because every copy applies the same all-reduced
  gradients. The all-reduce **sums** (it does not average), as the
  predecessor's did; its ResNet learning-rate schedule divides the base rate
  by the device count to compensate, and cnnb's does the same
  (:func:`cnnb.plugins.models.resnet.resnet_schedule`). Other models see an
  N times larger step than with parameter_server.
* ``independent``: a copy per device; each tower applies its own gradients.

Only the first tower updates batch-norm moving statistics (the step passes
``update_stats`` to tower 0 only), and checkpoints save one copy of each
variable (:meth:`VariableManager.savable_variables`).

Weight decay: every tower's loss has ``weight_decay * L2`` (see
:func:`cnnb.engine.network.losses`). Averaged (parameter_server) or summed
(replicated) over N towers, this equals the predecessor's N x L2 on the last
tower only, so updates and the reported total loss match it. In
independent mode the predecessor put all N x L2 on the last tower and none
on the others; cnnb gives each tower its own L2 instead.
"""

from __future__ import annotations

import tensorflow as tf

from cnnb.engine.allreduce import build_all_reduce
from cnnb.engine.variables import (TowerView, VariableManager, copy_values, fill_missing,
                                   named_variables, slot_names)


class GreedyPlacer:
    """A variable creator: each new variable goes to the device holding the
    fewest elements so far (the predecessor's ParamServerDeviceSetter)."""

    def __init__(self, devices):
        self.devices = list(devices)
        self.sizes = [0] * len(self.devices)

    def __call__(self, next_creator, **kwargs):
        initial = kwargs.get("initial_value")
        if callable(initial):
            initial = kwargs["initial_value"] = initial()
        index = min(range(len(self.devices)), key=self.sizes.__getitem__)
        self.sizes[index] += max(1, tf.convert_to_tensor(initial).shape.num_elements() or 0)
        with tf.device(self.devices[index]):
            return next_creator(**kwargs)


class ParameterServer(VariableManager):
    """One copy of the variables on the parameter device; tower gradients averaged there."""

    def create_towers(self, make_network):
        if self.settings.options.get("local_parameter_device") == "cpu":
            self.network = make_network("/cpu:0", 0)
        elif len(self.devices) == 1:
            self.network = make_network(self.devices[0], 0)
        else:
            with tf.variable_creator_scope(GreedyPlacer(self.devices)):
                self.network = make_network(None, 0)
        self.towers = [TowerView(self.network, device) for device in self.devices]
        return self.towers

    def create_optimizers(self, make_optimizer):
        """One optimizer per device that holds variables, so slots sit next to them."""
        groups: dict[str, list[int]] = {}
        for index, variable in enumerate(self.network.trainable_variables):
            groups.setdefault(variable.device, []).append(index)
        self.groups = list(groups.items())
        variables = self.network.trainable_variables
        self.optimizers = []
        for device, indices in self.groups:
            with tf.device(device):
                self.optimizers.append(make_optimizer([variables[i] for i in indices]))

    def apply_gradients(self, tower_grads, lr):
        variables = self.network.trainable_variables
        scale = 1.0 / len(tower_grads)
        averaged = []
        for index, variable in enumerate(variables):
            grads = fill_missing([g[index] for g in tower_grads], [variable] * len(tower_grads))
            with tf.device(variable.device):
                mean = grads[0] if len(grads) == 1 else tf.add_n(grads) * scale
                averaged.append(self.clip([mean])[0])
        for (device, indices), optimizer in zip(self.groups, self.optimizers):
            with tf.device(device):
                optimizer.apply([averaged[i] for i in indices], lr)

    def optimizers_of_first_copy(self):
        return self.optimizers

    def sync_copies(self):
        """The optimizers' extra state (Adam's beta powers) is saved once: copy it
        from the first optimizer to the others. Evaluation builds no optimizer."""
        if not self.optimizers:
            return
        first = _extras(self.optimizers[0])
        for optimizer in self.optimizers[1:]:
            copy_values(first, _extras(optimizer))


def _extras(optimizer) -> list:
    named = slot_names(optimizer, {id(v): str(i) for i, v in enumerate(optimizer.variables)})
    return [slot for name, slot in sorted(named.items()) if name.startswith("optimizer/")]


class _PerDevice(VariableManager):
    """A copy of the variables on every device, each with its own optimizer."""

    def create_towers(self, make_network):
        self.towers = [make_network(device, i) for i, device in enumerate(self.devices)]
        return self.towers

    def create_optimizers(self, make_optimizer):
        self.optimizers = []
        for tower in self.towers:
            with tf.device(tower.device):
                self.optimizers.append(make_optimizer(tower.trainable_variables))

    def filled(self, tower_grads) -> list:
        """Each tower's gradients, zeros for the variables its loss does not use."""
        return [fill_missing(g, tower.trainable_variables)
                for g, tower in zip(tower_grads, self.towers)]

    def apply_each(self, tower_grads, lr) -> None:
        for tower, optimizer, grads in zip(self.towers, self.optimizers, tower_grads):
            with tf.device(tower.device):
                optimizer.apply(self.clip(grads), lr)

    def sync_copies(self):
        """Copy the first tower's variables and optimizer state to the others."""
        first = list(named_variables(self.towers[0]).values())
        for tower in self.towers[1:]:      # same model, same variable order (Keras may rename)
            copy_values(first, list(named_variables(tower).values()))
        for optimizer in self.optimizers[1:]:
            copy_values(self.optimizers[0].slots, optimizer.slots)


class Replicated(_PerDevice):
    """A copy per device; gradients summed by all-reduce, each copy applies them."""

    def create_towers(self, make_network):
        super().create_towers(make_network)
        self.sync_copies()                       # all copies start as the first
        self.all_reduce = None
        if len(self.devices) > 1:
            if self.settings.all_reduce is None:
                raise ValueError("replicated mode on several devices needs an all-reduce "
                                 "plan (ReplicationSettings.all_reduce)")
            self.all_reduce = build_all_reduce(self.settings.all_reduce)
        return self.towers

    def apply_gradients(self, tower_grads, lr):
        grads = self.filled(tower_grads)
        if self.all_reduce is not None:
            grads = self.all_reduce(grads)
        self.apply_each(grads, lr)


class Independent(_PerDevice):
    """A copy per device; each tower applies only its own gradients (no sharing)."""

    def apply_gradients(self, tower_grads, lr):
        self.apply_each(self.filled(tower_grads), lr)
