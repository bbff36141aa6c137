"""The plugin's own tests, with cnnb's conformance suite (``cnnb.testing``)."""

from __future__ import annotations


def test_registered_by_this_distribution(cnnb_plugins):
    entry = cnnb_plugins.registry("allreduce").get("tree")
    assert entry.provider.distribution == "cnnb-example-allreduce"


def test_sums_are_exact_on_several_device_counts(cnnb_check_allreduce):
    """2, 3 (an odd one out) and 5 devices: every device gets the exact sum."""
    lines = cnnb_check_allreduce("tree", device_counts=(2, 3, 5))
    assert len(lines) == 3 and all(line.startswith("ok") for line in lines), lines


def test_replicated_training_with_tree(cnnb_check_variable_manager):
    """cnnb's replicated manager sums the gradients with tree: a real training run on
    two logical CPUs, checked by cnnb.testing (finite loss, global batch, record)."""
    outcome = cnnb_check_variable_manager("replicated", num_devices=2,
                                          extra_args=("--all_reduce_spec=tree",))
    assert "AllReduce:   tree" in outcome.out
    assert outcome.result.environment["plugin_versions"]["cnnb-example-allreduce"] == "1.0.0"

