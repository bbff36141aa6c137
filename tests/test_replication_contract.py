"""The replication contract: variable managers are plugins like any other.

A third party's manager (``tests/plugins/acme_manager``) is installed,
listed with its capabilities and trains (its losses are checked against the
predecessor's numbers in test_variable_managers); managers registered
in-process are selectable through :mod:`cnnb.api`; flags are checked against
declared capabilities, never names; training accuracy counts every tower.
"""

from __future__ import annotations

import json

import pytest

import cnnb
from cnnb import api
from cnnb.errors import ConfigError, PluginLoadError
from cnnb.options import Option
from multidevice_helpers import install_test_plugins
from replication_checks import __file__ as CHECKS_FILE

NO_GPUS = {"visible_gpus": lambda: 0}


@pytest.fixture(scope="module")
def plugins_env(tmp_path_factory, make_env):
    return make_env(install_test_plugins(tmp_path_factory))


def test_a_third_party_manager_is_listed_with_its_capabilities(cnnb, plugins_env):
    table = cnnb("variable-managers", env=plugins_env)
    assert table.code == 0, table
    line = next(row for row in table.out.splitlines() if row.startswith("acme_mirror "))
    assert line.split()[1:5] == ["mean", "no", "no", "acme-manager"], line
    rows = {row["name"]: row for row in json.loads(cnnb("variable-managers", "--json",
                                                         env=plugins_env).out)}
    assert rows["acme_mirror"]["options"] == ["acme_mirror_log_every"]
    assert rows["replicated"]["gradient_reduction"] == "sum" and rows["replicated"][
        "all_reduce_spec"] is True


def test_a_third_party_manager_rejects_all_reduce_flags_by_capability(cnnb, plugins_env):
    result = cnnb("run", "--variable_update=acme_mirror", "--all_reduce_spec=xring",
                  "--num_gpus=2", env=plugins_env)
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1, result
    assert "take an all-reduce (collective_all_reduce, replicated)" in result.err
    assert "--variable_update=acme_mirror" in result.err


def test_training_accuracy_counts_every_towers_hits(python_child):
    code = (f"import sys; sys.path.insert(0, {str(CHECKS_FILE.rsplit('/', 1)[0])!r}); "
            "import replication_checks as c; c.check_accuracy_counts_every_tower('independent');"
            " c.check_accuracy_counts_every_tower('parameter_server')")
    python_child(code)


class _InProcessManagers:
    """A plugin object registered in-process (not installed): the documented
    way for tests and notebooks to add drivers."""

    def __init__(self, reduction: str):
        self.reduction = reduction

    @cnnb.hookimpl
    def cnnb_register_variable_managers(self, registry):
        registry.register("lab_manager", "cnnb.plugins.variable_managers.local:Independent",
                          "a lab's manager", gradient_reduction=self.reduction,
                          options=("lab_knob",))

    @cnnb.hookimpl
    def cnnb_add_options(self, options):
        options.append(Option("lab_knob", int, 7, "The lab manager's own knob."))


def test_an_in_process_manager_gets_only_its_declared_options():
    plugins = api.load_plugins(extra=[_InProcessManagers("none")])
    plan = api.prepare({"variable_update": "lab_manager", "lab_knob": 3, "num_gpus": 2,
                        "device": "cpu"}, plugins=plugins, **NO_GPUS)
    assert plan.capabilities.gradient_reduction == "none"
    assert dict(plan.replication.options) == {"lab_knob": 3}
    assert plan.replication.devices == ("/cpu:0", "/cpu:1") and plan.all_reduce is None


def test_a_bad_capability_declaration_names_the_plugin():
    plugins = api.load_plugins(extra=[_InProcessManagers("average")])
    with pytest.raises(PluginLoadError, match="declares gradient_reduction='average'"):
        api.prepare({"variable_update": "lab_manager"}, plugins=plugins, **NO_GPUS)


def test_prepare_takes_command_line_arguments_or_a_mapping():
    from_args = api.prepare(["--model=resnet20", "--data_name=cifar10", "--batch_size=4",
                             "--num_gpus=2", "--variable_update=replicated", "--device=cpu"],
                            **NO_GPUS)
    from_mapping = api.prepare({"model": "resnet20", "data_name": "cifar10", "batch_size": 4,
                                "num_gpus": 2, "variable_update": "replicated",
                                "device": "cpu"}, **NO_GPUS)
    for plan in (from_args, from_mapping):
        assert (plan.batch_size_per_device, plan.batch_size) == (4, 8)
        assert plan.capabilities.gradients_summed and plan.all_reduce.spec == "copy"
    with pytest.raises(ConfigError, match="No such option '--batch_szie'.*--batch_size"):
        api.prepare(["--batch_szie=4"], **NO_GPUS)
    with pytest.raises(ConfigError, match="not one string"):
        api.prepare("--batch_size=4", **NO_GPUS)


class _InProcessAllReduce:
    """A vendor all-reduce registered in-process that reads one option of its own."""

    @cnnb.hookimpl
    def cnnb_register_allreduce(self, registry):
        registry.register("lab_ring", "cnnb.plugins.allreduce.local:XRing",
                          "a lab's ring", devices="any", options=("lab_ring_chunks",))

    @cnnb.hookimpl
    def cnnb_add_options(self, options):
        options.append(Option("lab_ring_chunks", int, 1, "Chunks of the lab ring."))


def test_an_all_reduce_algorithm_gets_only_its_declared_options():
    plugins = api.load_plugins(extra=[_InProcessAllReduce()])
    plan = api.prepare({"variable_update": "replicated", "num_gpus": 2, "device": "cpu",
                        "all_reduce_spec": "pscpu:1k:lab_ring", "lab_ring_chunks": 4},
                       plugins=plugins, **NO_GPUS)
    options = {item.name: item.options for item in plan.all_reduce.ranges}
    assert options == {"pscpu": {}, "lab_ring": {"lab_ring_chunks": 4}}
