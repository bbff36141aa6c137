"""TensorFlow building blocks of the built-in all-reduce algorithms.

Each block sums one tensor across devices (``values[d]`` lives on
``devices[d]``) and returns one copy per device. Every element of the sum
is computed once, on one device, and copied to the others, so all copies
are bitwise identical: replicated variables stay equal.
"""

from __future__ import annotations

import tensorflow as tf

from cnnb.devices import parse_device_name
from cnnb.engine.packing import flatten_padded, ragged_split_sizes, restore_shape
from cnnb.errors import ConfigError


def per_tensor(device_tensors, reduce_one) -> list:
    """Run ``reduce_one(values_across_devices, tensor_index)`` for each tensor and
    return the results per device, as :meth:`AllReduceAlgorithm.reduce` must."""
    count = len(device_tensors[0])
    sums = [reduce_one([tensors[t] for tensors in device_tensors], t) for t in range(count)]
    return [[sums[t][d] for t in range(count)] for d in range(len(device_tensors))]


def broadcast(value, devices) -> list:
    """A copy of ``value`` on each device."""
    copies = []
    for device in devices:
        with tf.device(device):
            copies.append(tf.identity(value))
    return copies


def broadcast_to_workers(totals, workers, devices) -> list:
    """Copy ``totals[w]`` to the devices of worker ``w`` (``workers`` as from
    :func:`group_by_worker`); one copy per device, in ``devices`` order."""
    outputs = [None] * len(devices)
    for members, total in zip(workers, totals):
        for i, copy in zip(members, broadcast(total, [devices[i] for i in members])):
            outputs[i] = copy
    return outputs


def reduce_then_broadcast(values, devices, reduce_device) -> list:
    """add_n on ``reduce_device``, then a copy to every device."""
    with tf.device(reduce_device):
        total = tf.add_n(list(values)) if len(values) > 1 else tf.identity(values[0])
    return broadcast(total, devices)


# -- ring ------------------------------------------------------------------------------------

