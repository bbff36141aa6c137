"""The predecessor's optimizers on TF's fused training kernels.

The ``ResourceApply*`` ops are what TF1's GradientDescent, Momentum
(Nesterov), RMSProp and Adam optimizers ran, so the update rules, the slot
initial values (RMSProp's mean square starts at 1) and the speed match.
"""

from __future__ import annotations

import tensorflow as tf


class Optimizer:
    """Owns the slot variables of ``variables``; ``apply`` runs inside the step.
    ``settings`` is a :class:`cnnb.settings.OptimizerSettings`."""

    def __init__(self, settings, variables):
        self.settings = settings
        self.variables = list(variables)
        self.slots = self.make_slots()

    def make_slots(self) -> list:
        return []

    def _slot(self, value):
        return [tf.Variable(tf.fill(v.shape, value), trainable=False) for v in self.variables]

    def apply(self, grads, lr) -> None:
        for index, (grad, var) in enumerate(zip(grads, self.variables)):
            self.apply_one(index, grad, var, lr)
        self.finish()

    def apply_one(self, index, grad, var, lr) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """After all variables are updated (Adam advances its beta powers here)."""


class SGD(Optimizer):
    def apply_one(self, index, grad, var, lr):
        tf.raw_ops.ResourceApplyGradientDescent(var=var.handle, alpha=lr, delta=grad)


class Momentum(Optimizer):
    def make_slots(self):
        self.accumulators = self._slot(0.0)
        return self.accumulators

    def apply_one(self, index, grad, var, lr):
        tf.raw_ops.ResourceApplyMomentum(
            var=var.handle, accum=self.accumulators[index].handle, lr=lr, grad=grad,
            momentum=tf.constant(self.settings.momentum, tf.float32), use_nesterov=True)


class RMSProp(Optimizer):
    def make_slots(self):
        self.mean_squares, self.moments = self._slot(1.0), self._slot(0.0)
        return self.mean_squares + self.moments

    def apply_one(self, index, grad, var, lr):
        c = self.settings
        tf.raw_ops.ResourceApplyRMSProp(
            var=var.handle, ms=self.mean_squares[index].handle, mom=self.moments[index].handle,
            lr=lr, rho=tf.constant(c.rmsprop_decay, tf.float32),
            momentum=tf.constant(c.rmsprop_momentum, tf.float32),
            epsilon=tf.constant(c.rmsprop_epsilon, tf.float32), grad=grad)


class Adam(Optimizer):
    def make_slots(self):
        self.m, self.v = self._slot(0.0), self._slot(0.0)
        self.beta1_power = tf.Variable(self.settings.adam_beta1, trainable=False, dtype=tf.float32)
        self.beta2_power = tf.Variable(self.settings.adam_beta2, trainable=False, dtype=tf.float32)
        return self.m + self.v + [self.beta1_power, self.beta2_power]

    def apply_one(self, index, grad, var, lr):
        c = self.settings
        tf.raw_ops.ResourceApplyAdam(
            var=var.handle, m=self.m[index].handle, v=self.v[index].handle,
            beta1_power=self.beta1_power, beta2_power=self.beta2_power, lr=lr,
            beta1=tf.constant(c.adam_beta1, tf.float32),
            beta2=tf.constant(c.adam_beta2, tf.float32),
            epsilon=tf.constant(c.adam_epsilon, tf.float32), grad=grad)

    def finish(self):
        self.beta1_power.assign(self.beta1_power * self.settings.adam_beta1)
        self.beta2_power.assign(self.beta2_power * self.settings.adam_beta2)


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "rmsprop": RMSProp, "adam": Adam}


def make_optimizer(settings, variables) -> Optimizer:
    return OPTIMIZERS[settings.name](settings, variables)
