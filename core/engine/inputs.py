"""Where the step's batches come from, and turning bad input into one line.

``make_inputs`` returns ``inputs(index) -> (images, labels)``, called inside
the step's ``tf.function`` for tower ``index``: synthetic tensors kept on the
device, or the next per-device batch of the chosen preprocessor's ``tf.data``
pipeline (one host pipeline; each tower takes its own batch from it, and a
single GPU gets the batches prefetched onto it).

A bad record only shows up when the step pulls it, as a TensorFlow error
deep inside the step. :func:`reading_data` turns those into a
:class:`~cnnb.dataset.DataError` with one line that names the file.
"""

from __future__ import annotations

import contextlib
import re

import tensorflow as tf

from cnnb.dataset import DATA_ERROR_END, DATA_ERROR_MARKER, DataError
from cnnb.engine.synthetic import SyntheticInputs

_CHECK_FAILED = re.compile(re.escape(DATA_ERROR_MARKER) + "(.*?)" + re.escape(DATA_ERROR_END),
                           re.DOTALL)
_PIPELINE_FAILED = re.compile(r"transformation with iterator: \S+: (.*)")
_DAMAGED_RECORD = re.compile(r"(corrupted|truncated) record at (\d+)")
_LABEL_RANGE = re.compile(r"(Received a label value of -?\d+ which is outside the valid "
                          r"range of \[\d+, \d+\))")


def make_inputs(plan, subset: str, batch_size_per_device: int, training: bool,
                num_batches: int | None = None):
    """The input source of ``subset``. With ``num_batches`` the data restarts
    after that many steps, so each evaluation pass sees the same images."""
    settings, data_format = plan.settings.inputs, plan.settings.runtime.data_format
    worker = plan.replication.worker if plan.replication else None
    workers = worker.num_workers if worker and worker.task_index >= 0 else 1
    if plan.synthetic:
        local = len(plan.devices)
        return SyntheticInputs(plan.devices, batch_size_per_device, plan.image_size,
                               plan.dataset.num_classes, data_format,
                               worker.task_index * local if workers > 1 else 0, workers * local)
    files = plan.data_files[subset]
    preprocessor = plan.preprocessor.load()(plan.dataset, plan.image_size,
                                            settings.preprocessing)
    def whole_pipeline():
        return preprocessor.make_dataset(files, batch_size_per_device, training)
    dataset = whole_pipeline()
    if workers > 1:     # each worker reads its own share of the batches
        dataset = dataset.shard(workers, worker.task_index)
    if num_batches:
        dataset = dataset.take(num_batches * len(plan.devices)).repeat()
    inputs = RealInputs(dataset, plan.devices, settings, data_format)
    inputs.make_dataset = whole_pipeline    # parameter-server workers build their own
    return inputs


class RealInputs:
    """Per-device batches from a ``tf.data`` pipeline; each call takes the next one."""

    def __init__(self, dataset, devices, settings, data_format: str):
        device = devices[0]
        if settings.prefetch_to_device and len(devices) == 1 and "gpu" in device.lower():
            dataset = dataset.apply(tf.data.experimental.prefetch_to_device(
                device, settings.device_buffer_size))
        self.iterator = iter(dataset)
        self.channels_first = data_format == "NCHW"

    def __call__(self, index: int):
        images, labels = self.iterator.get_next()
        if self.channels_first:
            images = tf.transpose(images, [0, 3, 1, 2])
        return images, labels


@contextlib.contextmanager
def reading_data(plan):
    """Turn input-pipeline failures inside the block into one-line DataErrors."""
    try:
        yield
    except tf.errors.OpError as error:
        translated = translate(error, plan)
        if translated is None:
            raise
        raise translated from None


def translate(error, plan) -> DataError | None:
    """The DataError an input failure means, or None for any other error."""
    message = str(getattr(error, "message", error))
    found = _CHECK_FAILED.search(message)
    if found:
        return DataError(" ".join(found.group(1).split()))
    where = f"--data_dir={plan.data_dir}"
    if isinstance(error, tf.errors.OutOfRangeError):
        return DataError(f"the data in {where} ran out: its files hold no examples.")
    found = _DAMAGED_RECORD.search(message)
    if found and not plan.synthetic:
        return damaged_record(plan, found.group(1), int(found.group(2)))
    found = _LABEL_RANGE.search(message)
    if found:
        return DataError(f"a label in {where} is out of range: {found.group(1)}.")
    if "IteratorGetNext" not in message or plan.synthetic:
        return None
    found = _PIPELINE_FAILED.search(message)
    detail = found.group(1) if found else _first_line(message)
    return DataError(f"could not read the data in {where}: {type(error).__name__}: "
                     f"{detail.strip()}")


def damaged_record(plan, damage: str, offset: int) -> DataError:
    """The error for a TFRecord record TensorFlow found ``damage``d (a CRC
    mismatch, or cut short) at byte ``offset`` of some file it does not name.

    Only on this error path: the files with a record whose header (or data,
    12 bytes on, which TensorFlow reports for a data CRC mismatch) starts at
    that offset are candidates (a header walk, no decoding), and TensorFlow
    re-reads just that record of each to find the one that fails.
    """
    from cnnb.plugins.datasets.counts import HEADER_BYTES, record_starts
    for files in plan.data_files.values():
        for path in files.paths:
            try:
                starts = record_starts(path)[:-1]
            except DataError:
                continue
            found = [i for i, start in enumerate(starts) if offset in (start, start + HEADER_BYTES)]
            if found and not _record_reads(path, found[0]):
                return DataError(f"{path}: record {found[0] + 1} (byte {offset}) is {damage}; "
                                 "the file is damaged, copy or regenerate it.")
    return DataError(f"a TFRecord file in --data_dir={plan.data_dir} has a {damage} record at "
                     f"byte {offset}; copy or regenerate the damaged file.")


def _record_reads(path: str, index: int) -> bool:
    try:
        for _ in tf.data.TFRecordDataset(path).skip(index).take(1):
            pass
    except tf.errors.OpError:
        return False
    return True


def _first_line(message: str) -> str:
    """The error itself, without TensorFlow's header, stack and node lines."""
    skip = ("Graph execution error", "Detected at node", "File ", "<stack", "[[")
    for line in message.splitlines():
        text = line.strip()
        if text and not line[:1].isspace() and not text.startswith(skip):
            return text
    return "no details"
