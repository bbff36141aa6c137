"""The tf.data pipeline shared by the built-in preprocessors, and the input
checks that name the bad file.

Shape of the pipeline (the predecessor's, in TF2 terms): files, shuffled when
training -> parallel interleave of readers -> [cache] -> shuffle (training) ->
repeat -> zip with the position in the batch -> parallel map (parse and
preprocess) -> batch -> prefetch. The repeat comes after the readers, so
empty files end the dataset (an error) instead of spinning forever.
"""

from __future__ import annotations

import warnings

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
            shuffle_buffer: int = SHUFFLE_BUFFER, decode=None, decoded_what: str = "the image"):
    """Repeat, parse and batch ``elements``; ``parse(element, position)`` returns
    (image, label) for one example at ``position`` in its batch. Training
    shuffles ``shuffle_buffer`` elements (0: the caller already shuffled).

    With ``decode``, ``parse`` returns ``((fields..., path), label)`` after its
    checks and ``decode(fields...)`` the image: a decoder failing on corrupt
    bytes behind a valid header is then reported naming ``path`` and
    ``decoded_what`` (:func:`naming_failures`)."""
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
    if decode is not None:
        examples = naming_failures(examples, decode, decoded_what, deterministic=not training)
    batched = examples.batch(batch_size, drop_remainder=True).prefetch(AUTOTUNE)
    return with_threads(batched, options.private_threads)


def naming_failures(examples, decode, what: str, deterministic: bool):
    """``(decode(*fields), label)`` of each ``(fields, label)``; an example whose
    decoding fails becomes a data error naming its file (the last field).

    A tf.data map cannot catch an op's error, and TensorFlow's message names
    no input. So each example is decoded in a one-element dataset whose errors
    are dropped, followed by a fallback that fails a check naming the file;
    ``take(1)`` only reaches the fallback when decoding produced nothing. The
    cost, one small dataset per image, did not show against JPEG decoding
    (cnnb's ImageNet training pipeline, 1,000 fake images, within run-to-run noise).
    """
    def decoded(fields, label):
        return decode(*fields), label

    def guarded(fields, label):
        tried = tf.data.Dataset.from_tensors((fields, label)).map(decoded).ignore_errors()

        def fail(path):
            with tf.control_dependencies([check(False, path, f": {what} cannot be decoded "
                                                "(corrupt or truncated image data)")]):
                return tf.nest.map_structure(lambda spec: tf.zeros(
                    [d if d is not None else 0 for d in spec.shape], spec.dtype),
                    tried.element_spec)

        failed = tf.data.Dataset.from_tensors(fields[-1]).map(fail)
        return tried.concatenate(failed).take(1)

    with warnings.catch_warnings():
        # Tracing the inner map warns that the global --tf_random_seed "might be
        # getting used" by it: harmless (each image still gets its own random
        # crop and flip, as in a flat map), but it printed on every run.
        warnings.filterwarnings("ignore", message="Seed .* from outer graph", category=UserWarning)
        return examples.interleave(guarded, num_parallel_calls=AUTOTUNE,
                                   deterministic=deterministic)


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
