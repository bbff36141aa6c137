"""The plugin's own tests, with cnnb's conformance suite (``cnnb.testing``).

Run them with ``pytest`` in this folder once the plugin is installed
(``pip install -e .[test]``): the fixtures come from ``-p cnnb.testing.plugin``
(see pyproject.toml).
"""

from __future__ import annotations

import pytest

from cnnb.testing import check_case


@pytest.fixture(scope="module")
def smallnet_cases(cnnb_model_cases):
    cases = [case for case in cnnb_model_cases if case.name == "smallnet"]
    assert {case.scope for case in cases} == {"imagenet", "cifar10"}, \
        "the plugin is not installed (pip install -e .)"
    return cases


def test_registered_by_this_distribution(smallnet_cases):
    for case in smallnet_cases:
        assert case.entry.provider.distribution == "cnnb-example-models"


def test_conforms_to_cnnb_model_contract(smallnet_cases):
    """Builds at its native size, one finite training step, [batch, classes] logits,
    the parameter count `cnnb models` lists."""
    for case in smallnet_cases:
        result = check_case(case)
        assert result.logits_shape == (2, case.num_classes)
        assert result.params == case.listed_params


def test_cnnb_run_trains_it(cnnb_run):
    outcome = cnnb_run("--model=smallnet", "--batch_size=4", "--num_batches=3",
                       "--num_warmup_batches=1")
    assert "total images/sec" in outcome.out
    assert outcome.result.plan["model"] == "smallnet"
    assert outcome.result.environment["plugin_versions"]["cnnb-example-models"] == "1.0.0"
