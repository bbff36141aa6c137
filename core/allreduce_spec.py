"""The ``--all_reduce_spec`` grammar and the pure-Python planning around it.

No TensorFlow here: the spec is checked (and ``cnnb run`` exits with a
one-line error) before TensorFlow starts. The grammar is the predecessor's::

    int       ::= positive whole number
    g_int     ::= int[KkMGT]?          K/k = 2^10, M = 2^20, G = 2^30, T = 2^40
    alg_spec  ::= alg | alg#int        #int: the algorithm's shard count
    spec      ::= alg_spec | alg_spec:g_int:spec

``pscpu:32k:xring`` reduces gradients of at most 32768 **elements** with
``pscpu`` and the rest with ``xring``. Limits count elements, not bytes: the
predecessor's help text said bytes but its code compared ``num_elements``,
and cnnb keeps what the code did. An ``alg`` is any registered all-reduce
algorithm name (``cnnb allreduce``), so a vendor's algorithm works in a spec
as soon as its distribution is installed; names may contain ``/``
(``nccl/xring``, ``pscpu/pscpu``).

Also here: the size-range split, the small-gradient packing plan
(``extract_ranges``), device groups for sharded shuffles and the collective
group keys, all as the predecessor defined them.
"""

from __future__ import annotations

import collections
import re
import threading

from cnnb.errors import ConfigError, close_matches

#: One range of a spec: algorithm name, shard count, and the largest tensor
#: (in elements) it takes; -1 means no limit (the last range).
AllReduceSpecTuple = collections.namedtuple("AllReduceSpecTuple", ["alg", "shards", "limit"])

