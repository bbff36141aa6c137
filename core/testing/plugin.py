"""pytest fixtures for testing cnnb models: ``pytest -p cnnb.testing.plugin``.

``cnnb_plugins`` is the loaded plugin set (session-wide), ``cnnb_model_cases``
every registered model as a :class:`cnnb.testing.ModelCase`. The ``slow``
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
