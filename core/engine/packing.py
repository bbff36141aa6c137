"""Gradient packing for the all-reduce: fewer, larger tensors.

Two ways, both the predecessor's:

* ``--agg_small_grads_max_bytes`` / ``--agg_small_grads_max_group``: runs of
  consecutive small float32 gradients are flattened and concatenated into one
  tensor each; the packs go to the *front* of every device's list, the other
  gradients follow in their order. :func:`unpack_small_tensors` undoes it.
* ``--gradient_repacking=N``: all of a device's gradients are flattened into
  one vector and split into N packs (``size // N`` each, the last takes the
  rest); :func:`unpack_repacked` undoes it.

Packing is planned from the first device's tensors (every device holds the
same shapes) and described by small metadata shared by all devices. The
helpers at the end (flatten, pad, split) are shared by the algorithms.
"""

from __future__ import annotations

import dataclasses
import math

import tensorflow as tf

from cnnb.allreduce_spec import small_tensor_ranges


@dataclasses.dataclass(frozen=True)
class SmallPacking:
    """Which runs ``[first, last]`` of the original list became packs, their
    shapes, and the original list length."""

    ranges: tuple
    shapes: tuple      # per range: the shapes of its tensors
    length: int


def num_elements(tensor) -> int:
    return math.prod(tensor.shape.as_list())


def pack_small_tensors(device_tensors, max_bytes: int, max_group: int):
    """(packed device_tensors, SmallPacking or None when nothing was packed)."""
    first = device_tensors[0]
    ranges = small_tensor_ranges([num_elements(t) for t in first],
                                 [t.dtype == tf.float32 for t in first], max_bytes, max_group)
    if not ranges:
        return device_tensors, None
    packed_indices = {i for low, high in ranges for i in range(low, high + 1)}
    packing = SmallPacking(tuple(tuple(r) for r in ranges),
                           tuple(tuple(tuple(first[i].shape.as_list())
                                       for i in range(low, high + 1)) for low, high in ranges),
                           len(first))
    result = []
    for tensors in device_tensors:
        with tf.device(tensors[0].device):
            packs = [tf.concat([tf.reshape(tensors[i], [-1]) for i in range(low, high + 1)], 0)
                     for low, high in ranges]
        result.append(packs + [t for i, t in enumerate(tensors) if i not in packed_indices])
    return result, packing


def unpack_small_tensors(device_tensors, packing: SmallPacking | None):
    """The original order and shapes back from :func:`pack_small_tensors`' layout."""
    if packing is None:
        return device_tensors
    count = len(packing.ranges)
    packed = {i for low, high in packing.ranges for i in range(low, high + 1)}
    result = []
    for tensors in device_tensors:
        out = [None] * packing.length
        rest = iter(tensors[count:])
        for index in range(packing.length):
            if index not in packed:
                out[index] = next(rest)
        with tf.device(tensors[0].device):
            for pack, (low, _), shapes in zip(tensors[:count], packing.ranges, packing.shapes):
                pieces = tf.split(pack, [math.prod(s) for s in shapes])
                for offset, (piece, shape) in enumerate(zip(pieces, shapes)):
                    out[low + offset] = tf.reshape(piece, shape)
        result.append(out)
    return result


@dataclasses.dataclass(frozen=True)
class Repacking:
    """The shapes of the original gradients and the sizes of the packs."""

    shapes: tuple
    pack_sizes: tuple


def repack(device_tensors, num_packs: int):
    """(packs per device, Repacking): each device's gradients as ``num_packs``
    slices of their concatenation (fewer when there are fewer elements)."""
    shapes = tuple(tuple(t.shape.as_list()) for t in device_tensors[0])
    total = sum(math.prod(s) for s in shapes)
    count = max(1, min(num_packs, total))
    size = total // count
    sizes = tuple([size] * (count - 1) + [total - size * (count - 1)])
    packs = []
    for tensors in device_tensors:
        with tf.device(tensors[0].device):
            flat = tf.concat([tf.reshape(t, [-1]) for t in tensors], 0)
            packs.append(tf.split(flat, sizes) if count > 1 else [flat])
    return packs, Repacking(shapes, sizes)


def unpack_repacked(device_packs, layout: Repacking):
    result = []
    for packs in device_packs:
        with tf.device(packs[0].device):
            flat = tf.concat(packs, 0) if len(packs) > 1 else packs[0]
            pieces = tf.split(flat, [math.prod(s) for s in layout.shapes])
            result.append([tf.reshape(p, s) for p, s in zip(pieces, layout.shapes)])
    return result


# -- helpers shared by algorithms -----------------------------------------------------------

def flatten_padded(tensor, multiple: int):
    """(1-D tensor padded with zeros to a multiple of ``multiple``, true size)."""
    flat = tf.reshape(tensor, [-1])
    size = num_elements(tensor)
    padding = (-size) % multiple
    if padding:
        flat = tf.concat([flat, tf.zeros([padding], flat.dtype)], 0)
    return flat, size


def restore_shape(flat, size: int, shape):
    """Drop the padding of :func:`flatten_padded` and reshape."""
    return tf.reshape(flat[:size], shape)


def ragged_split_sizes(size: int, parts: int) -> list[int]:
    """Sizes of ``parts`` nearly equal pieces of ``size`` elements (first ones larger)."""
    base, extra = divmod(size, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]