_SUFFIXES = {"": 1, "K": 1 << 10, "k": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_ALG_TOKEN = re.compile(r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$")


def parse_general_int(text: str) -> int:
    """'32k' -> 32768, '1M' -> 1048576, '100' -> 100, '-1' -> -1; '1m' is an error
    (lower-case m, g and t are not suffixes)."""
    match = re.fullmatch(r"(-?[0-9]+)([KkMGT]?)", text)
    if match is None or (match.group(1).startswith("-") and match.group(2)):
        # Stricter than int(): no spaces, '+', '_' separators or non-ASCII digits.
        raise ConfigError(f"cannot read {text!r} as a whole number; use digits with an "
                          "optional K, M, G or T suffix (e.g. 32k).")
    return int(match.group(1)) * _SUFFIXES[match.group(2)]


def parse_spec_syntax(spec: str) -> list[AllReduceSpecTuple]:
    """The ranges of ``spec``, checking the grammar only (names are not looked up)."""
    parts = spec.split(":") + ["-1"]
    if len(parts) % 2 != 0 or not spec:
        raise ConfigError(f"--all_reduce_spec={spec} is not well formed: expected ALG or "
                          "ALG:LIMIT:ALG[:LIMIT:ALG...], e.g. pscpu:32k:xring.")
    ranges = []
    for alg_part, limit_part in zip(parts[0::2], parts[1::2]):
        alg, shards = _parse_alg(spec, alg_part)
        ranges.append(AllReduceSpecTuple(alg, shards, _parse_limit(spec, limit_part)))
    _check_limits(spec, [r.limit for r in ranges[:-1]])
    return ranges


def _parse_alg(spec: str, text: str) -> tuple[str, int]:
    """``alg`` or ``alg#shards``; a '#' must be followed by a shard count >= 1."""
    if not text:
        raise ConfigError(f"--all_reduce_spec={spec}: an algorithm name is missing (a ':' "
                          "must separate ALG, LIMIT and ALG, e.g. pscpu:32k:xring).")
    alg, hash_sign, shards_text = text.partition("#")
    if not alg or not _ALG_TOKEN.fullmatch(alg):
        raise ConfigError(f"--all_reduce_spec={spec}: {text!r} is not an algorithm name; "
                          "run 'cnnb allreduce' to list them.")
    if not hash_sign:
        return alg, 1
    if not re.fullmatch(r"[0-9]+", shards_text) or int(shards_text) < 1:
        raise ConfigError(f"--all_reduce_spec={spec}: the shard count after '#' in {text!r} "
                          "must be a whole number of at least 1 (e.g. xring#2), or leave "
                          "out the '#'.")
    return alg, int(shards_text)


def _parse_limit(spec: str, text: str) -> int:
    if not text:
        raise ConfigError(f"--all_reduce_spec={spec}: a size limit is missing between two "
                          "':'; write ALG:LIMIT:ALG, e.g. pscpu:32k:xring.")
    try:
        return parse_general_int(text)
    except ConfigError:
        raise ConfigError(f"--all_reduce_spec={spec}: limit {text!r} is not a whole "
                          "number; write it like 2048, 32k or 1M.") from None


def _check_limits(spec: str, limits: list[int]) -> None:
    """Interior limits must be positive and increase (a later, smaller limit would
    never receive a tensor)."""
    if any(limit <= 0 for limit in limits):
        raise ConfigError(f"--all_reduce_spec={spec}: size limits must be positive.")
    if any(b <= a for a, b in zip(limits, limits[1:])):
        raise ConfigError(f"--all_reduce_spec={spec}: size limits must increase from left "
                          "to right.")


def parse_all_reduce_spec(spec: str, valid_algs=None) -> list[AllReduceSpecTuple]:
    """Parse ``spec`` and check every algorithm name.

    ``valid_algs`` defaults to the names registered by the installed plugins
    (``cnnb allreduce``). Raises :class:`cnnb.errors.ConfigError` (a ValueError).
    """
    ranges = parse_spec_syntax(spec)
    known = sorted(installed_algorithm_names() if valid_algs is None else valid_algs)
    for item in ranges:
        if item.alg not in known:
            matches = close_matches(item.alg, known)
            hint = f" Did you mean: {', '.join(matches)}?" if matches else ""
            raise ConfigError(f"--all_reduce_spec={spec} contains invalid algorithm "
                              f"'{item.alg}'.{hint} Run 'cnnb allreduce' to list all "
                              f"{len(known)}.")
    return ranges


def installed_algorithm_names() -> list[str]:
    """Names registered by the installed plugins (imports no TensorFlow)."""
    from cnnb.pluginmanager import load_plugins
    return load_plugins().registry("allreduce").names()


def split_by_limits(sizes: list[int], limits: list[int]) -> list[list[int]]:
    """Indices of tensors (by element count) for each range, in the spec's order:
    a range takes every remaining tensor of at most ``limit`` elements; -1 takes
    all that remain."""
    remaining = list(range(len(sizes)))
    groups = []
    for limit in limits:
        if limit < 0:
            taken, remaining = remaining, []
        else:
            taken = [i for i in remaining if sizes[i] <= limit]
            remaining = [i for i in remaining if sizes[i] > limit]
        groups.append(taken)
    return groups


def extract_ranges(index_list: list[int], range_size_limit: int = 32):
    """(ranges, singles): runs of consecutive indices as ``[first, last]`` and the
    indices that are in no run. A run keeps growing while ``last - first <=
    range_size_limit``, so it holds up to ``range_size_limit + 2`` indices: the
    predecessor's rule, kept so packs come out the same."""
    if not index_list:
        return [], []
    ranges, singles = [], []
    first = last = index_list[0]
    for index in index_list[1:]:
        if index == last + 1 and last - first <= range_size_limit:
            last = index
            continue
        _close_run(first, last, ranges, singles)
        first = last = index
    _close_run(first, last, ranges, singles)
    return ranges, singles


def _close_run(first: int, last: int, ranges: list, singles: list) -> None:
    if last > first:
        ranges.append([first, last])
    else:
        singles.append(first)


def small_tensor_ranges(sizes: list[int], is_float32: list[bool], max_bytes: int,
                        max_group: int) -> list[list[int]]:
    """``[first, last]`` runs of float32 tensors of at most ``max_bytes`` bytes
    (4 per element) to pack together; single small tensors stay alone."""
    small = [i for i, (size, f32) in enumerate(zip(sizes, is_float32))
             if f32 and 4 * size <= max_bytes]
    ranges, _singles = extract_ranges(small, max_group)
    return ranges


def group_device_names(devices, group_size: int) -> list[list[str]]:
    """``ceil(n / group_size)`` groups of ``group_size`` devices, dealt round-robin
    (wrapping around): 5 devices in groups of 2 -> [[d0, d3], [d1, d4], [d2, d0]]."""
    devices = list(devices)
    count = len(devices)
    if group_size > count:
        raise ConfigError(f"cannot make groups of {group_size} from {count} device(s); "
                          f"use a shard count of at most {count}.")
    num_groups = -(-count // group_size)
    groups: list[list[str]] = [[] for _ in range(num_groups)]
    for i in range(num_groups * group_size):
        groups[i % num_groups].append(devices[i % count])
    return groups


class CollectiveGroupKeys:
    """Collective group keys: one per *set* of ``type:index`` devices.

    Job, replica and task are ignored and so is the order: the same GPUs on
    two workers, in any order, share a key, as collective ops require.
    """

    def __init__(self, first_key: int = 1):
        self._next = first_key
        self._keys: dict[str, int] = {}
        self._lock = threading.Lock()

    def key(self, devices) -> int:
        from cnnb.devices import parse_device_name
        names = sorted({f"{d.type}:{d.index}" for d in map(parse_device_name, devices)})
        identity = ",".join(names)
        with self._lock:
            if identity not in self._keys:
                self._keys[identity] = self._next
                self._next += 1
            return self._keys[identity]


_GROUP_KEYS = CollectiveGroupKeys()


def collective_group_key(devices) -> int:
    """The process-wide collective group key of this set of devices."""
    return _GROUP_KEYS.key(devices)
