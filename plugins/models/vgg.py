"""VGG (Simonyan & Zisserman 2014): 3x3 conv stacks, five max pools, three affine layers."""

from __future__ import annotations

from cnnb.model import BuilderModel

WIDTHS = (64, 128, 256, 512, 512)


def vgg(cnn, convs_per_stage):
    """Stage i has ``convs_per_stage[i]`` 3x3 convs of WIDTHS[i] channels, then a 2x2 pool."""
    if len(convs_per_stage) != len(WIDTHS):
        raise ValueError(f"VGG needs {len(WIDTHS)} stages, got {convs_per_stage}")
    for count, width in zip(convs_per_stage, WIDTHS):
        for _ in range(count):
            cnn.conv(width, 3, 3)
        cnn.mpool(2, 2)
    cnn.flatten()
    cnn.affine(4096)
    cnn.dropout()
    cnn.affine(4096)
    cnn.dropout()


def _variant(name, stages, depth):
    return BuilderModel(name, vgg, 224, 64, f"VGG-{depth} (no batch norm)",
                        options={"convs_per_stage": stages})


IMAGENET = {
    "vgg11": _variant("vgg11", (1, 1, 2, 2, 2), 11),
    "vgg16": _variant("vgg16", (2, 2, 3, 3, 3), 16),
    "vgg19": _variant("vgg19", (2, 2, 4, 4, 4), 19),
}
