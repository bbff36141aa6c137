"""GoogLeNet (Inception v1), Inception v3 and Inception v4, as the predecessor built them.

Every block is an :meth:`~cnnb.builder.ConvNetBuilder.inception_module`: columns
of layers on one input, concatenated along channels. Column tuples are
``('conv', filters, kh, kw[, dh, dw, padding])``, ``('mpool'|'apool', kh, kw, dh,
dw, padding)`` or ``('share',)`` (reuse the previous column's layer at that depth).

Forward FLOPs at the native size (2 per multiply-add), checked against the
papers: GoogLeNet 3.2e9 (Szegedy et al. 2014: "1.5 billion multiply-adds", for
the 1000-class net, with the auxiliary heads), Inception v3 11.5e9 at 299
(Szegedy et al. 2015: "5 billion multiply-adds", that is 5.7e9 in
keras.applications' InceptionV3 count), Inception v4 24.6e9 at 299 (12.3e9
multiply-adds, as reported for the TF-slim model).
"""

from __future__ import annotations

from cnnb.model import BuilderModel

SAME_POOL = ("apool", 3, 3, 1, 1, "SAME")


# -- GoogLeNet -------------------------------------------------------------------------------
def inception_v1_module(cnn, k, l, m, n, p, q):
    """1x1 | 1x1->3x3 | 1x1->5x5 | 3x3 max pool->1x1 (filter counts of the paper's table)."""
    cols = [[("conv", k, 1, 1)], [("conv", l, 1, 1), ("conv", m, 3, 3)],
            [("conv", n, 1, 1), ("conv", p, 5, 5)],
            [("mpool", 3, 3, 1, 1, "SAME"), ("conv", q, 1, 1)]]
    cnn.inception_module("incept_v1", cols)


GOOGLENET_BLOCKS = (
    ((64, 96, 128, 16, 32, 32), (128, 128, 192, 32, 96, 64)),
    ((192, 96, 208, 16, 48, 64), (160, 112, 224, 24, 64, 64), (128, 128, 256, 24, 64, 64),
     (112, 144, 288, 32, 64, 64), (256, 160, 320, 32, 128, 128)),
    ((256, 160, 320, 32, 128, 128), (384, 192, 384, 48, 128, 128)),
)


def googlenet(cnn):
    """Inception v1 without batch norm and without the auxiliary heads."""
    cnn.conv(64, 7, 7, 2, 2)
    cnn.mpool(3, 3, 2, 2, mode="SAME")
    cnn.conv(64, 1, 1)
    cnn.conv(192, 3, 3)
    for index, stage in enumerate(GOOGLENET_BLOCKS):
        cnn.mpool(3, 3, 2, 2, mode="SAME")
        for filters in stage:
            inception_v1_module(cnn, *filters)
    cnn.apool(7, 7, 1, 1, mode="VALID")
    cnn.reshape([-1, 1024])


# -- Inception v3 ----------------------------------------------------------------------------
def inception_v3_a(cnn, pool_filters):
    cols = [[("conv", 64, 1, 1)], [("conv", 48, 1, 1), ("conv", 64, 5, 5)],
            [("conv", 64, 1, 1), ("conv", 96, 3, 3), ("conv", 96, 3, 3)],
            [SAME_POOL, ("conv", pool_filters, 1, 1)]]
    cnn.inception_module("incept_v3_a", cols)


def inception_v3_b(cnn):
    cols = [[("conv", 384, 3, 3, 2, 2, "VALID")],
            [("conv", 64, 1, 1), ("conv", 96, 3, 3), ("conv", 96, 3, 3, 2, 2, "VALID")],
            [("mpool", 3, 3, 2, 2, "VALID")]]
    cnn.inception_module("incept_v3_b", cols)


def inception_v3_c(cnn, n):
    """Factorized 7x7: 1x7 and 7x1 convolutions with ``n`` inner filters."""
    cols = [[("conv", 192, 1, 1)],
            [("conv", n, 1, 1), ("conv", n, 1, 7), ("conv", 192, 7, 1)],
            [("conv", n, 1, 1), ("conv", n, 7, 1), ("conv", n, 1, 7), ("conv", n, 7, 1),
             ("conv", 192, 1, 7)],
            [SAME_POOL, ("conv", 192, 1, 1)]]
    cnn.inception_module("incept_v3_c", cols)


def inception_v3_d(cnn):
    cols = [[("conv", 192, 1, 1), ("conv", 320, 3, 3, 2, 2, "VALID")],
            [("conv", 192, 1, 1), ("conv", 192, 1, 7), ("conv", 192, 7, 1),
             ("conv", 192, 3, 3, 2, 2, "VALID")],
            [("mpool", 3, 3, 2, 2, "VALID")]]
    cnn.inception_module("incept_v3_d", cols)


def inception_v3_e(cnn, pool):
    """Expanded filter bank: 1x3 and 3x1 branches share their 1x1 (and 3x3) trunk."""
    cols = [[("conv", 320, 1, 1)], [("conv", 384, 1, 1), ("conv", 384, 1, 3)],
            [("share",), ("conv", 384, 3, 1)],
            [("conv", 448, 1, 1), ("conv", 384, 3, 3), ("conv", 384, 1, 3)],
            [("share",), ("share",), ("conv", 384, 3, 1)],
            [(pool, 3, 3, 1, 1, "SAME"), ("conv", 192, 1, 1)]]
    cnn.inception_module("incept_v3_e", cols)


