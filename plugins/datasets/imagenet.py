"""ImageNet TFRecords: parse the predecessor's Example keys and preprocess."""

from __future__ import annotations

import tensorflow as tf

from cnnb.dataset import Preprocessor
from cnnb.plugins.datasets import image_ops, pipeline

_BOX_KEYS = ("ymin", "xmin", "ymax", "xmax")
FEATURES = {
    "image/encoded": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "image/class/label": tf.io.FixedLenFeature([1], tf.int64, default_value=-1),
    "image/class/text": tf.io.FixedLenFeature([], tf.string, default_value=""),
    **{f"image/object/bbox/{key}": tf.io.VarLenFeature(tf.float32) for key in _BOX_KEYS},
}


def parse_example(record, path):
    """(JPEG bytes, int label, boxes [1, n, 4] as ymin, xmin, ymax, xmax)."""
    is_example = tf.strings.substr(record, 0, 1) == b"\n"    # field 1 (features), length-delimited
    with tf.control_dependencies([pipeline.check(
            is_example, path, ": a record is not a tf.train.Example")]):
        record = tf.identity(record)
    parsed = tf.io.parse_single_example(record, FEATURES)
    corners = [tf.sparse.to_dense(parsed[f"image/object/bbox/{key}"]) for key in _BOX_KEYS]
    boxes = tf.expand_dims(tf.stack(corners, axis=1), 0)
    return parsed["image/encoded"], parsed["image/class/label"][0], boxes


class ImagenetPreprocessor(Preprocessor):
    """Sampled-box crop fused with JPEG decoding, flip, resize, colour distortions
    with --distortions; evaluation resizes keeping the aspect ratio and crops the centre."""

    def make_dataset(self, files, batch_size: int, training: bool):
        records = pipeline.interleave_files(files.paths, tf.data.TFRecordDataset, training,
                                            self.options)

        def parse(element, position):
            record, path = element
            contents, label, boxes = parse_example(record, path)
            label = pipeline.checked_label(label, self.dataset.num_classes, path,
                                           self.dataset.name)
            contents = pipeline.checked_image_bytes(contents, path, "image/encoded",
                                                    allow_png=False)
            return (contents, boxes, position, path), label

        def decode(contents, boxes, position, path):
            return self.preprocess(contents, boxes, position, training)

        return pipeline.batches(records, parse, batch_size, training, self.options,
                                decode=decode, decoded_what="the image/encoded JPEG of a record")

    def preprocess(self, contents, boxes, position, training: bool):
        """One JPEG to a normalized float32 [S, S, 3] image."""
        size, options = self.image_size, self.options
        if options.ml_perf:
            boxes = image_ops.no_boxes()
        if training:
            crop = image_ops.decode_and_crop_jpeg(contents, boxes, options.fuse_decode_and_crop)
            image = image_ops.augment(crop, size, size, position, options)
        else:
            image = image_ops.eval_image(tf.io.decode_jpeg(contents, channels=3), size, size,
                                         options.resize_method, position)
        return image_ops.normalize(image, options.ml_perf)
