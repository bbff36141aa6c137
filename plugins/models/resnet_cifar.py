"""ResNets for CIFAR-10 (He et al. 2015, section 4.2): v1 and v2 (pre-activation).

Three stages of basic blocks (two 3x3 convs) at 16, 32 and 64 channels on
32x32, 16x16 and 8x8 grids; ``6n + 2`` layers for ``n`` blocks per stage. The
shortcut is the paper's option A: identity, or a strided 1x1 average pool with
the new channels zero-padded, so it adds no parameters.

Forward FLOPs (2 per multiply-add): resnet20 0.08e9, resnet56 0.25e9,
resnet110 0.51e9; the paper gives ResNet-110 about 2.5e8 multiply-adds.
"""

from __future__ import annotations

from cnnb.model import BuilderModel
from cnnb.plugins.models.schedules import resnet_cifar_schedule

STAGE_DEPTHS = (16, 32, 64)


def _shortcut(cnn, x, in_size, depth, stride):
    """Option A: subsample with a 1x1 average pool and zero-pad the extra channels."""
    if in_size == depth and stride == 1:
        return x
    pooled = cnn.apool(1, 1, stride, stride, input_layer=x, num_channels_in=in_size)
    extra = (depth - in_size) // 2
    return cnn.zero_pad(channels=(extra, depth - in_size - extra), input_layer=pooled)


def basic_block(cnn, depth, stride, version):
    """v1: conv-bn-relu, conv-bn, add, relu. v2: bn-relu first (batch norm with beta
    only, the builder's default), conv-bn-relu, conv, add."""
    x, in_size = cnn.top_layer, cnn.top_size
    if version == "v2":
        cnn.batch_norm()
        cnn.relu()
    cnn.conv(depth, 3, 3, stride, stride, use_batch_norm=True, bias=None)
    residual = cnn.conv(depth, 3, 3, 1, 1, activation=None, use_batch_norm=version == "v1",
                        bias=None)
    shortcut = _shortcut(cnn, x, in_size, depth, stride)
    cnn.top_layer, cnn.top_size = cnn.add(shortcut, residual), depth
    if version == "v1":
        cnn.relu()


def resnet_cifar(cnn, blocks_per_stage, version="v1"):
    """3x3 stem conv of 16 channels, three stages, global mean."""
    cnn.use_batch_norm = True
    cnn.batch_norm_config = {"decay": 0.9, "epsilon": 1e-5, "scale": True}
    cnn.conv(16, 3, 3, 1, 1, use_batch_norm=True)
    for stage, depth in enumerate(STAGE_DEPTHS):
        for index in range(blocks_per_stage):
            stride = 2 if stage > 0 and index == 0 else 1
            basic_block(cnn, depth, stride, version)
    if version == "v2":
        cnn.batch_norm()
        cnn.relu()
    cnn.spatial_mean()


def _variant(layers, version):
    name = f"resnet{layers}" + ("_v2" if version == "v2" else "")
    label = " v2 (pre-activation)" if version == "v2" else ""
    return name, BuilderModel(name, resnet_cifar, 32, 128, f"ResNet-{layers}{label} for CIFAR-10",
                              learning_rate=0.1, schedule=resnet_cifar_schedule,
                              options={"blocks_per_stage": (layers - 2) // 6,
                                       "version": version})


CIFAR10 = dict(_variant(layers, version) for layers in (20, 32, 44, 56, 110)
               for version in ("v1", "v2"))
