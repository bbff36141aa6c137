"""The --all_reduce_spec grammar and the pure-Python all-reduce planning
(predecessor.md §4): no TensorFlow in this process."""

from __future__ import annotations

import pytest

from cnnb.allreduce import plan_all_reduce, spec_of
from cnnb.allreduce_spec import (
    AllReduceSpecTuple,
    CollectiveGroupKeys,
    extract_ranges,
    group_device_names,
    parse_all_reduce_spec,
    parse_general_int,
    small_tensor_ranges,
    split_by_limits,
)
from cnnb.config import build_config
from cnnb.devices import parse_device_name, tower_devices
from cnnb.errors import ConfigError
from cnnb.option_table import ALL_OPTIONS
from cnnb.pluginmanager import load_plugins

T = AllReduceSpecTuple


@pytest.fixture(scope="module")
def registry():
    return load_plugins().registry("allreduce")


@pytest.mark.parametrize("spec, expected", [
    ("xring", [T("xring", 1, -1)]),
    ("xring#2", [T("xring", 2, -1)]),
    ("psgpu#4", [T("psgpu", 4, -1)]),
    ("nccl/xring", [T("nccl/xring", 1, -1)]),
    ("pscpu:32k:xring", [T("pscpu", 1, 32768), T("xring", 1, -1)]),
    ("pscpu:2k:pscpu#2:64k:xring", [T("pscpu", 1, 2048), T("pscpu", 2, 65536),
                                    T("xring", 1, -1)]),
    ("collective#2", [T("collective", 2, -1)]),
])
def test_predecessor_spec_examples_parse(spec, expected):
    assert parse_all_reduce_spec(spec) == expected


@pytest.mark.parametrize("spec, phrase", [
    ("pscpu:32k", "not well formed"),
    ("bogus", "invalid algorithm 'bogus'"),
    ("pscpu:abc:xring", "'abc' is not a whole number"),
    ("shuffle", "invalid algorithm"),
    ("rechd", "invalid algorithm"),
    ("xring#x", "shard count"),
    ("xring#0", "shard count"),
    ("pscpu:64k:xring:2k:pscpu", "must increase"),
    ("pscpu:0:xring", "must be positive"),
    ("", "not well formed"),
    ("xring:2k:", "an algorithm name is missing"),
    ("xring:", "not well formed"),
    # a '#' must be followed by a shard count >= 1
    ("xring#", "the shard count after '#'"),
    ("pscpu:32k:xring#", "the shard count after '#' in 'xring#'"),
    ("xring##2", "the shard count after '#'"),
    ("xring#2#3", "the shard count after '#'"),
    ("xring#+2", "the shard count after '#'"),
    ("xring# 2", "the shard count after '#'"),
    ("xring#-1", "the shard count after '#'"),
    ("#2", "'#2' is not an algorithm name"),
    ("pscpu:", "not well formed"),
    ("pscpu:32k:", "an algorithm name is missing"),
    (":xring", "not well formed"),
    ("pscpu::xring", "a size limit is missing"),
    ("pscpu:3_2:xring", "'3_2' is not a whole number"),
    ("pscpu: 32k:xring", "' 32k' is not a whole number"),
    ("pscpu:-1:xring", "must be positive"),
    ("nccl/:1k:xring", "is not an algorithm name"),
])
def test_invalid_specs_raise_one_line_value_errors(spec, phrase):
    with pytest.raises(ValueError) as caught:
        parse_all_reduce_spec(spec)
    assert isinstance(caught.value, ConfigError)
    assert phrase in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("spec, expected", [
    ("xring#1", [T("xring", 1, -1)]),
    ("nccl/xring#3", [T("nccl/xring", 3, -1)]),
    ("pscpu#2:1k:xring#8", [T("pscpu", 2, 1024), T("xring", 8, -1)]),
])
def test_shard_counts_of_one_or_more_parse(spec, expected):
    assert parse_all_reduce_spec(spec) == expected


@pytest.mark.slow     # one child imports TensorFlow (the run's machine check) once
def test_malformed_specs_end_cnnb_run_with_one_line(cnnb_batch):
    specs = ["xring#", "xring#0", "#2", "pscpu:", "pscpu:32k:"]
    runs = cnnb_batch([["run", "--variable_update=replicated", f"--all_reduce_spec={spec}",
                        "--num_batches=1"] for spec in specs])
    for spec, result in zip(specs, runs):
        assert result.code == 2, result
        assert len(result.err_lines) == 1 and "Traceback" not in result.err, result
        assert result.err_lines[0].startswith(f"Error: --all_reduce_spec={spec}"), result


def test_unknown_algorithm_suggests_close_names():
    with pytest.raises(ConfigError, match="Did you mean: xring"):
        parse_all_reduce_spec("pscpu:32k:xrin")


def test_any_registered_name_is_valid_in_a_spec():
    ranges = parse_all_reduce_spec("pscpu:32k:acme#3", ["pscpu", "acme"])
    assert ranges == [T("pscpu", 1, 32768), T("acme", 3, -1)]
    with pytest.raises(ConfigError):
        parse_all_reduce_spec("acme", ["pscpu"])


