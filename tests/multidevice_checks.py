"""Checks that run in a child process (they import TensorFlow and split the CPU
into logical devices). Each ``check_*`` raises AssertionError on failure, so the
child exits non-zero and the calling test shows its output. Not a test module.
"""

from __future__ import annotations

import numpy as np

from cnnb.engine.tfsetup import ensure_logical_cpus


def _devices(count: int) -> tuple:
    ensure_logical_cpus(count)          # before anything initializes TensorFlow
    return tuple(f"/cpu:{i}" for i in range(count))


# -- packing ---------------------------------------------------------------------------------

def _consecutive(shapes, num_devices):
    """Per device, tensors holding consecutive integers across the whole list."""
    import tensorflow as tf
    result = []
    for _ in range(num_devices):
        start, tensors = 0, []
        for shape in shapes:
            size = int(np.prod(shape))
            tensors.append(tf.reshape(tf.range(start, start + size, dtype=tf.float32), shape))
            start += size
        result.append(tensors)
    return result


def check_packing():
    from cnnb.engine import packing
    towers = _consecutive([[4], [4], [3, 3], [3, 3]], 3)
    same, none = packing.pack_small_tensors(towers, 12, 10)
    assert none is None and same is towers
    packed, info = packing.pack_small_tensors(towers, 16, 10)
    assert [t.shape.as_list() for t in packed[0]] == [[8], [3, 3], [3, 3]], packed[0]
    assert info.ranges == ((0, 1),) and len(packed) == 3
    packed, info = packing.pack_small_tensors(towers, 256, 10)
    assert [t.shape.as_list() for t in packed[1]] == [[26]] and info.ranges == ((0, 3),)
    for shapes, count, packed_shapes, starts in (
            ([[8], [3, 3], [12], [5, 5, 5]], 3, [[17], [12], [5, 5, 5]], [0, 17, 29]),
            ([[5, 5, 5], [2, 3], [5]], 4, [[11], [5, 5, 5]], [125, 0]),
            ([[5, 5, 5], [2, 3], [1, 5], [7], [100]], 2, [[18], [5, 5, 5], [100]],
             [125, 0, 143])):
        _check_dynamic_packing(shapes, count, packed_shapes, starts)
    _check_repacking()


def _check_dynamic_packing(shapes, count, packed_shapes, starts):
    from cnnb.engine import packing
    towers = _consecutive(shapes, count)
    packed, info = packing.pack_small_tensors(towers, 40, 10)
    for device in packed:
        assert [t.shape.as_list() for t in device] == packed_shapes, (shapes, device)
        flat = [np.asarray(t).reshape(-1) for t in device]
        assert [float(f[0]) for f in flat] == starts
        assert all(np.array_equal(np.diff(f), np.ones(f.size - 1)) for f in flat)
    unpacked = packing.unpack_small_tensors(packed, info)
    for before, after in zip(towers, unpacked):
        assert all(np.array_equal(np.asarray(a), np.asarray(b)) and a.shape == b.shape
                   for a, b in zip(before, after))


def _check_repacking():
    from cnnb.engine import packing
    shapes = [[3, 3], [5], [], [2, 2]]
    towers = _consecutive(shapes, 2)
    for packs_wanted, sizes in ((3, (6, 6, 7)), (1, (19,)), (50, (1,) * 19)):
        packs, layout = packing.repack(towers, packs_wanted)
        assert layout.pack_sizes == sizes and [p.shape[0] for p in packs[0]] == list(sizes)
        unpacked = packing.unpack_repacked(packs, layout)
        for before, after in zip(towers, unpacked):
            assert all(np.array_equal(np.asarray(a), np.asarray(b)) and a.shape == b.shape
                       for a, b in zip(before, after))


# -- the spec driver -------------------------------------------------------------------------

def _plan(spec, devices, repacking=0, small_bytes=0, small_group=10, topology="dgx1",
          transfer_dtype=None):
    from cnnb.allreduce import AllReduceContext, AllReducePlan, RangePlan
    from cnnb.allreduce_spec import parse_all_reduce_spec
    from cnnb.pluginmanager import load_plugins
    registry = load_plugins().registry("allreduce")
    ranges = tuple(RangePlan(r.alg, registry.get(r.alg), r.shards, r.limit)
                   for r in parse_all_reduce_spec(spec, registry.names()))
    context = AllReduceContext(devices, network_topology=topology)
    return AllReducePlan(spec, ranges, context, repacking, small_bytes, small_group,
                         transfer_dtype)


def _all_reduce(plan, values):
    """Run the plan's SpecAllReduce on numpy values[d][t] in one tf.function."""
    import tensorflow as tf
    from cnnb.engine.allreduce import SpecAllReduce
    all_reduce = SpecAllReduce(plan)

    @tf.function(autograph=False)
    def run():
        tensors = []
        for device, row in zip(plan.context.devices, values):
            with tf.device(device):
                tensors.append([tf.identity(tf.constant(v, tf.float32)) for v in row])
        return all_reduce(tensors)
    return [[np.asarray(t) for t in row] for row in run()]


