"""ResNet for ImageNet (He et al. 2015): v1, v1.5 (stride on the 3x3 conv) and v2
(pre-activation), with the predecessor's learning-rate schedule."""

from __future__ import annotations

from cnnb.model import BuilderModel

STAGES = ((256, 64), (512, 128), (1024, 256), (2048, 512))   # (depth, bottleneck depth)
IMAGENET_TRAIN_EXAMPLES = 1281167


def _shortcut(cnn, x, in_size, depth, stride, source, batch_norm):
    if depth == in_size:
        if stride == 1:
            return x
        return cnn.apool(1, 1, stride, stride, input_layer=x, num_channels_in=in_size)
    return cnn.conv(depth, 1, 1, stride, stride, activation=None, use_batch_norm=batch_norm,
                    input_layer=source, num_channels_in=in_size, bias=None)


def bottleneck_v1(cnn, depth, bottleneck, stride, stride_on_3x3=False):
    """1x1 -> 3x3 -> 1x1 with batch norm after each conv; relu after the sum."""
    x, in_size = cnn.top_layer, cnn.top_size
    shortcut = _shortcut(cnn, x, in_size, depth, stride, x, batch_norm=True)
    s1, s3 = (1, stride) if stride_on_3x3 else (stride, 1)
    cnn.conv(bottleneck, 1, 1, s1, s1, input_layer=x, num_channels_in=in_size,
             use_batch_norm=True, bias=None)
    cnn.conv(bottleneck, 3, 3, s3, s3, mode="SAME_RESNET", use_batch_norm=True, bias=None)
    residual = cnn.conv(depth, 1, 1, 1, 1, activation=None, use_batch_norm=True, bias=None)
    cnn.top_layer, cnn.top_size = cnn.add(shortcut, residual), depth
    cnn.relu()


def bottleneck_v2(cnn, depth, bottleneck, stride):
    """Pre-activation: batch norm and relu first; the sum is left linear."""
    x, in_size = cnn.top_layer, cnn.top_size
    cnn.batch_norm()        # the predecessor's defaults here: beta only, decay 0.999
    preact = cnn.relu()
    shortcut = _shortcut(cnn, x, in_size, depth, stride, preact, batch_norm=False)
    cnn.conv(bottleneck, 1, 1, stride, stride, input_layer=preact, num_channels_in=in_size,
             use_batch_norm=True, bias=None)
    cnn.conv(bottleneck, 3, 3, 1, 1, mode="SAME_RESNET", use_batch_norm=True, bias=None)
    residual = cnn.conv(depth, 1, 1, 1, 1, activation=None, use_batch_norm=False, bias=None)
    cnn.top_layer, cnn.top_size = cnn.add(shortcut, residual), depth


def resnet(cnn, layer_counts, version="v1"):
    """Stem (7x7/2 conv, 3x3/2 max pool), four bottleneck stages, global mean."""
    cnn.use_batch_norm = True
    cnn.batch_norm_config = {"decay": 0.9, "epsilon": 1e-5, "scale": True}
    cnn.conv(64, 7, 7, 2, 2, mode="SAME_RESNET", use_batch_norm=True)
    cnn.mpool(3, 3, 2, 2, mode="SAME")
    for stage, (count, (depth, bottleneck)) in enumerate(zip(layer_counts, STAGES)):
        for i in range(count):
            stride = 2 if stage > 0 and i == 0 else 1
            if version == "v2":
                bottleneck_v2(cnn, depth, bottleneck, stride)
            else:
                bottleneck_v1(cnn, depth, bottleneck, stride, stride_on_3x3=version == "v1.5")
    if version == "v2":
        cnn.batch_norm()
        cnn.relu()
    cnn.spatial_mean()


def resnet_schedule(global_step, batch_size, context):
    """0.128 per 256 images (or --resnet_base_lr), divided by the device count
    when the variable manager sums the towers' gradients (replicated), 5
    warm-up epochs, then x0.1 at epochs 30, 60, 80 and 90."""
    base = context.options.get("resnet_base_lr") or 0.128
    if context.gradients_summed:
        base /= context.num_devices
    scaled = base * batch_size / 256
    per_epoch = IMAGENET_TRAIN_EXAMPLES / batch_size
    warmup = int(per_epoch * 5)
    if global_step < warmup:
        return scaled * global_step / warmup
    boundaries = [int(per_epoch * epochs) for epochs in (30, 60, 80, 90)]
    factor = 1.0
    for boundary in boundaries:
        if global_step > boundary:
            factor *= 0.1
    return scaled * factor


def _variant(name, counts, version, batch):
    depth = 3 * sum(counts) + 2
    label = {"v1": "", "v1.5": " v1.5 (stride on the 3x3 conv)", "v2": " v2 (pre-activation)"}
    return BuilderModel(name, resnet, 224, batch, f"ResNet-{depth}{label[version]}",
                        schedule=resnet_schedule, run_options=("resnet_base_lr",),
                        options={"layer_counts": counts, "version": version})


IMAGENET = {
    "resnet50": _variant("resnet50", (3, 4, 6, 3), "v1", 64),
    "resnet50_v1.5": _variant("resnet50_v1.5", (3, 4, 6, 3), "v1.5", 64),
    "resnet101": _variant("resnet101", (3, 4, 23, 3), "v1", 32),
    "resnet152": _variant("resnet152", (3, 8, 36, 3), "v1", 32),
    "resnet50_v2": _variant("resnet50_v2", (3, 4, 6, 3), "v2", 64),
    "resnet101_v2": _variant("resnet101_v2", (3, 4, 23, 3), "v2", 32),
    "resnet152_v2": _variant("resnet152_v2", (3, 8, 36, 3), "v2", 32),
}