def ring_orders(num_devices: int, shards: int) -> list[list[int]]:
    """Device positions of each of ``shards`` parallel rings: ring s starts
    ``s * max(1, n // shards)`` places later and odd rings run backwards, so the
    rings use different links (the predecessor's layout)."""
    if shards > num_devices:
        raise ConfigError(f"xring#{shards} needs at least {shards} devices; this run has "
                          f"{num_devices} (use xring#{num_devices} or fewer).")
    step = max(1, num_devices // shards)
    orders = []
    for s in range(shards):
        offset = (s * step) % num_devices
        order = list(range(offset, num_devices)) + list(range(offset))
        orders.append(order[::-1] if s % 2 else order)
    return orders


def ring_all_reduce(values, devices, shards: int = 1) -> list:
    """Ring reduce-scatter then all-gather, ``shards`` rings in parallel, each on
    1/shards of the tensor (padded with zeros to a multiple of n * shards)."""
    count = len(values)
    if count == 1:
        return broadcast(values[0], devices)
    shape = values[0].shape
    chunks = []
    for value, device in zip(values, devices):
        with tf.device(device):
            flat, size = flatten_padded(value, count * shards)
            chunks.append(tf.split(flat, count * shards))
    final = [[None] * (count * shards) for _ in range(count)]
    for s, order in enumerate(ring_orders(count, shards)):
        _one_ring(chunks, final, order, list(range(s * count, (s + 1) * count)), devices)
    outputs = []
    for pieces, device in zip(final, devices):
        with tf.device(device):
            outputs.append(restore_shape(tf.concat(pieces, 0), size, shape))
    return outputs


def _one_ring(chunks, final, order, chunk_ids, devices) -> None:
    """Position p of the ring is device ``order[p]``; it ends up holding the full
    sum of chunk (p + 1) % n, then passes finished chunks on until all have all."""
    n = len(order)
    partial = [[chunks[order[p]][chunk_ids[c]] for c in range(n)] for p in range(n)]
    for r in range(n - 1):                       # reduce-scatter
        for p in range(n):
            c, q = (p - r) % n, (p + 1) % n
            with tf.device(devices[order[q]]):
                partial[q][c] = partial[q][c] + partial[p][c]
    done = [{(p + 1) % n: partial[p][(p + 1) % n]} for p in range(n)]
    for r in range(n - 1):                       # all-gather
        for p in range(n):
            c, q = (p + 1 - r) % n, (p + 1) % n
            with tf.device(devices[order[q]]):
                done[q][c] = tf.identity(done[p][c])
    for p in range(n):
        for c in range(n):
            final[order[p]][chunk_ids[c]] = done[p][c]


# -- shuffle ---------------------------------------------------------------------------------

def shuffle_all_reduce(values, devices, gather_devices) -> list:
    """Split each value into one shard per gather device, add the shards there,
    and send every device the concatenation of the sums."""
    if len(gather_devices) == 1:
        return reduce_then_broadcast(values, devices, gather_devices[0])
    shape = values[0].shape
    sizes = None
    pieces = []
    for value, device in zip(values, devices):
        with tf.device(device):
            flat, size = flatten_padded(value, 1)
            sizes = ragged_split_sizes(size, len(gather_devices))
            pieces.append(tf.split(flat, sizes))
    sums = []
    for j, gather in enumerate(gather_devices):
        with tf.device(gather):
            sums.append(tf.add_n([p[j] for p in pieces]))
    outputs = []
    for device in devices:
        with tf.device(device):
            outputs.append(tf.reshape(tf.concat(sums, 0), shape))
    return outputs


# -- recursive halving and doubling ----------------------------------------------------------

def recursive_halving_doubling(values, devices) -> list:
    """Reduce-scatter by recursive halving, all-gather by recursive doubling;
    the number of devices must be a power of two."""
    count = len(values)
    if count & (count - 1):
        raise ConfigError(f"recursive halving-doubling needs a power-of-two number of "
                          f"participants, got {count}.")
    shape = values[0].shape
    parts = []
    for value, device in zip(values, devices):
        with tf.device(device):
            flat, size = flatten_padded(value, count)
            parts.append(flat)
    distance = count // 2
    while distance >= 1:                         # halving: keep one half, add the partner's
        parts = [_halve(parts, p, distance, devices) for p in range(count)]
        distance //= 2
    distance = 1
    while distance < count:                      # doubling: join halves back
        parts = [_double(parts, p, distance, devices) for p in range(count)]
        distance *= 2
    outputs = []
    for part, device in zip(parts, devices):
        with tf.device(device):
            outputs.append(restore_shape(part, size, shape))
    return outputs


def _halve(parts, p, distance, devices):
    partner, low = p ^ distance, not p & distance
    half = parts[p].shape[0] // 2
    with tf.device(devices[partner]):
        theirs = parts[partner][:half] if low else parts[partner][half:]
    with tf.device(devices[p]):
        mine = parts[p][:half] if low else parts[p][half:]
        return mine + theirs


def _double(parts, p, distance, devices):
    partner = p ^ distance
    first, second = (p, partner) if not p & distance else (partner, p)
    with tf.device(devices[p]):
        return tf.concat([parts[first], parts[second]], 0)


# -- devices ---------------------------------------------------------------------------------

def group_by_worker(devices) -> list[list[int]]:
    """Indices of ``devices`` grouped by the process (job/replica/task) that owns
    them, in first-seen order; one group for an ordinary single-process run."""
    groups: dict = {}
    for index, device in enumerate(devices):
        groups.setdefault(parse_device_name(device).worker, []).append(index)
    return list(groups.values())


def host_cpu(device: str, default: str) -> str:
    """The CPU of the worker that owns ``device`` (``default`` when it names no worker)."""
    name = parse_device_name(device)
    if name.job is None and name.task is None:
        return default
    replica = f"/replica:{name.replica}" if name.replica is not None else ""
    task = f"/task:{name.task}" if name.task is not None else ""
    return f"/job:{name.job}{replica}{task}/device:CPU:0"