def check_spec_driver():
    """The predecessor's test_grad_aggregation: tower i, gradient j = 10i + j;
    every tower gets sum_i(10i + j), for each algorithm and packing."""
    devices = _devices(8)
    values = [[np.float32(10 * i + j) for j in range(10)] for i in range(8)]
    expected = [sum(10 * i + j for i in range(8)) for j in range(10)]
    for spec, kwargs in (("copy", {}), ("hierarchical_copy", {}),
                         ("hierarchical_copy", {"topology": "gcp_v100"}), ("pscpu", {}),
                         ("xring", {"repacking": 3}), ("xring#2", {}), ("psgpu#4", {}),
                         ("pscpu:2:xring", {"small_bytes": 8}), ("collective", {}),
                         ("pscpu/pscpu", {"small_bytes": 400, "small_group": 2}),
                         ("xring", {"repacking": 2, "transfer_dtype": "float16"}),
                         ("pscpu:2:xring", {"small_bytes": 8, "transfer_dtype": "float16"})):
        sums = _all_reduce(_plan(spec, devices, **kwargs), values)
        for row in sums:
            assert [float(v) for v in row] == expected, (spec, kwargs, row)
    _check_mixed_ranges(devices[:3])
    _check_compact_transfer(devices[:2])


def _check_compact_transfer(devices):
    """Compact transfer sums float16 roundings and hands back float32: 1 + 2^-12
    is 1 in float16, so two of them sum to 2 exactly; uncompacted they do not."""
    values = [[np.float32(1 + 2 ** -12), np.float32(3.0)] for _ in devices]
    for transfer, first in (("float16", 2.0), (None, 2 * (1 + 2 ** -12))):
        for row in _all_reduce(_plan("xring", devices, transfer_dtype=transfer), values):
            assert [t.dtype for t in row] == [np.float32, np.float32], (transfer, row)
            assert [float(t) for t in row] == [first, 6.0], (transfer, row)


def _check_mixed_ranges(devices):
    """Several ranges at once: small, middle and large tensors, odd sizes."""
    rng = np.random.default_rng(7)
    shapes = [(), (3,), (2000,), (33, 100), (40001,)]
    values = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in devices]
    expected = [np.sum([row[t] for row in values], axis=0) for t in range(len(shapes))]
    plan = _plan("pscpu:2k:psgpu#2:32k:xring", devices, small_bytes=64)
    for row in _all_reduce(plan, values):
        for got, want in zip(row, expected):
            assert got.shape == want.shape and np.allclose(got, want, rtol=1e-5, atol=1e-5)


# -- blocks of the multi-worker algorithms, and NCCL's guard ---------------------------------

def check_two_level_blocks():
    """Recursive halving-doubling and the ring, as the cross-worker stages of the
    nccl/* algorithms, on logical CPUs standing in for workers; NCCL itself
    refuses CPU devices with a ConfigError."""
    import tensorflow as tf
    from cnnb.allreduce import AllReduceContext
    from cnnb.errors import ConfigError
    from cnnb.plugins.allreduce.blocks import recursive_halving_doubling, ring_all_reduce
    from cnnb.plugins.allreduce.nccl import Nccl, NcclThenRecursiveHD
    devices = _devices(8)
    rng = np.random.default_rng(3)
    for count in (2, 4, 8):
        for shape in ((), (5,), (3, 7)):
            values = [rng.standard_normal(shape).astype(np.float32) for _ in range(count)]
            for block in (recursive_halving_doubling, ring_all_reduce):
                sums = tf.function(lambda: block(  # noqa: B023 (called right away)
                    [tf.constant(v) for v in values], devices[:count]), autograph=False)()
                for got in sums:
                    assert np.allclose(got, np.sum(values, axis=0), rtol=1e-5, atol=1e-5)
                    assert np.array_equal(got, sums[0])
    for error_case in (lambda: recursive_halving_doubling([tf.constant(1.0)] * 3, devices[:3]),
                       lambda: Nccl(AllReduceContext(devices[:2])),
                       lambda: NcclThenRecursiveHD(AllReduceContext(devices[:2]))):
        try:
            error_case()
        except ConfigError as error:
            assert "\n" not in str(error)
        else:
            raise AssertionError("expected a ConfigError")


# -- the conformance check itself ------------------------------------------------------------

def check_conformance_catches_wrong_algorithms():
    """The vendor check fails an algorithm that averages, one that leaves the
    sums on the first device, and one whose copies differ."""
    import tensorflow as tf
    from cnnb.allreduce import AllReduceAlgorithm
    from cnnb.allreduce_conformance import run_checks
    _devices(3)

    class Averaging(AllReduceAlgorithm):
        def reduce(self, device_tensors):
            n = len(self.devices)
            sums = [tf.add_n(list(v)) / n for v in zip(*device_tensors)]
            return [[tf.identity(s) for s in sums] for _ in self.devices]

    class OnFirstDevice(AllReduceAlgorithm):
        def reduce(self, device_tensors):
            with tf.device(self.devices[0]):
                sums = [tf.add_n(list(v)) for v in zip(*device_tensors)]
                return [[tf.identity(s) for s in sums] for _ in self.devices]

    class Drifting(AllReduceAlgorithm):
        def reduce(self, device_tensors):
            out = []
            for d, device in enumerate(self.devices):
                with tf.device(device):
                    out.append([tf.add_n(list(v)) * (1 + 1e-7 * d) for v in zip(*device_tensors)])
            return out

    for algorithm, phrase in ((Averaging, "max error"), (OnFirstDevice, "placed on"),
                              (Drifting, "differs from device 0")):
        results = run_checks(algorithm, (3,), (1,))
        assert [r.status for r in results] == ["failed"], results
        assert phrase in results[0].detail, results[0].detail


