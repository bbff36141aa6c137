"""cnnb's built-in models. This module only registers them; it imports no TensorFlow."""

from __future__ import annotations

import cnnb
from cnnb.plugins.models import (cifar, densenet, inception, mobilenet, nasnet, overfeat,
                                 resnet, resnet_cifar, simple, vgg)

FAMILIES = (simple, vgg, resnet, inception, overfeat, mobilenet, nasnet, cifar, resnet_cifar,
            densenet)


@cnnb.hookimpl
def cnnb_register_models(registry):
    for family in FAMILIES:
        for scope, models in (("imagenet", getattr(family, "IMAGENET", {})),
                              ("cifar10", getattr(family, "CIFAR10", {}))):
            for name, model in models.items():
                registry.register(name, model, model.description, scope=scope,
                                  image_size=model.image_size,
                                  default_batch_size=model.default_batch_size)
