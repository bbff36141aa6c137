"""Loaded when pytest collects ``cnnb.testing`` (``pytest --pyargs cnnb.testing``):
the ``slow`` marker (``-m "not slow"`` skips the heaviest models) and the fixtures."""

from cnnb.testing.plugin import cnnb_model_cases, cnnb_plugins, pytest_configure  # noqa: F401
