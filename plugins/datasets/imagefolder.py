"""A folder of JPEG/PNG images per class, with the ImageNet preprocessing."""

from __future__ import annotations

import tensorflow as tf

from cnnb.dataset import Preprocessor
from cnnb.plugins.datasets import image_ops, pipeline


class ImageFolderPreprocessor(Preprocessor):
    """The ImageNet preprocessing on JPEG or PNG files (JPEG crops decoded fused)."""

    def make_dataset(self, files, batch_size: int, training: bool):
        elements = tf.data.Dataset.from_tensor_slices((list(files.paths), list(files.labels)))
        # The paths are cheap to shuffle completely, so shuffle them, not the images.
        if training:
            elements = elements.shuffle(len(files.paths), seed=self.options.seed,
                                        reshuffle_each_iteration=True)

        def parse(element, position):
            path, label = element
            contents = pipeline.checked_image_bytes(tf.io.read_file(path), path, "the file",
                                                    allow_png=True)
            return (contents, position, path), tf.cast(label, tf.int32)

        def decode(contents, position, path):
            return self.preprocess(contents, position, training)

        return pipeline.batches(elements, parse, batch_size, training, self.options,
                                shuffle_buffer=0, decode=decode)

    def preprocess(self, contents, position, training: bool):
        size, options = self.image_size, self.options
        if not training:
            image = tf.io.decode_image(contents, channels=3, expand_animations=False)
            image = image_ops.eval_image(image, size, size, options.resize_method, position)
        else:
            crop = tf.cond(tf.io.is_jpeg(contents),
                           lambda: self._jpeg_crop(contents),
                           lambda: image_ops.crop_decoded(_decode(contents), image_ops.no_boxes()))
            image = image_ops.augment(crop, size, size, position, options)
        return image_ops.normalize(image, options.ml_perf)

    def _jpeg_crop(self, contents):
        return image_ops.decode_and_crop_jpeg(contents, image_ops.no_boxes(),
                                              self.options.fuse_decode_and_crop)


def _decode(contents):
    return tf.ensure_shape(tf.io.decode_image(contents, channels=3, expand_animations=False),
                           [None, None, 3])
