"""Checkpoints: ``--train_dir/model.ckpt-<global step>`` with tf.train.Checkpoint.

One copy of each variable is saved: tower 0's variables (model weights and
batch-norm statistics), tower 0's optimizer slots, and the global step. After
a restore, the other towers get tower 0's values. TensorFlow writes the data
and index files before it atomically rewrites the ``checkpoint`` state file,
so the latest checkpoint a reader finds is normally complete; the run's signal
handling (:mod:`cnnb.engine.interrupts`) lets a save in progress finish.

Files still get damaged (a full disk, a copy cut short, a deleted file), so a
run never trusts the state file alone: it resumes from the newest checkpoint
whose every tensor reads back, says on stderr which ones it skipped, and
rewrites the state file so that ``tf.train.CheckpointManager`` (which deletes
only what that file lists) keeps rotating the good checkpoints already there
instead of forgetting or overwriting them. Damaged checkpoints are left alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import sys

import tensorflow as tf

from cnnb.engine.variables import named_variables
from cnnb.errors import CnnbError, ConfigError

CHECKPOINT_NAME = "model.ckpt"
STATE_FILE = "checkpoint"
_NAMED_CHECKPOINT = re.compile(r"ckpt-\d+$")
_OUR_INDEX = re.compile(re.escape(CHECKPOINT_NAME) + r"-\d+\.index$")


class CheckpointError(CnnbError):
    """A checkpoint that cannot be read, or cannot be written (disk full, no permission)."""


def warn(text: str) -> None:
    """One ``warning:`` line on stderr, where it does not disturb parsers of stdout."""
    print(f"warning: {text}", file=sys.stderr, flush=True)


def checkpoint_step(path: str) -> int:
    """The number after the last '-' of a checkpoint path, 0 if it is not a number."""
    tail = path.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def unreadable_reason(path: str) -> str | None:
    """None if every tensor of checkpoint ``path`` reads back, else why not.

    Reading everything (not just the index) is what catches a truncated or
    corrupted data file before a restore half-loads it.
    """
    if not tf.io.gfile.exists(path + ".index"):
        return f"{path}.index is missing"
    try:
        reader = tf.train.load_checkpoint(path)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as error:   # noqa: BLE001 - TF reports damage as OpError, IndexError, ...
        return _first_line(error)
    return None


@dataclasses.dataclass
class Search:
    """What looking for the newest readable checkpoint of --train_dir found."""

    path: str | None                       # newest readable checkpoint; None: none there
    skipped: list = dataclasses.field(default_factory=list)   # [(path, why)], newest first
    listed: list = dataclasses.field(default_factory=list)    # the state file's, oldest first
    state: str = "ok"                      # the state file: "ok", "missing" or "garbled"
    state_latest: str | None = None        # the checkpoint the state file calls the latest

    @property
    def needs_new_state(self) -> bool:
        """True when the state file does not name what the run resumed from."""
        return self.state != "ok" or self.path != self.state_latest

    def warning(self, train_dir: str) -> str | None:
        """One line on what was skipped, or None when the latest checkpoint was used."""
        if not self.skipped and self.state == "ok":
            return None
        if not self.skipped and self.state == "missing" and self.path is None:
            return None                    # a new --train_dir
        problems = [f"{path} is unreadable ({why})" for path, why in self.skipped[:2]]
        if len(self.skipped) > 2:
            problems.append(f"{len(self.skipped) - 2} more are unreadable")
        if self.state != "ok":
            problems.append(f"the state file {os.path.join(train_dir, STATE_FILE)} is "
                            f"{self.state}")
        using = (f"using {self.path}, the newest readable checkpoint" if self.path
                 else "no checkpoint is there")
        kept = " Damaged files are left in place." if self.skipped else ""
        return f"{'; '.join(problems)}; {using}.{kept}"


def find_checkpoint(train_dir: str) -> Search:
    """The newest readable checkpoint: ``train_dir`` itself if it names one
    (``.../model.ckpt-189``), else the highest step in the directory among the
    checkpoints its state file lists and the ``model.ckpt-N`` files there.

    Raises CheckpointError when checkpoints exist but none can be read: starting
    over from step 0 would silently throw away the user's training.
    """
    if _NAMED_CHECKPOINT.search(train_dir) and not tf.io.gfile.isdir(train_dir):
        why = unreadable_reason(train_dir)
        if why is not None and tf.io.gfile.exists(train_dir + ".index"):
            raise CheckpointError(f"checkpoint {train_dir} cannot be read: {why}. Point "
                                  "--train_dir at another checkpoint or at its directory.")
        return Search(None if why else train_dir, state_latest=None if why else train_dir)
    if not tf.io.gfile.isdir(train_dir):
        return Search(None, state="missing")
    search = _read_state(train_dir)
    for path in _candidates(train_dir, search.listed):
        why = unreadable_reason(path)
        if why is None:
            search.path = path
            return search
        search.skipped.append((path, why))
    if search.skipped:
        names = ", ".join(os.path.basename(path) for path, _ in search.skipped)
        raise CheckpointError(
            f"no readable checkpoint in --train_dir={train_dir}: {names} "
            f"({search.skipped[0][1]}). Move the damaged model.ckpt-* files away to start "
            "from step 0, or use another --train_dir.")
    return search


def _read_state(train_dir: str) -> Search:
    """The state file's checkpoints, quietly: TensorFlow logs (or raises) on a bad one."""
    if not tf.io.gfile.exists(os.path.join(train_dir, STATE_FILE)):
        return Search(None, state="missing")
    try:
        with _tensorflow_logging_quiet():
            state = tf.train.get_checkpoint_state(train_dir)
    except (ValueError, UnicodeDecodeError, tf.errors.OpError):
        state = None
    if state is None:
        return Search(None, state="garbled")
    listed = list(state.all_model_checkpoint_paths) or [state.model_checkpoint_path]
    return Search(None, listed=listed, state_latest=state.model_checkpoint_path)


