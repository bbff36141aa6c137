"""TensorBoard summaries (``--summary_verbosity``, ``--save_summaries_steps``).

Written, as by the predecessor, only when the verbosity is above 0, a
directory is given and the period is above 0. Level 1: learning rate, loss
and accuracies; level 2 adds histograms of the trainable variables; level 3
adds every variable (batch-norm statistics too) and the optimizer slots.
Evaluation results go in as ``eval/Accuracy@1`` and ``eval/Accuracy@5``.
"""

from __future__ import annotations

import importlib.util

import tensorflow as tf

from cnnb.engine.variables import named_variables
from cnnb.errors import ConfigError


def require_tensorboard() -> None:
    """tf.summary's ops live in the tensorboard package, which TF 2.21 does not pull in."""
    if importlib.util.find_spec("tensorboard") is None:
        raise ConfigError("--summary_verbosity needs the 'tensorboard' package: "
                          "pip install tensorboard (or leave --summary_verbosity at 0).")


class Summaries:
    """One event-file writer; ``after_step`` writes every ``every`` global steps."""

    def __init__(self, directory: str, verbosity: int, every: int, manager=None,
                 loss_name: str = "total_loss"):
        require_tensorboard()
        self.writer = tf.summary.create_file_writer(directory)
        self.verbosity, self.every = verbosity, every
        self.manager, self.loss_name = manager, loss_name

    @classmethod
    def for_training(cls, settings, loss_name: str, manager) -> Summaries | None:
        """Training's writer (``settings``: :class:`cnnb.settings.SummarySettings`),
        or None when summaries are off."""
        if not settings.for_training:
            return None
        return cls(settings.train_dir, settings.verbosity, settings.every_steps, manager,
                   loss_name)

    def after_step(self, global_step: int, values: dict) -> None:
        """``values``: learning_rate, loss and (if computed) top_1, top_5 and
        loss_scale as floats."""
        if global_step % self.every:
            return
        with self.writer.as_default(step=global_step):
            tf.summary.scalar("learning_rate", values["learning_rate"])
            tf.summary.scalar(self.loss_name, values["loss"])
            for key in ("top_1", "top_5"):
                if values.get(key) is not None:
                    tf.summary.scalar(f"train_{key}_accuracy", values[key])
            if values.get("loss_scale") is not None:
                tf.summary.scalar("loss_scale", values["loss_scale"])
            if self.verbosity >= 2 and self.manager is not None:
                self._histograms()
        self.writer.flush()

    def _histograms(self) -> None:
        tower = self.manager.towers[0]
        variables = named_variables(tower)
        if self.verbosity < 3:
            trainable = {id(v) for v in tower.trainable_variables}
            variables = {k: v for k, v in variables.items() if id(v) in trainable}
        for name, variable in variables.items():
            tf.summary.histogram(name, variable)
        if self.verbosity >= 3 and self.manager.optimizers:
            for index, slot in enumerate(getattr(self.manager.optimizers[0], "slots", [])):
                tf.summary.histogram(f"optimizer_slot_{index}", slot)

    def evaluation(self, global_step: int, top_1: float, top_5: float) -> None:
        with self.writer.as_default(step=global_step):
            tf.summary.scalar("eval/Accuracy@1", top_1)
            tf.summary.scalar("eval/Accuracy@5", top_5)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
