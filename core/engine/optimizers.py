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
        return [tf.Variable(tf.fill(v.shape, tf.cast(value, v.dtype)), trainable=False)
                for v in self.variables]

    def apply(self, grads, lr) -> None:
        """Hyper-parameters and the rate are cast to each variable's type
        (float16 variables under --fp16_vars; a no-op for float32)."""
        for index, (grad, var) in enumerate(zip(grads, self.variables)):
            self.apply_one(index, tf.cast(grad, var.dtype), var, tf.cast(lr, var.dtype))
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
            momentum=tf.constant(self.settings.momentum, var.dtype), use_nesterov=True)


class RMSProp(Optimizer):
    def make_slots(self):
        self.mean_squares, self.moments = self._slot(1.0), self._slot(0.0)
        return self.mean_squares + self.moments

    def apply_one(self, index, grad, var, lr):
        c = self.settings
        tf.raw_ops.ResourceApplyRMSProp(
            var=var.handle, ms=self.mean_squares[index].handle, mom=self.moments[index].handle,
            lr=lr, rho=tf.constant(c.rmsprop_decay, var.dtype),
            momentum=tf.constant(c.rmsprop_momentum, var.dtype),
            epsilon=tf.constant(c.rmsprop_epsilon, var.dtype), grad=grad)


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
            beta1_power=tf.cast(self.beta1_power, var.dtype),
            beta2_power=tf.cast(self.beta2_power, var.dtype), lr=lr,
            beta1=tf.constant(c.adam_beta1, var.dtype),
            beta2=tf.constant(c.adam_beta2, var.dtype),
            epsilon=tf.constant(c.adam_epsilon, var.dtype), grad=grad)

    def finish(self):
        self.beta1_power.assign(self.beta1_power * self.settings.adam_beta1)
        self.beta2_power.assign(self.beta2_power * self.settings.adam_beta2)


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "rmsprop": RMSProp, "adam": Adam}


def make_optimizer(settings, variables) -> Optimizer:
    return OPTIMIZERS[settings.name](settings, variables)