def _candidates(train_dir: str, listed: list[str]) -> list[str]:
    """Listed and ``model.ckpt-N`` checkpoints, highest step (then listed) first."""
    found = [os.path.join(train_dir, name[:-len(".index")])
             for name in tf.io.gfile.listdir(train_dir) if _OUR_INDEX.match(name)]
    unique = list(dict.fromkeys([*reversed(listed), *found]))
    return sorted(unique, key=checkpoint_step, reverse=True)


@contextlib.contextmanager
def _tensorflow_logging_quiet():
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def write_state(train_dir: str, search: Search) -> None:
    """Make the state file name ``search.path`` as the latest, after the older
    checkpoints (those listed, or all found when the state file was lost), so
    the next CheckpointManager rotates them; a garbled state file naming
    nothing readable is removed. Damaged checkpoints are not listed, so nothing
    ever deletes them on cnnb's behalf."""
    state_path = os.path.join(train_dir, STATE_FILE)
    if search.path is None:
        if search.state == "garbled":
            tf.io.gfile.remove(state_path)
        return
    step = checkpoint_step(search.path)
    pool = search.listed if search.state == "ok" else _candidates(train_dir, [])
    skipped = {path for path, _ in search.skipped}
    older = sorted({p for p in pool if checkpoint_step(p) < step and p not in skipped},
                   key=checkpoint_step)
    paths = [os.path.relpath(p, train_dir) for p in [*older, search.path]]
    times = [_modified(os.path.join(train_dir, p)) for p in paths]
    # An absolute save_dir: a relative one makes TF rebase the (relative) paths.
    state = tf.compat.v1.train.generate_checkpoint_state_proto(
        os.sep, paths[-1], paths, times, min(times) - 1.0)
    _write_atomically(state_path, str(state))


def _modified(path: str) -> float:
    try:
        return tf.io.gfile.stat(path + ".index").mtime_nsec / 1e9
    except tf.errors.OpError:
        return 0.0


def _write_atomically(path: str, text: str) -> None:
    temporary = f"{path}.tmp-cnnb"
    try:
        with tf.io.gfile.GFile(temporary, "w") as stream:
            stream.write(text)
        tf.io.gfile.rename(temporary, path, overwrite=True)
    except (OSError, tf.errors.OpError) as error:
        _remove_quietly(temporary)
        raise CheckpointError(f"cannot write {path}: {write_problem(error)}. Free space or "
                              "choose another --train_dir.") from error


# Words of the OS (through Python or TensorFlow) -> what the user has to fix.
_WRITE_PROBLEMS = (("no space left", "disk full"), ("file too large", "disk full"),
                   ("quota exceeded", "disk full"), ("permission denied", "no permission"),
                   ("read-only file system", "read-only file system"))


def write_problem(error: BaseException) -> str:
    """``disk full (No space left on device ...)``: the cause a user acts on, then the
    system's words. TensorFlow's errors carry no errno, so their text is matched."""
    detail = _first_line(error)
    for words, problem in _WRITE_PROBLEMS:
        if words in detail.lower():     # "<a temporary file>; File too large": the words
            return f"{problem} ({detail.rsplit('; ', 1)[-1]})"
    return detail


