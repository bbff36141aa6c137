"""Small CIFAR-10 models: AlexNet (the cuda-convnet-style CIFAR variant) and trivial.

Forward FLOPs at 32x32 (2 per multiply-add): AlexNet-CIFAR 0.066e9 (the two 5x5
convs dominate), trivial 0.1e6.
"""

from __future__ import annotations

from cnnb.model import BuilderModel
from cnnb.plugins.models.schedules import alexnet_cifar_schedule

LRN = {"depth_radius": 4, "bias": 1.0, "alpha": 0.001 / 9.0, "beta": 0.75}


def alexnet_cifar(cnn):
    """conv64 5x5, pool, lrn, conv64 5x5, lrn, pool, affine 384, affine 192."""
    cnn.conv(64, 5, 5, 1, 1, "SAME", stddev=5e-2)
    cnn.mpool(3, 3, 2, 2, mode="SAME")
    cnn.lrn(**LRN)
    cnn.conv(64, 5, 5, 1, 1, "SAME", bias=0.1, stddev=5e-2)
    cnn.lrn(**LRN)
    cnn.mpool(3, 3, 2, 2, mode="SAME")
    cnn.flatten()
    cnn.affine(384, stddev=0.04, bias=0.1)
    cnn.affine(192, stddev=0.04, bias=0.1)


def trivial_cifar(cnn):
    """Flatten, affine(1), affine(4096): measures the loop's overhead."""
    cnn.flatten()
    cnn.affine(1)
    cnn.affine(4096)


CIFAR10 = {
    "alexnet": BuilderModel("alexnet", alexnet_cifar, 32, 128,
                            "AlexNet for CIFAR-10 (two 5x5 convs with LRN, two affine)",
                            learning_rate=0.1, schedule=alexnet_cifar_schedule),
    "trivial": BuilderModel("trivial", trivial_cifar, 32, 32,
                            "Flatten + two affine layers: measures framework overhead"),
}
