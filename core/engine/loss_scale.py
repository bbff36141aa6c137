"""Loss scaling for reduced-precision training, the predecessor's way (predecessor.md §3).

The tower differentiates ``loss x scale`` and divides every gradient by
``scale``, so small float16 gradients do not flush to zero. With automatic
scaling the step decides on the gradients the variable manager *applies*
(averaged for parameter_server, all-reduced for replicated, each tower's own
for independent), after every manager's aggregation:

* any inf/NaN: halve the scale, reset the clean-step count, **skip** the update;
* otherwise apply it; count the clean step, or, once ``inc_every_n`` clean
  steps were counted, double the scale and reset the count.

How the decision sees the applied gradients whatever the manager: the
optimizers handed to :meth:`VariableManager.create_optimizers` are wrapped
(:class:`GuardedOptimizer`); inside the step their ``apply`` calls are only
recorded, and :meth:`LossScaling.guarded` runs them all under one
``tf.cond`` on "every applied gradient is finite". One decision per step for
every device, so copies stay equal. A non-chief worker applies
unconditionally and leaves the scale alone, as the predecessor did.
"""

from __future__ import annotations

import contextlib

import tensorflow as tf

from cnnb.errors import ConfigError


def all_finite(tensors) -> tf.Tensor:
    """A scalar bool: no inf or NaN in any of ``tensors`` (None entries ignored;
    bool entries are earlier such checks)."""
    flags = [t if t.dtype == tf.bool else tf.reduce_all(tf.math.is_finite(t))
             for t in tensors if t is not None]
    return tf.reduce_all(tf.stack(flags)) if flags else tf.constant(True)


def update_loss_scale(scale: tf.Variable, normal_steps: tf.Variable, finite, inc_every_n: int):
    """The state machine: on inf/NaN halve and reset; else count a clean step,
    or double and reset once ``inc_every_n`` were counted (normal_steps=9, n=10
    -> 10, scale kept; normal_steps=10, n=10 -> 0, scale doubled)."""
    finite = tf.convert_to_tensor(finite)
    growing = normal_steps < inc_every_n
    new_scale = tf.where(finite, tf.where(growing, scale, scale * 2.0), scale / 2.0)
    new_steps = tf.where(tf.logical_and(finite, growing), normal_steps + 1,
                         tf.zeros_like(normal_steps))
    return tf.group(scale.assign(new_scale), normal_steps.assign(new_steps))


def apply_with_loss_scale(apply_updates, grads, state, is_chief: bool = True):
    """Run ``apply_updates()`` unless automatic scaling says skip; returns a bool
    tensor "the update was applied". ``state``: a :class:`LossScaleState`, or
    None when automatic scaling is off (then always applied)."""
    if state is None or not is_chief:
        apply_updates()
        return tf.constant(True)
    finite = all_finite(grads)

    def apply():
        apply_updates()
        return tf.constant(True)

    applied = tf.cond(finite, apply, lambda: tf.constant(False))
    with tf.control_dependencies([applied]):
        update = update_loss_scale(state.scale, state.normal_steps, finite, state.inc_every_n)
    with tf.control_dependencies([update]):
        return tf.identity(applied)


class LossScaleState:
    """The scale (float32) and the clean-step count, as variables on the CPU
    (the predecessor kept them there too)."""

    def __init__(self, initial_scale: float, inc_every_n: int):
        with tf.device("/cpu:0"):
            self.scale = tf.Variable(initial_scale, trainable=False, dtype=tf.float32,
                                     name="loss_scale")
            self.normal_steps = tf.Variable(0, trainable=False, dtype=tf.int32,
                                            name="loss_scale_normal_steps")
        self.inc_every_n = inc_every_n


class LossScaling:
    """What a training step does to scale its loss (``settings``: a
    :class:`cnnb.settings.PrecisionSettings` with ``scales_loss``)."""

    def __init__(self, settings, is_chief: bool = True):
        self.settings, self.is_chief = settings, is_chief
        self.state = LossScaleState(settings.loss_scale, settings.inc_loss_scale_every_n) \
            if settings.auto_loss_scale else None
        self.fixed = tf.constant(settings.loss_scale, tf.float32)
        self._pending: list | None = None
        self._tower_checks: list = []

    @property
    def scale(self):
        return self.state.scale if self.state is not None else self.fixed

    def scaled(self, loss):
        return loss * tf.cast(self.scale, loss.dtype)

    def unscaled(self, grads: list) -> list:
        """A tower's gradients divided by the scale. Under automatic scaling their
        finiteness is noted too: ``--gradient_clip`` would turn an inf into the
        clip value before the applied gradients are checked."""
        inverse = 1.0 / self.scale
        grads = [None if g is None else g * tf.cast(inverse, g.dtype) for g in grads]
        if self._pending is not None:
            self._tower_checks.append(all_finite(grads))
        return grads

    def savable(self) -> dict:
        """The automatic scale's state for checkpoints (a resumed run goes on with
        the scale it had, as the predecessor's saved variables did); {} otherwise."""
        if self.state is None:
            return {}
        return {"loss_scale": self.state.scale,
                "loss_scale_normal_steps": self.state.normal_steps}

    def wrap(self, optimizer):
        """The optimizer a manager gets: deferred under automatic scaling."""
        return GuardedOptimizer(optimizer, self) if self.state is not None else optimizer

    def defer(self, optimizer, grads, lr) -> bool:
        """Record an ``apply`` for the step's decision; False outside a guarded step
        (e.g. a manager applying eagerly), where it runs at once."""
        if self._pending is None:
            return False
        if tf.distribute.has_strategy() and not tf.distribute.in_cross_replica_context():
            raise ConfigError("--fp16_enable_auto_loss_scale needs a variable manager that "
                              "applies updates from the step itself, not inside a "
                              "tf.distribute replica function.")
        self._pending.append((optimizer, list(grads), lr))
        return True

    @contextlib.contextmanager
    def guarded(self, outputs: dict):
        """Around ``manager.train_towers``: afterwards run the recorded updates
        under one decision; ``outputs`` gets ``loss_scale`` and ``update_applied``."""
        self._pending = [] if self.state is not None else None
        self._tower_checks = []
        try:
            yield
            if self._pending is not None:
                pending, self._pending = self._pending, None
                checked = [g for _, grads, _ in pending for g in grads]
                outputs["update_applied"] = apply_with_loss_scale(
                    lambda: _run_all(pending), checked + self._tower_checks, self.state,
                    self.is_chief)
        finally:
            self._pending, self._tower_checks = None, []
        outputs["loss_scale"] = tf.identity(self.scale)


def _run_all(pending) -> None:
    for optimizer, grads, lr in pending:
        device = optimizer.variables[0].device if optimizer.variables else None
        with tf.device(device) if device else contextlib.nullcontext():
            optimizer.apply(grads, lr)


class GuardedOptimizer:
    """An optimizer whose ``apply`` waits for the step's loss-scale decision;
    everything else (variables, slots, checkpoint names) is the optimizer's."""

    def __init__(self, optimizer, scaling: LossScaling):
        self._optimizer, self._scaling = optimizer, scaling

    def __getattr__(self, name):
        return getattr(self._optimizer, name)

    def apply(self, grads, lr) -> None:
        if not self._scaling.defer(self._optimizer, grads, lr):
            self._optimizer.apply(grads, lr)


def make_loss_scaling(settings, is_chief: bool = True) -> LossScaling | None:
    """None when the run does not scale its loss (fp32, bf16 without a scale)."""
    return LossScaling(settings, is_chief) if settings is not None and settings.scales_loss \
        else None
