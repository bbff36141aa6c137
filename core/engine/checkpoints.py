"""Checkpoints: ``--train_dir/model.ckpt-<global step>`` with tf.train.Checkpoint.

One copy of each variable is saved: tower 0's variables (model weights and
batch-norm statistics), tower 0's optimizer slots, and the global step. After
a restore, the other towers get tower 0's values. TensorFlow writes the data
and index files before it atomically rewrites the ``checkpoint`` state file,
so the latest checkpoint a reader finds is always complete; the run's signal
handling (:mod:`cnnb.engine.interrupts`) lets a save in progress finish.
"""

from __future__ import annotations

import re

import tensorflow as tf

from cnnb.engine.variables import named_variables
from cnnb.errors import ConfigError

CHECKPOINT_NAME = "model.ckpt"
_NAMED_CHECKPOINT = re.compile(r"ckpt-\d+$")


def checkpoint_step(path: str) -> int:
    """The number after the last '-' of a checkpoint path, 0 if it is not a number."""
    tail = path.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def find_checkpoint(train_dir: str) -> str | None:
    """``train_dir`` itself if it names a checkpoint (``.../model.ckpt-189``),
    else the latest checkpoint in the directory, else None."""
    if _NAMED_CHECKPOINT.search(train_dir):
        return train_dir if tf.io.gfile.exists(train_dir + ".index") else None
    if not tf.io.gfile.isdir(train_dir):
        return None
    return tf.train.latest_checkpoint(train_dir)


class Checkpoints:
    """Saves and restores one run's state; ``train_dir`` None means restore only."""

    def __init__(self, manager, train_dir: str | None, max_to_keep: int = 5,
                 with_optimizer: bool = True):
        self.manager = manager
        with tf.device("/cpu:0"):
            self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        model, slots = savable_variables(manager, with_optimizer)
        self.model = tf.train.Checkpoint(global_step=self.global_step, model=model)
        self.optimizer = tf.train.Checkpoint(optimizer=slots) if slots else None
        everything = {"global_step": self.global_step, "model": self.model.model}
        if self.optimizer is not None:
            everything["optimizer"] = self.optimizer.optimizer
        self.keeper = None
        if train_dir:
            self.keeper = tf.train.CheckpointManager(
                tf.train.Checkpoint(**everything), train_dir, max_to_keep,
                checkpoint_name=CHECKPOINT_NAME)
        self.last_saved_step: int | None = None

    def save(self, global_step: int) -> str | None:
        """Write ``model.ckpt-<global_step>`` (once per step) and drop the oldest."""
        if self.keeper is None or global_step == self.last_saved_step:
            return None
        self.global_step.assign(global_step)
        path = self.keeper.save(checkpoint_number=global_step)
        self.last_saved_step = global_step
        return path

    def restore(self, path: str) -> int:
        """Load ``path`` into every tower; returns its global step."""
        try:
            status = self.model.restore(path)
            status.expect_partial()
            status.assert_existing_objects_matched()
            if self.optimizer is not None:
                self.optimizer.restore(path).expect_partial()
        except (AssertionError, ValueError, tf.errors.OpError) as error:
            raise ConfigError(f"checkpoint {path} does not fit this model: "
                              f"{_first_line(error)}. Use the model, dataset and optimizer it "
                              "was trained with, or another --train_dir.") from None
        self.manager.sync_copies()      # the other copies start from the restored first
        step = int(self.global_step.numpy())
        self.last_saved_step = step
        return step or checkpoint_step(path)


def savable_variables(manager, with_optimizer: bool) -> tuple[dict, dict]:
    """(model variables, optimizer slots) by name, one copy of each: the
    manager's ``savable_variables()`` when it has one, else tower 0's."""
    model = named_variables(manager.towers[0])
    if hasattr(manager, "savable_variables"):
        everything = manager.savable_variables()
        model = {name: v for name, v in everything.items() if name in model}
        slots = {name: v for name, v in everything.items() if name not in model}
    else:
        slots = {f"slot{i}": slot for i, slot in enumerate(_slots(manager.optimizers[:1]))}
    return model, (slots if with_optimizer else {})


def _slots(optimizers) -> list:
    return [slot for optimizer in optimizers for slot in getattr(optimizer, "slots", [])]


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__