class Checkpoints:
    """Saves and restores one run's state; ``train_dir`` None means restore only."""

    def __init__(self, manager, train_dir: str | None, max_to_keep: int = 5,
                 with_optimizer: bool = True, extra: dict | None = None):
        """``extra``: more training state by name (the automatic loss scale), saved
        with the optimizer's and restored if the checkpoint has it."""
        self.manager, self.train_dir, self.max_to_keep = manager, train_dir, max_to_keep
        with tf.device("/cpu:0"):
            self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        model, slots = savable_variables(manager, with_optimizer)
        slots.update(extra or {})
        self.model = tf.train.Checkpoint(global_step=self.global_step, model=model)
        self.optimizer = tf.train.Checkpoint(optimizer=slots) if slots else None
        everything = {"global_step": self.global_step, "model": self.model.model}
        if self.optimizer is not None:
            everything["optimizer"] = self.optimizer.optimizer
        self.everything = tf.train.Checkpoint(**everything)
        self._keeper = None
        self._state_repaired = False
        self.last_saved_step: int | None = None

    @property
    def keeper(self):
        """The CheckpointManager of --train_dir (None: restore only), opened on first
        use: it reads the state file once, so that file is repaired first."""
        if self._keeper is None and self.train_dir:
            if not self._state_repaired:
                self._repair_state(find_checkpoint(self.train_dir))
            self._keeper = tf.train.CheckpointManager(
                self.everything, self.train_dir, self.max_to_keep,
                checkpoint_name=CHECKPOINT_NAME)
        return self._keeper

    def _repair_state(self, search: Search) -> None:
        if search.needs_new_state:
            write_state(self.train_dir, search)
        self._state_repaired = True

    def resume(self, train_dir: str) -> tuple[str | None, int]:
        """Restore the newest readable checkpoint of ``train_dir``: (its path, its
        global step), (None, 0) if there is none. Warns on stderr if that is not
        the latest one, and makes the saver know the checkpoints already there."""
        search = find_checkpoint(train_dir)
        message = search.warning(train_dir)
        if message:
            warn(message)
        step = self.restore(search.path) if search.path else 0
        if train_dir == self.train_dir and not self._state_repaired:
            self._repair_state(search)
        return search.path, step

    def save(self, global_step: int) -> str | None:
        """Write ``model.ckpt-<global_step>`` (once per step) and drop the oldest.

        A failed write (disk full, no permission) leaves no partial files behind
        and becomes one CheckpointError line."""
        if self.keeper is None or global_step == self.last_saved_step:
            return None
        self.global_step.assign(global_step)
        prefix = os.path.join(self.train_dir, f"{CHECKPOINT_NAME}-{global_step}")
        try:
            path = self.keeper.save(checkpoint_number=global_step)
        except (OSError, tf.errors.OpError) as error:
            _remove_partial_save(prefix)
            raise CheckpointError(
                f"cannot save checkpoint to {self.train_dir}: {write_problem(error)}. Free "
                "space or choose another --train_dir; the checkpoints already there are "
                "kept.") from error
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


def _remove_partial_save(prefix: str) -> None:
    """What a failed save of ``prefix`` left: its ``_temp`` shards, the state
    file's temporary copies, and its own files unless they read back whole."""
    directory = os.path.dirname(prefix)
    for leftover in tf.io.gfile.glob(prefix + "_temp*"):
        _remove_quietly(leftover)
    for leftover in tf.io.gfile.glob(os.path.join(directory, STATE_FILE + ".tmp*")):
        _remove_quietly(leftover)
    if unreadable_reason(prefix) is not None:
        for leftover in tf.io.gfile.glob(prefix + ".index") + tf.io.gfile.glob(prefix + ".data-*"):
            _remove_quietly(leftover)


def _remove_quietly(path: str) -> None:
    try:
        if tf.io.gfile.isdir(path):
            tf.io.gfile.rmtree(path)
        elif tf.io.gfile.exists(path):
            tf.io.gfile.remove(path)
    except tf.errors.OpError:
        pass        # best effort: the error being reported matters more


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


# TensorFlow wraps an eager op's error in "{{function_node ...}} " and " [Op:SaveV2]".
_OP_WRAPPING = re.compile(r"\{\{function_node [^}]*\}\}\s*|\s*\[Op:\w+\]$")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    line = _OP_WRAPPING.sub("", text.splitlines()[0]) if text else ""
    return line[:300] or type(error).__name__
