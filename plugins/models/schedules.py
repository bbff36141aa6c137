"""Learning-rate schedules of the CIFAR-10 models, as plain functions of the step.

They follow the predecessor's ``get_learning_rate`` methods: an epoch is
``int(50000 / batch)`` steps (CIFAR-10's training set, whatever the dataset
plugin says, as the predecessor hard-coded it), and piecewise-constant rates
change *after* a boundary step (``tf.train.piecewise_constant``'s rule).
``batch`` is the number of images per global step.
"""

from __future__ import annotations

CIFAR10_TRAIN_EXAMPLES = 50000


def piecewise_by_epochs(global_step: int, batch_size: int, epochs, rates) -> float:
    """``rates[i]`` while ``global_step <= boundary[i]``; boundaries at whole epochs."""
    per_epoch = int(CIFAR10_TRAIN_EXAMPLES / batch_size)
    for epoch, rate in zip(epochs, rates):
        if global_step <= per_epoch * epoch:
            return rate
    return rates[-1]


def _piecewise(epochs, rates):
    def schedule(global_step, batch_size, context):
        return piecewise_by_epochs(global_step, batch_size, epochs, rates)
    schedule.__doc__ = (f"Piecewise constant {list(rates)} changing after epochs "
                        f"{list(epochs)}.")
    return schedule


#: CIFAR ResNets: 0.1, then x0.1 after epochs 82 and 123, 0.0002 after 300
#: (He et al. 2015's 32k/48k iterations at batch 128). Ignores --learning_rate defaults.
resnet_cifar_schedule = _piecewise((82, 123, 300), (0.1, 0.01, 0.001, 0.0002))

#: CIFAR DenseNets: 0.1, then x0.1 after epochs 150, 225 and 300 (Huang et al. 2017).
densenet_schedule = _piecewise((150, 225, 300), (0.1, 0.01, 0.001, 0.0001))


def alexnet_cifar_schedule(global_step, batch_size, context, initial=0.1):
    """Staircase exponential decay: ``0.1 * 0.1 ** (step // int(100 epochs in steps))``."""
    decay_steps = int(100 * CIFAR10_TRAIN_EXAMPLES / batch_size)
    return initial * 0.1 ** (global_step // decay_steps)
