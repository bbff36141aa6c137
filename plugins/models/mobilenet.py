"""MobileNet v2 (Sandler et al. 2018), width 1.0, on 224x224 images.

Inverted residual blocks: 1x1 expansion (relu6), 3x3 depthwise (relu6), linear
1x1 projection, each with batch norm; an identity shortcut when the shape
allows. Batch norm has gamma and beta (keras.applications' MobileNetV2 and
the paper's count; the predecessor's TF-slim copy trained beta only).

Trainable parameters with 1000 classes: 3,504,872, equal to
``keras.applications.MobileNetV2(weights=None)``'s trainable count (its total
of 3,538,984 adds the 34,112 batch-norm moving statistics). Forward FLOPs
0.60e9 at 224 (2 per multiply-add; the paper: 300M multiply-adds).
"""

from __future__ import annotations

from cnnb.model import BuilderModel

#: (expansion t, output channels c, repeats n, first stride s), the paper's table 2.
BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
          (6, 160, 3, 2), (6, 320, 1, 1))


def inverted_residual(cnn, expansion, out_channels, stride):
    x, in_channels = cnn.top_layer, cnn.top_size
    if expansion > 1:
        cnn.conv(in_channels * expansion, 1, 1, activation="relu6", bias=None)
    cnn.depthwise_conv(3, 3, stride, stride, activation="relu6", bias=None)
    out = cnn.conv(out_channels, 1, 1, activation=None, bias=None)
    if stride == 1 and in_channels == out_channels:
        cnn.top_layer = cnn.add(x, out)


def mobilenet_v2(cnn, blocks=BLOCKS, last_channels=1280, keep_prob=0.8):
    """Stem 3x3/2 conv of 32, the inverted-residual stages, 1x1 conv of 1280, global
    mean, dropout (TF-slim's reference training keeps 0.8)."""
    cnn.use_batch_norm = True
    cnn.batch_norm_config = {"decay": 0.997, "epsilon": 0.001, "scale": True}
    cnn.conv(32, 3, 3, 2, 2, activation="relu6", bias=None)
    for expansion, channels, repeats, stride in blocks:
        for index in range(repeats):
            inverted_residual(cnn, expansion, channels, stride if index == 0 else 1)
    cnn.conv(last_channels, 1, 1, activation="relu6", bias=None)
    cnn.spatial_mean()
    cnn.dropout(keep_prob)


IMAGENET = {
    "mobilenet": BuilderModel("mobilenet", mobilenet_v2, 224, 32,
                              "MobileNet v2, width 1.0 (inverted residuals, depthwise convs)"),
}
