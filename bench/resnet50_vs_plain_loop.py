"""cnnb's training loop versus a plain hand-written tf.function loop, same model.

Trains ResNet-50 (batch 8, synthetic data, sgd, NHWC, CPU) through cnnb's
engine, through a minimal loop (tape, gradients, assign_sub) over the same
cnnb-built network, and through a TF1-style graph run by a Session (how the
predecessor ran, as a stand-in for it on machines where it is not installed),
alternating so that machine noise hits all three, and prints images/sec of
each and the ratios. It also measures this machine's
fp32 matmul peak so the numbers can be compared across machines
(fraction of peak = 3 x forward FLOPs x images/sec / peak).

    .venv/bin/python bench/resnet50_vs_plain_loop.py [--model resnet50] [--batch_size 8]

Measured here (2-core AMD EPYC, TF 2.21 CPU with oneDNN on, matmul peak 120-147
GFLOP/s, Nov 2026; best of 2-3 alternating rounds):
resnet50 batch 8: cnnb 4.51, plain 4.36, session 4.40 images/sec (ratios 1.03, 1.02);
trivial batch 32: cnnb 1995, plain 1995, session 1970 images/sec (ratios 1.00, 1.01).
All three loops run the same math (sgd, weight decay 4e-5 over non-batch-norm weights).
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import (add_training_arguments, cnnb_images_per_sec, matmul_peak_gflops,
                    plain_loop_images_per_sec)

WEIGHT_DECAY = 4e-5


def with_weight_decay(tf, network, loss):
    """The predecessor's default L2 term (4e-5, batch-norm variables excluded), so all
    three loops do the same math as a default `cnnb run`."""
    return loss + WEIGHT_DECAY * tf.add_n([tf.nn.l2_loss(v) for v in network.store.decayed()])


def session_run(tf, model, args, num_classes: int) -> float:
    """images/sec the predecessor's way: a TF1-style graph (same network, fused
    batch norm with its statistic updates) run step by step by a Session."""
    from cnnb.engine.network import Network
    graph = tf.Graph()
    with graph.as_default():
        network = Network(model, num_classes, model.image_size, "NHWC", "/cpu:0")
        shape = [args.batch_size, model.image_size, model.image_size, 3]
        images = tf.Variable(tf.random.truncated_normal(shape, mean=127, stddev=60),
                             trainable=False)
        labels = tf.Variable(tf.random.uniform([args.batch_size], 0, num_classes - 1,
                                               tf.int32), trainable=False)
        existing = set(graph.get_operations())
        logits, _ = network(images, training=True)
        statistics_updates = [op for op in graph.get_operations()
                              if op.type == "AssignVariableOp" and op not in existing]
        loss = with_weight_decay(tf, network, tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)))
        variables = network.trainable_variables
        grads = tf.gradients(loss, variables)
        train = tf.group(*[v.assign_sub(0.005 * g) for v, g in zip(variables, grads)],
                         *statistics_updates)
        init = tf.compat.v1.global_variables_initializer()
    with tf.compat.v1.Session(graph=graph) as session:
        session.run(init)
        for _ in range(args.warmup):
            session.run([train, loss])
        began = time.perf_counter()
        for _ in range(args.steps):
            session.run([train, loss])
        return args.batch_size * args.steps / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_training_arguments(parser)
    parser.add_argument("--data_name", default="imagenet", help="imagenet or cifar10 (shapes)")
    args = parser.parse_args()
    from cnnb.engine.tfsetup import import_tensorflow
    from cnnb.api import load_plugins
    tf = import_tensorflow()
    plugins = load_plugins()
    dataset = plugins.registry("dataset").get(args.data_name).load()
    model = plugins.registry("model").get(args.model, dataset.model_scope).load()
    classes = dataset.num_classes
    peak = matmul_peak_gflops(tf)
    rates = {"cnnb": [], "plain tf.function": [], "TF1-style session": []}
    for round_number in range(args.repeats):
        rates["cnnb"].append(cnnb_images_per_sec(
            plugins, model=args.model, batch_size=args.batch_size, num_batches=args.steps,
            num_warmup_batches=args.warmup, optimizer="sgd", data_name=args.data_name))
        rates["plain tf.function"].append(plain_loop_images_per_sec(
            tf, model, classes, args.batch_size, args.steps, args.warmup))
        rates["TF1-style session"].append(session_run(tf, model, args, classes))
        print(f"round {round_number + 1}: " + "  ".join(
            f"{name} {values[-1]:.2f}" for name, values in rates.items()), flush=True)
    flops = model.trace(classes).flops
    print(f"model {args.model}, batch {args.batch_size}, {args.steps} timed steps, CPU; "
          f"matmul peak {peak:.1f} GFLOP/s")
    for name, values in rates.items():
        print(f"{name:20s} {max(values):7.2f} images/sec (median {statistics.median(values):.2f})"
              f"  {3 * flops * max(values) / 1e9 / peak:.0%} of peak")
    best = {name: max(values) for name, values in rates.items()}
    print(f"ratio cnnb/plain: {best['cnnb'] / best['plain tf.function']:.3f}")
    print(f"ratio cnnb/session: {best['cnnb'] / best['TF1-style session']:.3f}")


if __name__ == "__main__":
    main()