@pytest.mark.parametrize("text, value", [("32k", 32768), ("32K", 32768), ("1M", 1048576),
                                         ("2G", 2 ** 31), ("1T", 2 ** 40), ("100", 100),
                                         ("-1", -1)])
def test_parse_general_int(text, value):
    assert parse_general_int(text) == value


@pytest.mark.parametrize("text", ["1m", "1g", "abc", "1.5k", "", " 32", "+32", "3_2", "-1k",
                                  "\u0663"])       # int() alone would accept the last five
def test_parse_general_int_rejects(text):
    with pytest.raises(ValueError):
        parse_general_int(text)


def test_limits_count_elements_and_later_ranges_take_the_rest():
    sizes = [1, 2048, 2049, 65536, 65537, 10]
    assert split_by_limits(sizes, [2048, 65536, -1]) == [[0, 1, 5], [2, 3], [4]]
    assert split_by_limits(sizes, [-1]) == [list(range(6))]
    assert split_by_limits(sizes, [1, -1]) == [[0], [1, 2, 3, 4, 5]]


def test_the_docs_say_limits_count_elements():
    from cnnb import allreduce_spec
    option = {o.name: o for o in ALL_OPTIONS}["all_reduce_spec"]
    assert "elements" in option.help and option.status == "active"
    assert "elements" in allreduce_spec.__doc__


@pytest.mark.parametrize("indices, expected", [
    ([], ([], [])),
    ([1, 3, 4, 6, 7, 8, 9], ([[3, 4], [6, 9]], [1])),
    ([1, 2, 3, 4, 6, 7, 8, 9], ([[1, 4], [6, 9]], [])),
    ([1, 3, 4, 6, 7, 9], ([[3, 4], [6, 7]], [1, 9])),
    ([1, 3, 6, 9], ([], [1, 3, 6, 9])),
])
def test_extract_ranges(indices, expected):
    assert extract_ranges(indices) == expected


def test_extract_ranges_keeps_the_predecessor_quirk_of_limit_plus_two():
    assert extract_ranges(list(range(10)), 2) == ([[0, 3], [4, 7], [8, 9]], [])


def test_small_tensor_ranges_follow_the_predecessor_cases():
    sizes, f32 = [4, 4, 9, 9], [True] * 4
    assert small_tensor_ranges(sizes, f32, 12, 10) == []
    assert small_tensor_ranges(sizes, f32, 16, 10) == [[0, 1]]
    assert small_tensor_ranges(sizes, f32, 256, 10) == [[0, 3]]
    assert small_tensor_ranges([8, 9, 12, 125], [True] * 4, 40, 10) == [[0, 1]]
    assert small_tensor_ranges([125, 6, 5, 7, 100], [True] * 5, 40, 10) == [[1, 3]]
    assert small_tensor_ranges(sizes, [False, True, True, True], 256, 10) == [[1, 3]]


def test_group_device_names():
    devices = [f"/gpu:{i}" for i in range(5)]
    d = devices
    assert group_device_names(devices, 2) == [[d[0], d[3]], [d[1], d[4]], [d[2], d[0]]]
    assert group_device_names(devices, 1) == [[x] for x in devices]
    with pytest.raises(ValueError):
        group_device_names(devices, 6)


def test_collective_group_keys_ignore_worker_and_order():
    def gpus(task, *indices, replica="/replica:0"):
        return [f"/job:worker{replica}/task:{task}/device:GPU:{i}" for i in indices]
    keys = CollectiveGroupKeys()
    g0, g1, g2 = keys.key(gpus(0, 1, 0, 3)), keys.key(gpus(1, 1, 0, 3)), keys.key(gpus(1, 1, 3, 0))
    g3, g4 = keys.key(gpus(1, 1, 3, 2)), keys.key(gpus(0, 1, 2, 3, replica=""))
    g5 = keys.key(["/job:worker/task:0/device:CPU:1", "/job:worker/task:0/device:CPU:2"])
    g6 = keys.key(["/job:worker/task:0/device:CPU:2", "/job:worker/task:0/device:CPU:1"])
    assert g0 == g1 == g2 and g3 != g0 and g3 == g4 and g5 == g6 and g4 != g5


def test_device_names():
    name = parse_device_name("/job:worker/replica:0/task:1/device:GPU:3")
    assert (name.job, name.task, name.type, name.index) == ("worker", 1, "GPU", 3)
    assert parse_device_name("/cpu:2").type == "CPU" and parse_device_name("/cpu:2").index == 2
    assert tower_devices("cpu", 3) == ("/cpu:0", "/cpu:1", "/cpu:2")
    assert tower_devices("gpu", 4, "0,1,3,2") == ("/gpu:0", "/gpu:1", "/gpu:3", "/gpu:2")
    for bad in ("0,1", "0,0,1", "a,b,c"):
        with pytest.raises(ConfigError):
            tower_devices("gpu", 3, bad)


def _config(**values):
    return build_config({"device": "cpu", **values}, ALL_OPTIONS)