def inception_v3_aux(cnn):
    """Auxiliary head on the 17x17 grid (off by default, as in the predecessor)."""
    x, size = cnn.top_layer, cnn.top_size
    cnn.apool(5, 5, 3, 3, mode="VALID")
    cnn.conv(128, 1, 1, mode="SAME")
    cnn.conv(768, 5, 5, mode="VALID", stddev=0.01)
    cnn.aux_top_layer, cnn.aux_top_size = cnn.flatten(), 768
    cnn.top_layer, cnn.top_size = x, size


def inception3(cnn, auxiliary=False):
    """Inception v3 at 299x299 with batch norm (beta only) after every convolution."""
    cnn.use_batch_norm = True
    cnn.conv(32, 3, 3, 2, 2, mode="VALID")
    cnn.conv(32, 3, 3, 1, 1, mode="VALID")
    cnn.conv(64, 3, 3, 1, 1, mode="SAME")
    cnn.mpool(3, 3, 2, 2, mode="VALID")
    cnn.conv(80, 1, 1, 1, 1, mode="VALID")
    cnn.conv(192, 3, 3, 1, 1, mode="VALID")
    cnn.mpool(3, 3, 2, 2, mode="VALID")
    for pool_filters in (32, 64, 64):
        inception_v3_a(cnn, pool_filters)
    inception_v3_b(cnn)
    for n in (128, 160, 160, 192):
        inception_v3_c(cnn, n)
    if auxiliary:
        inception_v3_aux(cnn)
    inception_v3_d(cnn)
    inception_v3_e(cnn, "apool")
    inception_v3_e(cnn, "mpool")
    cnn.apool(8, 8, 1, 1, mode="VALID")
    cnn.reshape([-1, 2048])


# -- Inception v4 ----------------------------------------------------------------------------
def _v4_stem(cnn):
    cnn.conv(32, 3, 3, 2, 2, mode="VALID")
    cnn.conv(32, 3, 3, 1, 1, mode="VALID")
    cnn.conv(64, 3, 3)
    cnn.inception_module("incept_v4_sa", [[("mpool", 3, 3, 2, 2, "VALID")],
                                          [("conv", 96, 3, 3, 2, 2, "VALID")]])
    cnn.inception_module("incept_v4_sb", [
        [("conv", 64, 1, 1), ("conv", 96, 3, 3, 1, 1, "VALID")],
        [("conv", 64, 1, 1), ("conv", 64, 7, 1), ("conv", 64, 1, 7),
         ("conv", 96, 3, 3, 1, 1, "VALID")]])
    cnn.inception_module("incept_v4_sc", [[("conv", 192, 3, 3, 2, 2, "VALID")],
                                          [("mpool", 3, 3, 2, 2, "VALID")]])


V4_A = [[SAME_POOL, ("conv", 96, 1, 1)], [("conv", 96, 1, 1)],
        [("conv", 64, 1, 1), ("conv", 96, 3, 3)],
        [("conv", 64, 1, 1), ("conv", 96, 3, 3), ("conv", 96, 3, 3)]]
V4_B = [[SAME_POOL, ("conv", 128, 1, 1)], [("conv", 384, 1, 1)],
        [("conv", 192, 1, 1), ("conv", 224, 1, 7), ("conv", 256, 7, 1)],
        [("conv", 192, 1, 1), ("conv", 192, 1, 7), ("conv", 224, 7, 1), ("conv", 224, 1, 7),
         ("conv", 256, 7, 1)]]
V4_C = [[SAME_POOL, ("conv", 256, 1, 1)], [("conv", 256, 1, 1)],
        [("conv", 384, 1, 1), ("conv", 256, 1, 3)], [("share",), ("conv", 256, 3, 1)],
        [("conv", 384, 1, 1), ("conv", 448, 1, 3), ("conv", 512, 3, 1), ("conv", 256, 3, 1)],
        [("share",), ("share",), ("share",), ("conv", 256, 1, 3)]]
V4_REDUCTION_A = [[("mpool", 3, 3, 2, 2, "VALID")], [("conv", 384, 3, 3, 2, 2, "VALID")],
                  [("conv", 192, 1, 1), ("conv", 224, 3, 3), ("conv", 256, 3, 3, 2, 2, "VALID")]]
V4_REDUCTION_B = [[("mpool", 3, 3, 2, 2, "VALID")],
                  [("conv", 192, 1, 1), ("conv", 192, 3, 3, 2, 2, "VALID")],
                  [("conv", 256, 1, 1), ("conv", 256, 1, 7), ("conv", 320, 7, 1),
                   ("conv", 320, 3, 3, 2, 2, "VALID")]]


def inception4(cnn):
    """Inception v4 at 299x299: stem, 4xA, reduction A, 7xB, reduction B, 3xC, then
    global mean and dropout (keep 0.8). Batch norm (beta only) after every conv."""
    cnn.use_batch_norm = True
    _v4_stem(cnn)
    for name, cols, count in (("incept_v4_a", V4_A, 4), ("incept_v4_ra", V4_REDUCTION_A, 1),
                              ("incept_v4_b", V4_B, 7), ("incept_v4_rb", V4_REDUCTION_B, 1),
                              ("incept_v4_c", V4_C, 3)):
        for _ in range(count):
            cnn.inception_module(name, cols)
    cnn.spatial_mean()
    cnn.dropout(0.8)


IMAGENET = {
    "googlenet": BuilderModel("googlenet", googlenet, 224, 32,
                              "GoogLeNet / Inception v1 (no batch norm, no auxiliary heads)"),
    "inception3": BuilderModel("inception3", inception3, 299, 32,
                               "Inception v3 (batch norm beta only; auxiliary head off)"),
    "inception4": BuilderModel("inception4", inception4, 299, 32,
                               "Inception v4 (batch norm beta only; dropout keep 0.8)"),
}
