"""Small classic models: trivial, LeNet-5, AlexNet (the predecessor's 1-tower one)."""

from __future__ import annotations

from cnnb.model import BuilderModel


def trivial(cnn):
    """Flatten, affine(1), affine(4096): almost no compute; measures the loop's overhead."""
    cnn.flatten()
    cnn.affine(1)
    cnn.affine(4096)


def lenet(cnn):
    """LeNet-5 on 28x28 images."""
    cnn.conv(32, 5, 5)
    cnn.mpool(2, 2)
    cnn.conv(64, 5, 5)
    cnn.mpool(2, 2)
    cnn.flatten()
    cnn.affine(512)


def alexnet(cnn):
    """One-tower AlexNet (64-192-384-384-256) on 227x227 images."""
    cnn.conv(64, 11, 11, 4, 4, "VALID")
    cnn.mpool(3, 3, 2, 2)
    cnn.conv(192, 5, 5)
    cnn.mpool(3, 3, 2, 2)
    cnn.conv(384, 3, 3)
    cnn.conv(384, 3, 3)
    cnn.conv(256, 3, 3)
    cnn.mpool(3, 3, 2, 2)
    cnn.flatten()
    cnn.affine(4096)
    cnn.dropout()
    cnn.affine(4096)
    cnn.dropout()


IMAGENET = {
    "trivial": BuilderModel("trivial", trivial, 227, 32,
                            "Flatten + two affine layers: measures framework overhead"),
    "lenet": BuilderModel("lenet", lenet, 28, 32, "LeNet-5 (two convs, one hidden affine)",
                          display_name="lenet5"),
    "alexnet": BuilderModel("alexnet", alexnet, 227, 512, "AlexNet, one tower (Krizhevsky 2014)"),
}
