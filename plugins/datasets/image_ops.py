"""Image preprocessing ops with the predecessor's semantics (predecessor.md §2).

Training: a sampled bounding-box crop (fused with JPEG decoding when asked),
a random left-right flip, a resize that ignores the aspect ratio, and, with
``--distortions``, colour distortions whose order depends on the image's
position in the batch. Evaluation: an aspect-preserving resize so that both
sides are at least 1.145 x the target, then a central crop. Every op works
on one HWC image inside a ``tf.data`` map function.
"""

from __future__ import annotations

import math

import tensorflow as tf

_RESIZE = {
    "nearest": tf.image.ResizeMethod.NEAREST_NEIGHBOR,
    "bilinear": tf.image.ResizeMethod.BILINEAR,
    "bicubic": tf.image.ResizeMethod.BICUBIC,
    "area": tf.image.ResizeMethod.AREA,
}
ROUND_ROBIN = ("nearest", "bilinear", "bicubic", "area")
EVAL_RESIZE_FACTOR = 1.145          # 224 -> 256 before the central crop
MLPERF_MEANS = (123.68, 116.78, 103.94)


def resize(image, height: int, width: int, method: str, position):
    """float32 [height, width, 3]. ``round_robin`` uses method ``position % 4``
    of nearest, bilinear, bicubic, area; ``crop`` crops or zero-pads centrally
    to the size, without interpolating."""
    if method == "crop":
        return tf.cast(tf.image.resize_with_crop_or_pad(image, height, width), tf.float32)
    return tf.ensure_shape(_resize(image, [height, width], method, position), [height, width, 3])


def _resize(image, size, method: str, position):
    """float32 image of ``size`` (may be a tensor) by ``method`` or round robin."""
    def by(name):
        return tf.cast(tf.image.resize(image, size, _RESIZE[name]), tf.float32)
    if method != "round_robin":
        return by(method)
    branches = [lambda name=name: by(name) for name in ROUND_ROBIN]
    return tf.switch_case(tf.cast(position % len(ROUND_ROBIN), tf.int32), branches)


def no_boxes():
    """Bounding boxes meaning 'sample from the whole image'."""
    return tf.zeros([1, 0, 4], tf.float32)


def sample_crop(image_shape, boxes):
    """(begin, size) of a random crop covering >= 10% of a box, aspect 3:4..4:3,
    5-100% of the area (the whole image when there are no boxes)."""
    begin, size, _ = tf.image.sample_distorted_bounding_box(
        image_shape, bounding_boxes=boxes, min_object_covered=0.1,
        aspect_ratio_range=[0.75, 1.33], area_range=[0.05, 1.0], max_attempts=100,
        use_image_if_no_bounding_boxes=True)
    return begin, size


def decode_and_crop_jpeg(contents, boxes, fused: bool):
    """The random training crop of a JPEG; ``fused`` decodes only the crop window."""
    begin, size = sample_crop(tf.image.extract_jpeg_shape(contents), boxes)
    if fused:
        window = tf.stack([begin[0], begin[1], size[0], size[1]])
        return tf.image.decode_and_crop_jpeg(contents, window, channels=3)
    image = tf.io.decode_jpeg(contents, channels=3, dct_method="INTEGER_FAST")
    return tf.slice(image, begin, size)


def crop_decoded(image, boxes):
    """The random training crop of an already decoded image (PNG, or JPEG unfused)."""
    begin, size = sample_crop(tf.shape(image), boxes)
    return tf.slice(image, begin, size)


def augment(image, height: int, width: int, position, options):
    """Flip, resize and (with distortions) colour-distort a training crop; float32 0..255."""
    image = tf.image.random_flip_left_right(image)
    image = resize(image, height, width, options.resize_method, position)
    if options.distortions:
        image = distort_color(image / 255.0, position, options.distort_color_in_yiq)
        image = tf.clip_by_value(image, 0.0, 1.0) * 255.0
    return image


def eval_image(image, height: int, width: int, method: str, position=0):
    """Aspect-preserving resize to >= 1.145 x the target on both sides, then a
    central crop; ``crop`` skips the resize and crops or pads centrally."""
    if method == "crop":
        return resize(image, height, width, method, position)
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    ratio = tf.maximum(height / shape[0], width / shape[1]) * EVAL_RESIZE_FACTOR
    new_height = tf.maximum(tf.cast(shape[0] * ratio, tf.int32), height)
    new_width = tf.maximum(tf.cast(shape[1] * ratio, tf.int32), width)
    resized = _resize(image, tf.stack([new_height, new_width]), method, position)
    top, left = (new_height - height) // 2, (new_width - width) // 2
    return tf.ensure_shape(tf.slice(resized, [top, left, 0], [height, width, 3]),
                           [height, width, 3])


def normalize(image, ml_perf: bool):
    """[-1, 1] (x / 127.5 - 1), or with --ml_perf the MLPerf mean subtraction."""
    if ml_perf:
        return image - tf.constant(MLPERF_MEANS, tf.float32)
    return image / 127.5 - 1.0


def distort_color(image, position, in_yiq: bool):
    """Random brightness, saturation, hue and contrast of a [0, 1] image; even
    batch positions adjust saturation/hue before contrast, odd ones after."""
    def saturation_and_hue(x):
        if in_yiq:
            return random_hsv_in_yiq(x, max_delta_hue=0.2 * math.pi, lower_saturation=0.5,
                                     upper_saturation=1.5)
        x = tf.image.random_saturation(x, lower=0.5, upper=1.5)
        return tf.image.random_hue(x, max_delta=0.2)

    def contrast(x):
        return tf.image.random_contrast(x, lower=0.5, upper=1.5)

    image = tf.image.random_brightness(image, max_delta=32.0 / 255.0)
    return tf.cond(tf.equal(position % 2, 0),
                   lambda: contrast(saturation_and_hue(image)),
                   lambda: saturation_and_hue(contrast(image)))


_RGB_TO_YIQ = ((0.299, 0.587, 0.114), (0.596, -0.274, -0.322), (0.211, -0.523, 0.312))


def random_hsv_in_yiq(image, max_delta_hue: float, lower_saturation: float,
                      upper_saturation: float):
    """Hue rotation (radians) and saturation scaling in YIQ space, the TF1
    contrib op the predecessor used, rebuilt from core ops for TF2."""
    delta_hue = tf.random.uniform([], -max_delta_hue, max_delta_hue)
    saturation = tf.random.uniform([], lower_saturation, upper_saturation)
    return adjust_hsv_in_yiq(image, delta_hue, saturation, 1.0)


def adjust_hsv_in_yiq(image, delta_hue, scale_saturation, scale_value):
    """Rotate the chroma (I, Q) by ``delta_hue`` and scale it by the saturation;
    scale every channel by the value; back to RGB."""
    to_yiq = tf.constant(_RGB_TO_YIQ, tf.float32)
    cos = tf.cos(delta_hue) * scale_saturation
    sin = tf.sin(delta_hue) * scale_saturation
    chroma = tf.stack([tf.stack([1.0, 0.0, 0.0]), tf.stack([0.0, cos, -sin]),
                       tf.stack([0.0, sin, cos])]) * scale_value
    matrix = tf.linalg.inv(to_yiq) @ chroma @ to_yiq
    return tf.tensordot(image, tf.transpose(matrix), axes=1)
