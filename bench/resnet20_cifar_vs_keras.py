"""cnnb's ResNet-20 on CIFAR-10 versus the same network written in Keras 3.

Runs ``cnnb run --model=resnet20 --data_name=cifar10 --batch_size=32
--num_batches=30`` (synthetic 32x32 data, sgd, NHWC, CPU) through the engine
and a Keras 3 ResNet-20 v1 (option-A shortcuts, batch norm momentum 0.9,
SGD, ``train_on_batch`` on one fixed synthetic batch), in one process, alternating
so that machine noise hits both, and prints images/sec of each plus this
machine's fp32 matmul peak (the reference machines' is about twice this one's).

    .venv/bin/python bench/resnet20_cifar_vs_keras.py [--rounds 3] [--jit_compile]

Measured here (2-core CPU, TF 2.21, Keras 3.15, quiet machine, best of 3):
TensorFlow's oneDNN kernels are off by default on this CPU (cnnb turns them
on); with ``TF_ENABLE_ONEDNN_OPTS=1`` cnnb 383, Keras 302 images/sec (matmul peak 162
GFLOP/s); without it cnnb 196, Keras 175 (peak 119). The predecessor's ~600
and Keras's ~450 on the reference machines have the same ratio (1.3).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from common import cnnb_images_per_sec, matmul_peak_gflops

BATCH, STEPS, WARMUP = 32, 30, 10


def keras_resnet20(keras):
    """ResNet-20 v1 for CIFAR-10 as in He et al. 2015 (16/32/64 channels, option A)."""
    layers = keras.layers

    def conv_bn(x, depth, stride, relu=True):
        x = layers.Conv2D(depth, 3, strides=stride, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x)
        return layers.ReLU()(x) if relu else x

    inputs = keras.Input((32, 32, 3))
    x = conv_bn(inputs, 16, 1)
    for stage, depth in enumerate((16, 32, 64)):
        for block in range(3):
            stride = 2 if stage and not block else 1
            shortcut = x
            if stride > 1:
                extra = (depth - x.shape[-1]) // 2
                shortcut = layers.AveragePooling2D(1, stride)(x)
                shortcut = layers.Lambda(lambda t, e=extra: keras.ops.pad(
                    t, [[0, 0], [0, 0], [0, 0], [e, e]]))(shortcut)
            y = conv_bn(conv_bn(x, depth, stride), depth, 1, relu=False)
            x = layers.ReLU()(layers.Add()([shortcut, y]))
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(10)(x))


def keras_images_per_sec(keras, tf, jit_compile: bool) -> float:
    model = keras_resnet20(keras)
    model.compile(optimizer=keras.optimizers.SGD(0.1),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jit_compile)
    images = tf.random.truncated_normal([BATCH, 32, 32, 3], mean=127, stddev=60)
    labels = tf.random.uniform([BATCH], 0, 9, tf.int32)
    for _ in range(WARMUP):
        model.train_on_batch(images, labels)
    began = time.perf_counter()
    for _ in range(STEPS):
        model.train_on_batch(images, labels)
    return BATCH * STEPS / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jit_compile", action="store_true", help="Keras with XLA")
    args = parser.parse_args()
    from cnnb.engine.tfsetup import import_tensorflow
    tf = import_tensorflow()        # cnnb's TensorFlow settings (oneDNN on) for both sides
    import keras
    from cnnb.api import load_plugins
    plugins = load_plugins()
    ours, theirs = [], []
    for _ in range(args.rounds):
        ours.append(cnnb_images_per_sec(
            plugins, model="resnet20", data_name="cifar10", batch_size=BATCH, num_batches=STEPS,
            num_warmup_batches=WARMUP))
        theirs.append(keras_images_per_sec(keras, tf, args.jit_compile))
        print(f"cnnb {ours[-1]:.1f}  keras {theirs[-1]:.1f} images/sec", flush=True)
    print(f"best (median): cnnb {max(ours):.1f} ({statistics.median(ours):.1f}), "
          f"Keras {keras.__version__} {max(theirs):.1f} ({statistics.median(theirs):.1f}) "
          f"images/sec; matmul peak {matmul_peak_gflops(tf):.0f} GFLOP/s; "
          f"TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', '(unset)')}")


if __name__ == "__main__":
    main()