# -- variable managers -----------------------------------------------------------------------

def _tiny_model():
    from cnnb.model import BuilderModel

    def tiny(cnn):
        cnn.conv(4, 3, 3, use_batch_norm=True)
        cnn.mpool(2, 2)
        cnn.flatten()
        cnn.affine(8)
    return BuilderModel("tiny", tiny, 8, 2)


def _manager(name, devices, optimizer="momentum", parameter_device="gpu"):
    from cnnb.config import build_config
    from cnnb.engine.network import Network
    from cnnb.engine.optimizers import make_optimizer
    from cnnb.option_table import ALL_OPTIONS
    from cnnb.plugins.variable_managers import local
    from cnnb.replication import ReplicationSettings
    from cnnb.settings import settings_from_flags
    config = build_config({"device": "cpu", "num_gpus": len(devices), "optimizer": optimizer,
                           "variable_update": name}, ALL_OPTIONS)
    all_reduce = _plan("xring", devices) if name == "replicated" else None
    classes = {"parameter_server": local.ParameterServer, "replicated": local.Replicated,
               "independent": local.Independent}
    settings = ReplicationSettings(tuple(devices), None, all_reduce,
                                   options={"local_parameter_device": parameter_device})
    manager = classes[name](settings)
    model = _tiny_model()
    manager.create_towers(lambda device, i: Network(model, 5, 8, "NHWC", device, f"v{i}/"))
    optimizer_settings = settings_from_flags(config).optimizer
    manager.create_optimizers(lambda variables: make_optimizer(optimizer_settings, variables))
    return manager, config


def _values(variables):
    return [np.asarray(v.read_value()) for v in variables]


def check_managers():
    """Placement, equal copies, savable names, first-tower batch-norm statistics."""
    import tensorflow as tf
    from cnnb.devices import parse_device_name
    devices = _devices(2)
    names = None
    for name, parameter_device in (("parameter_server", "gpu"), ("parameter_server", "cpu"),
                                   ("replicated", "gpu"), ("independent", "gpu")):
        manager, _ = _manager(name, devices, parameter_device=parameter_device)
        savable = set(manager.savable_variables())
        assert names is None or savable == names, (name, savable ^ names)
        names = savable
        homes = {parse_device_name(v.device).index for v in manager.towers[0].trainable_variables}
        expected = {0} if parameter_device == "cpu" or name != "parameter_server" else {0, 1}
        assert homes == expected, (name, parameter_device, homes)
    single, _ = _manager("parameter_server", devices[:1])
    assert set(single.savable_variables()) == names
    assert any(n.endswith("moving_mean") for n in names)
    assert all(f"{n}/slot0" in names for n in single.towers[0].store.variables
               if single.towers[0].store.specs[n].trainable)
    _check_replicated_step(devices)
    assert tf.config.list_logical_devices("CPU")


def _check_replicated_step(devices):
    """One replicated step keeps the copies equal; only tower 0's batch-norm
    statistics move; sync_copies copies tower 0 to the others."""
    from cnnb.engine.step import make_train_step
    from cnnb.settings import settings_from_flags
    from cnnb.engine.synthetic import SyntheticInputs
    manager, config = _manager("replicated", devices)
    first, second = manager.towers
    assert all(np.array_equal(a, b) for a, b in zip(_values(first.trainable_variables),
                                                    _values(second.trainable_variables)))
    before = _values(first.trainable_variables)
    settings = settings_from_flags(config)
    step = make_train_step(manager, SyntheticInputs(devices, 2, 8, 5, "NHWC"), settings.step,
                           settings.loss)
    float(step(np.float32(0.1))["loss"])
    after = _values(first.trainable_variables)
    assert any(not np.array_equal(a, b) for a, b in zip(before, after)), "nothing was trained"
    assert all(np.array_equal(a, b) for a, b in zip(after, _values(second.trainable_variables)))
    means = [t.store.variables["batchnorm0/moving_mean"] for t in manager.towers]
    assert np.any(np.asarray(means[0]) != 0) and np.all(np.asarray(means[1]) == 0)
    first.trainable_variables[0].assign_add(np.ones(first.trainable_variables[0].shape))
    manager.sync_copies()
    assert np.array_equal(_values(first.trainable_variables)[0],
                          _values(second.trainable_variables)[0])
    assert np.array_equal(np.asarray(means[0]), np.asarray(means[1]))
