"""Every hook is documented where plugin authors read about it: the hookspec
module (datasette's documented-hooks test)."""

from __future__ import annotations

import inspect

import pluggy
import pytest

from cnnb import hookspecs


def _hook_names() -> list[str]:
    manager = pluggy.PluginManager("cnnb")
    manager.add_hookspecs(hookspecs)
    return sorted(name for name in vars(manager.hook) if name.startswith("cnnb_"))


HOOKS = _hook_names()


def test_hookspec_module_declares_hooks_and_only_marked_ones():
    assert "cnnb_register_models" in HOOKS and "cnnb_run_end" in HOOKS
    functions = [name for name, value in vars(hookspecs).items()
                 if name.startswith("cnnb_") and inspect.isfunction(value)]
    assert sorted(functions) == HOOKS


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_docstring_with_every_parameter(name):
    function = getattr(hookspecs, name)
    doc = inspect.getdoc(function)
    assert doc and len(doc.splitlines()[0]) > 10, f"{name} has no summary line"
    for parameter in inspect.signature(function).parameters:
        assert f":param {parameter}:" in doc, f"{name} does not document {parameter!r}"
    assert ".. versionadded::" in doc, f"{name} does not say when it was added"
