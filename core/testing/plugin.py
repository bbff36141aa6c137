"""pytest fixtures for testing cnnb models: ``pytest -p cnnb.testing.plugin``.

``cnnb_plugins`` is the loaded plugin set (session-wide), ``cnnb_model_cases``
every registered model as a :class:`cnnb.testing.ModelCase`; ``cnnb_run``,
``cnnb_check_allreduce`` and ``cnnb_check_variable_manager`` run the real
``cnnb`` in a child process (see :mod:`cnnb.testing.components`). The ``slow``
marker is registered too, for suites that mark heavy models with it.
"""

from __future__ import annotations

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


@pytest.fixture(scope="session")
def cnnb_plugins():
    """Every installed cnnb plugin, loaded once per test session."""
    from cnnb.pluginmanager import load_plugins
    return load_plugins()


@pytest.fixture(scope="session")
def cnnb_model_cases(cnnb_plugins):
    """Every registered model with its dataset family's class count."""
    from cnnb.testing import model_cases
    return model_cases(cnnb_plugins)


@pytest.fixture(scope="session")
def cnnb_run():
    """``cnnb_run(*args, env=None, expect_code=0) -> RunOutcome``: ``cnnb run`` in a
    child process (on the CPU unless ``--device`` is given), with its result record."""
    from cnnb.testing.components import check_run
    return check_run


@pytest.fixture(scope="session")
def cnnb_check_allreduce():
    """``cnnb_check_allreduce(name, device_counts=(2, 3, 4))``: exact sums on logical
    CPUs, in a child process; raises ConformanceError."""
    from cnnb.testing.components import check_allreduce
    return check_allreduce


@pytest.fixture(scope="session")
def cnnb_check_variable_manager(cnnb_plugins):
    """``cnnb_check_variable_manager(name, num_devices=2, extra_args=())``: valid
    capabilities and a short real training run on logical CPUs; raises ConformanceError."""
    from cnnb.testing.components import check_variable_manager

    def check(name: str, num_devices: int = 2, env=None, extra_args=()):
        return check_variable_manager(name, cnnb_plugins, num_devices, env, extra_args)
    return check
