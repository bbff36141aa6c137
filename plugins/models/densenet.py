"""DenseNets for CIFAR-10 (Huang et al. 2017), the basic (not BC) kind.

A 3x3 stem conv of 16 channels, three dense blocks (each layer: batch norm,
relu, 3x3 conv of ``growth_rate`` channels, concatenated to its input), with a
transition (batch norm, relu, 1x1 conv keeping the width, 2x2 average pool)
between blocks. Convolutions carry biases, as in the predecessor.

The predecessor's registrations of these models were broken (their factories
took no ``params`` argument); cnnb builds what they describe. Parameters with
10 classes: densenet40_k12 1,020,634 (paper: 1.0M), densenet100_k12 6,981,994
(paper: 7.0M), densenet100_k24 27,253,738 (paper: 27.2M). Forward FLOPs at
32x32 (2 per multiply-add): 0.53e9, 3.54e9 and 13.8e9.
"""

from __future__ import annotations

import math

from cnnb.model import BuilderModel
from cnnb.plugins.models.schedules import densenet_schedule

BATCH_NORM = {"decay": 0.9, "epsilon": 1e-5, "scale": True}


def dense_layer(cnn, growth_rate):
    """bn-relu-conv3x3 of ``growth_rate`` channels, concatenated to the input."""
    x, size = cnn.top_layer, cnn.top_size
    cnn.batch_norm(**BATCH_NORM)
    cnn.relu()
    new = cnn.conv(growth_rate, 3, 3, 1, 1, activation=None,
                   stddev=math.sqrt(2.0 / 9 / growth_rate))
    cnn.concat([x, new], [size, growth_rate])


def transition(cnn):
    """bn-relu-conv1x1 (same width, relu) then 2x2 average pool."""
    size = cnn.top_size
    cnn.batch_norm(**BATCH_NORM)
    cnn.relu()
    cnn.conv(size, 1, 1, 1, 1, stddev=math.sqrt(2.0 / 9 / size))
    cnn.apool(2, 2, 2, 2)


def densenet_cifar(cnn, layers_per_block, growth_rate):
    cnn.conv(16, 3, 3, 1, 1, activation=None)
    for block, count in enumerate(layers_per_block):
        if block:
            transition(cnn)
        for _ in range(count):
            dense_layer(cnn, growth_rate)
    cnn.batch_norm(**BATCH_NORM)
    cnn.relu()
    cnn.spatial_mean()


def _variant(depth, growth_rate):
    name = f"densenet{depth}_k{growth_rate}"
    per_block = (depth - 4) // 3
    return name, BuilderModel(
        name, densenet_cifar, 32, 64, f"DenseNet-{depth} (growth rate {growth_rate}) for CIFAR-10",
        learning_rate=0.1, schedule=densenet_schedule,
        options={"layers_per_block": (per_block,) * 3, "growth_rate": growth_rate})


CIFAR10 = dict(_variant(depth, k) for depth, k in ((40, 12), (100, 12), (100, 24)))
