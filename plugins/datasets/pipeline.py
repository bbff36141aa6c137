"""The tf.data pipeline shared by the built-in preprocessors, and the input
checks that name the bad file.

Shape of the pipeline (the predecessor's, in TF2 terms): files, shuffled when
training -> parallel interleave of readers -> [cache] -> shuffle (training) ->
repeat -> zip with the position in the batch -> parallel map (parse and
preprocess) -> batch -> prefetch. The repeat comes after the readers, so
empty files end the dataset (an error) instead of spinning forever.
"""

from __future__ import annotations

import tensorflow as tf

from cnnb.dataset import DATA_ERROR_END, DATA_ERROR_MARKER

AUTOTUNE = tf.data.AUTOTUNE
SHUFFLE_BUFFER = 10000
DEFAULT_CYCLE_LENGTH = 10


def interleave_files(paths, read_file, training: bool, options):
    """(record, path) pairs from every file, read ``cycle_length`` files at a time."""
    files = tf.data.Dataset.from_tensor_slices(list(paths))
    if training:
        files = files.shuffle(len(paths), seed=options.seed, reshuffle_each_iteration=True)

    def records_of(path):
        return read_file(path).map(lambda record: (record, path))

    return files.interleave(
        records_of, cycle_length=options.interleave_cycle_length or DEFAULT_CYCLE_LENGTH,
        num_parallel_calls=AUTOTUNE,
        deterministic=not (training and options.sloppy_interleave))


def batches(elements, parse, batch_size: int, training: bool, options,
            shuffle_buffer: int = SHUFFLE_BUFFER):
    """Repeat, parse and batch ``elements``; ``parse(element, position)`` returns
    (image, label) for one example at ``position`` in its batch. Training
    shuffles ``shuffle_buffer`` elements (0: the caller already shuffled)."""
    if options.repeat_cached_sample:
        elements = elements.take(1).cache().repeat()
    elif options.use_caching:
        elements = elements.cache()
    if training and shuffle_buffer:
        elements = elements.shuffle(shuffle_buffer, seed=options.seed)
    elements = elements.repeat()
    positions = tf.data.Dataset.range(batch_size).repeat()
    pairs = tf.data.Dataset.zip((elements, positions))
    examples = pairs.map(parse, num_parallel_calls=AUTOTUNE, deterministic=not training)
    batched = examples.batch(batch_size, drop_remainder=True).prefetch(AUTOTUNE)
    return with_threads(batched, options.private_threads)


def with_threads(dataset, private_threads: int | None):
    if not private_threads:
        return dataset
    settings = tf.data.Options()
    settings.threading.private_threadpool_size = private_threads
    return dataset.with_options(settings)


def check(condition, *message):
    """An Assert that fails with ``message`` (strings and tensors joined) wrapped
    in the data-error markers, so the engine can report it as one line."""
    parts = [DATA_ERROR_MARKER, *[_text(part) for part in message], DATA_ERROR_END]
    return tf.debugging.Assert(condition, [tf.strings.join(parts)], summarize=1)


def _text(part):
    if isinstance(part, str):
        return part
    if part.dtype == tf.string:
        return part
    return tf.strings.as_string(part)


def checked_label(label, num_classes: int, path, dataset: str):
    """``label`` as int32, after checking it is a class of the dataset."""
    ok = tf.logical_and(label >= 0, label < num_classes)
    with tf.control_dependencies([check(ok, path, ": label ", label, " is out of range "
                                        f"[0, {num_classes}) of dataset {dataset}")]):
        return tf.identity(tf.cast(label, tf.int32))


def checked_image_bytes(contents, path, what: str, allow_png: bool):
    """``contents`` after checking they start like a JPEG (or PNG) file."""
    is_image = tf.io.is_jpeg(contents)
    if allow_png:
        is_image = tf.logical_or(is_image, tf.strings.substr(contents, 0, 4) == b"\x89PNG")
    kinds = "JPEG or PNG" if allow_png else "JPEG"
    with tf.control_dependencies([check(is_image, path, f": {what} is not a {kinds} image")]):
        return tf.identity(contents)
