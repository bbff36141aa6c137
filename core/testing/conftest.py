"""Loaded when pytest collects ``cnnb.testing`` (``pytest --pyargs cnnb.testing``):
the ``slow`` marker (``-m "not slow"`` skips the heaviest models) and the fixtures."""

from cnnb.testing.plugin import (  # noqa: F401
    cnnb_check_allreduce, cnnb_check_variable_manager, cnnb_model_cases, cnnb_plugins, cnnb_run,
    pytest_configure)
