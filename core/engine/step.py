"""One ``tf.function`` per step: forward, loss, gradients, update."""

from __future__ import annotations

import tensorflow as tf

from cnnb.engine.network import losses, top_k_accuracy


def make_train_step(manager, inputs, config, with_accuracy: bool):
    """``step(lr) -> {'loss', ['top_1', 'top_5']}``; ``inputs(i)`` gives tower i's batch.

    The manager aggregates the towers' gradients and clips what it applies
    (``--gradient_clip``, after aggregation, as the predecessor did)."""

    def tower(index, network):
        images, labels = inputs(index)
        with tf.GradientTape() as tape:
            logits, aux = network(images, training=True, update_stats=index == 0)
            base, total = losses(network, logits, aux, labels, config)
        grads = tape.gradient(total, network.trainable_variables)   # inside the device scope
        reported = total if config.loss_type_to_report == "total_loss" else base
        return grads, reported, (logits, labels)

    @tf.function(jit_compile=bool(config.xla_compile), autograph=False)
    def step(lr):
        tower_grads, reported, first = [], [], None
        for index, network in enumerate(manager.towers):
            with tf.device(network.device):
                grads, loss, outputs = tower(index, network)
            tower_grads.append(grads)
            reported.append(loss)
            first = first or outputs
        manager.apply_gradients(tower_grads, lr)
        result = {"loss": tf.add_n(reported) / len(reported)}
        if with_accuracy:
            result["top_1"], result["top_5"] = top_k_accuracy(*first)
        return result

    return step


def make_forward_step(manager, inputs, config):
    """Inference: logits and accuracy, no loss, no gradients."""

    @tf.function(jit_compile=bool(config.xla_compile), autograph=False)
    def step(lr):
        top1, top5 = [], []
        for index, network in enumerate(manager.towers):
            with tf.device(network.device):
                images, labels = inputs(index)
                logits, _ = network(images, training=False)
                a1, a5 = top_k_accuracy(logits, labels)
            top1.append(a1)
            top5.append(a5)
        count = len(top1)
        return {"loss": tf.constant(0.0), "top_1": tf.add_n(top1) / count,
                "top_5": tf.add_n(top5) / count}

    return step
