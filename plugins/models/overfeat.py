"""OverFeat, the "fast" model (Sermanet et al. 2013) on 231x231 images.

Forward FLOPs 5.6e9 at 231 (2 per multiply-add): the paper's table gives 2.8e9
multiply-adds ("connections") for the fast model.
"""

from __future__ import annotations

from cnnb.model import BuilderModel


def overfeat(cnn):
    """Five convs (96-256-512-1024-1024, no batch norm), three max pools, two affine
    layers of 3072 and 4096 with dropout."""
    cnn.conv(96, 11, 11, 4, 4, mode="VALID")
    cnn.mpool(2, 2)
    cnn.conv(256, 5, 5, 1, 1, mode="VALID")
    cnn.mpool(2, 2)
    cnn.conv(512, 3, 3)
    cnn.conv(1024, 3, 3)
    cnn.conv(1024, 3, 3)
    cnn.mpool(2, 2)
    cnn.flatten()
    cnn.affine(3072)
    cnn.dropout()
    cnn.affine(4096)
    cnn.dropout()


IMAGENET = {
    "overfeat": BuilderModel("overfeat", overfeat, 231, 32,
                             "OverFeat fast model (five convs, two affine layers)"),
}
