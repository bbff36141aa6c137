"""The ``acme_mirror`` manager: written against cnnb's replication contract only."""

from __future__ import annotations

import tensorflow as tf

from cnnb.engine.variables import VariableManager, fill_missing, named_variables


class Mirror(VariableManager):
    """A copy per device; the towers' gradients are averaged and every copy applies them."""

    def create_towers(self, make_network):
        self.towers = [make_network(device, i) for i, device in enumerate(self.devices)]
        self.sync_copies()                  # every copy starts as the first
        self.option_seen = self.settings.options["acme_mirror_log_every"]
        return self.towers

    def create_optimizers(self, make_optimizer):
        self.optimizers = []
        for tower in self.towers:
            with tf.device(tower.device):
                self.optimizers.append(make_optimizer(tower.trainable_variables))

    def apply_gradients(self, tower_grads, lr):
        grads = [fill_missing(g, t.trainable_variables) for g, t in zip(tower_grads, self.towers)]
        count = len(grads)
        for tower, optimizer in zip(self.towers, self.optimizers):
            with tf.device(tower.device):
                mean = [tf.add_n(list(column)) / count for column in zip(*grads)]
                optimizer.apply(self.clip(mean), lr)

    def sync_copies(self):
        first = list(named_variables(self.towers[0]).values())
        for tower in self.towers[1:]:
            for source, target in zip(first, named_variables(tower).values()):
                target.assign(source.read_value())
        for optimizer in self.optimizers[1:]:
            for source, target in zip(self.optimizers[0].slots, optimizer.slots):
                target.assign(source.read_value())