def test_several_devices_are_accepted_now():
    config = _config(num_gpus=4, variable_update="replicated", all_reduce_spec="pscpu:32k:xring",
                     gradient_repacking=2)
    assert config.num_gpus == 4


@pytest.mark.parametrize("values, phrase", [
    ({"num_gpus": 2, "variable_update": "replicated", "all_reduce_spec": "pscpu:32k"},
     "not well formed"),
    ({"num_gpus": 1, "variable_update": "replicated", "hierarchical_copy": True},
     "several devices"),
    ({"num_gpus": 4, "variable_update": "replicated", "hierarchical_copy": True,
      "network_topology": "gcp_v100"}, "exactly 8"),
    ({"num_gpus": 2, "variable_update": "replicated", "hierarchical_copy": True,
      "all_reduce_spec": "xring"}, "give one of them"),
    ({"num_gpus": 2, "xla_compile": True}, "XLA cannot span devices"),
    ({"num_gpus": 2, "gpu_indices": "0,1,2"}, "one index per device"),
])
def test_multi_device_rules(values, phrase):
    with pytest.raises(ConfigError, match=phrase):
        _config(**values)


@pytest.mark.parametrize("values, phrase", [
    ({"num_gpus": 2, "all_reduce_spec": "xring"},
     r"only to variable managers that take an all-reduce \(collective_all_reduce, replicated"
     r"\); this run uses "
     "--variable_update=parameter_server"),
    ({"num_gpus": 2, "variable_update": "independent", "gradient_repacking": 2},
     "apply|applies only to variable managers that take an all-reduce"),
    ({"num_gpus": 2, "variable_update": "collective_all_reduce",
      "all_reduce_spec": "xring"}, "TensorFlow's collectives do the all-reduce; choose one of "
     "collective, auto, ring, nccl"),
    ({"variable_update": "horovod"}, "needs horovod, which cannot be imported here"),
])
def test_variable_manager_capabilities_are_checked_when_planning(values, phrase):
    """What a manager takes is its declared capability, not its name."""
    from cnnb import api
    with pytest.raises(ConfigError, match=phrase):
        api.prepare({"device": "cpu", **values}, visible_gpus=lambda: 0)


def test_plan_checks_names_and_devices_before_tensorflow(registry):
    devices = tower_devices("cpu", 4)
    plan = plan_all_reduce(_config(num_gpus=4, variable_update="replicated",
                                   all_reduce_spec="pscpu:32k:xring#2", gradient_repacking=3),
                           registry, devices)
    assert [(r.name, r.shards, r.limit) for r in plan.ranges] == [("pscpu", 1, 32768),
                                                                  ("xring", 2, -1)]
    assert plan.context.devices == devices and plan.gradient_repacking == 3
    with pytest.raises(ConfigError, match="needs GPUs"):
        plan_all_reduce(_config(num_gpus=2, variable_update="replicated", all_reduce_spec="nccl"),
                        registry, devices[:2])
    with pytest.raises(ConfigError, match="invalid algorithm 'bogus'"):
        plan_all_reduce(_config(num_gpus=2, variable_update="replicated",
                                all_reduce_spec="pscpu:32k:bogus"), registry, devices[:2])


@pytest.mark.parametrize("values, dtype", [
    ({"use_fp16": True}, "float16"),
    ({"precision": "fp16"}, "float16"),
    ({"use_fp16": True, "compact_gradient_transfer": False}, None),
    ({"precision": "bf16"}, None),
    ({}, None),
])
def test_compact_gradient_transfer_is_planned_under_fp16_only(registry, values, dtype):
    """The predecessor's --compact_gradient_transfer (default on) applies with
    fp16 compute; bf16 and fp32 runs sum float32 gradients."""
    plan = plan_all_reduce(_config(num_gpus=2, variable_update="replicated", **values),
                           registry, tower_devices("cpu", 2))
    assert plan.transfer_dtype == dtype


def test_replicated_defaults_are_the_predecessors_algorithms():
    assert spec_of(_config(num_gpus=2, variable_update="replicated")) == "copy"
    assert spec_of(_config(num_gpus=2, variable_update="replicated",
                           hierarchical_copy=True)) == "hierarchical_copy"


def test_every_builtin_algorithm_is_registered_lazily(registry):
    names = set(registry.names())
    assert {"xring", "pscpu", "psgpu", "pscpu/pscpu", "nccl", "nccl/xring", "nccl/rechd",
            "nccl/pscpu", "collective", "copy", "hierarchical_copy"} <= names
    gpu_only = {e.name for e in registry.entries() if e.metadata.get("devices") == "gpu"}
    assert gpu_only == {"nccl", "nccl/xring", "nccl/rechd", "nccl/pscpu"}
    assert all(isinstance(e.target, str) for e in registry.entries()
               if e.provider.distribution == "cnnb")


def test_registration_and_planning_import_no_tensorflow(python_child):
    python_child("import sys, cnnb.plugins.allreduce, cnnb.allreduce, cnnb.allreduce_spec, "
                 "cnnb.devices, cnnb.plugins.variable_managers; "
                 "from cnnb.pluginmanager import load_plugins; "
                 "load_plugins().registry('allreduce').names(); "
                 "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'")
