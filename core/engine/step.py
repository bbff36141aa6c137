"""One ``tf.function`` per step: forward, loss, gradients, update.

The variable manager runs the per-tower function on every tower
(:meth:`cnnb.engine.variables.VariableManager.train_towers`); the step only
combines what the towers return. Accuracy counts every tower's hits over the
global batch, as the predecessor's did (not tower 0's alone).
"""

from __future__ import annotations

import contextlib

import tensorflow as tf

from cnnb.engine.network import losses, top_k_hits


def make_train_step(manager, inputs, step_settings, loss_settings, scaling=None):
    """``step(lr) -> {'loss', ['top_1', 'top_5'], ['loss_scale', 'update_applied']}``;
    ``inputs(i)`` gives tower i's batch.

    The manager aggregates the towers' gradients and clips what it applies
    (``--gradient_clip``, after aggregation, as the predecessor did). ``scaling``
    (:class:`cnnb.engine.loss_scale.LossScaling`, None: none) scales the loss
    and, when automatic, decides whether the update is applied."""
    inputs = Batches(manager.distribute_inputs(inputs))
    with_accuracy = step_settings.with_accuracy

    def tower(index, network):
        images, labels = inputs(index)
        with tf.GradientTape() as tape:
            logits, aux = network(images, training=True, update_stats=index == 0)
            base, total = losses(network, logits, aux, labels, loss_settings)
            differentiated = scaling.scaled(total) if scaling is not None else total
        grads = tape.gradient(differentiated, network.trainable_variables)   # on the device
        if scaling is not None:
            grads = scaling.unscaled(grads)
        reported = total if loss_settings.reported == "total_loss" else base
        hits = top_k_hits(logits, labels) if with_accuracy else ()
        return grads, (reported, hits)

    def step(lr):
        result = {}
        with scaling.guarded(result) if scaling is not None else contextlib.nullcontext():
            outputs = manager.train_towers(tower, lr)
        reported = [loss for loss, _ in outputs]
        result["loss"] = tf.add_n(reported) / len(reported)
        if with_accuracy:
            result["top_1"], result["top_5"] = global_accuracy([hits for _, hits in outputs])
        return result

    return compile_step(manager, step, inputs, step_settings.xla_compile)


def make_forward_step(manager, inputs, step_settings):
    """Inference: logits and accuracy, no loss, no gradients."""
    inputs = Batches(manager.distribute_inputs(inputs))

    def tower(index, network):
        images, labels = inputs(index)
        logits, _ = network(images, training=False)
        return top_k_hits(logits, labels)

    def step(lr):
        top_1, top_5 = global_accuracy(manager.run_towers(tower))
        return {"loss": tf.constant(0.0), "top_1": top_1, "top_5": top_5}

    return compile_step(manager, step, inputs, step_settings.xla_compile)


class Batches:
    """``inputs(index)`` as the towers call it, or, inside an XLA-compiled
    body, the batches fetched before it: XLA cannot compile a tf.data
    iterator's ``IteratorGetNext``, so ``--xla_compile`` reads the input
    outside and compiles everything else."""

    def __init__(self, inputs):
        self.inputs, self.fetched = inputs, None

    def __call__(self, index: int):
        return self.inputs(index) if self.fetched is None else self.fetched[index]

    def body_of(self, body):
        """``body(lr)`` as ``compiled(lr, fetched)``."""
        def with_fetched(lr, fetched):
            self.fetched = fetched
            try:
                return body(lr)
            finally:
                self.fetched = None
        return with_fetched


def compile_step(manager, body, inputs: Batches, xla_compile: bool):
    """The manager's step of ``body``; with XLA, an outer step reads every
    tower's batch and calls the jit-compiled body with them."""
    if not xla_compile:
        return manager.compile_step(body)
    compiled = tf.function(inputs.body_of(body), jit_compile=True, autograph=False)

    def step(lr):
        return compiled(lr, [inputs.inputs(index) for index in range(len(manager.towers))])
    return manager.compile_step(step)


def global_accuracy(tower_hits: list) -> tuple:
    """(top-1, top-5) over the global batch from each tower's (top-1 hits,
    top-5 hits, examples) counts: right however the batch is split."""
    top_1 = tf.add_n([hits[0] for hits in tower_hits])
    top_5 = tf.add_n([hits[1] for hits in tower_hits])
    examples = tf.add_n([hits[2] for hits in tower_hits])
    return top_1 / examples, top_5 / examples
