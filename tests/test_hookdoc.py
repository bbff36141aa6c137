"""docs/hooks.md is generated from the hook specs (cnnb.hookdoc): it must be up to
date, and a hook without documentation cannot be generated at all."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from cnnb import hookdoc, hookspecs

HOOKS_MD = Path(__file__).resolve().parents[1] / "docs" / "hooks.md"


def test_docs_hooks_md_is_up_to_date():
    assert HOOKS_MD.read_text(encoding="utf-8") == hookdoc.markdown(), (
        "docs/hooks.md is out of date: run .venv/bin/python -m cnnb.hookdoc --write "
        "docs/hooks.md")


def test_every_hook_has_a_section_with_its_parameters():
    text = hookdoc.markdown()
    for function in hookdoc.hook_functions():
        assert f"### `{function.__name__}(" in text
    assert "- **`registry`**:" in text and "*Added in 0.1.*" in text
    assert ":param" not in text and ":class:" not in text
    assert "``" not in text.replace("```", "")


def _module_with(function) -> types.ModuleType:
    module = types.ModuleType("fake_hookspecs", "Fake hooks.")
    module.cnnb_documented = hookspecs.cnnb_run_end
    setattr(module, function.__name__, function)
    return module


def cnnb_undocumented(result):
    pass


def cnnb_half_documented(step, stats):
    """A hook that forgets one parameter.

    :param step: the step.

    .. versionadded:: 0.3
    """


@pytest.mark.parametrize("function, words", [
    (cnnb_undocumented, "no docstring"), (cnnb_half_documented, "parameter 'stats'")])
def test_an_undocumented_hook_is_an_error(function, words):
    with pytest.raises(hookdoc.UndocumentedHook, match=words):
        hookdoc.markdown(_module_with(function))


def test_check_mode_fails_on_a_stale_file(tmp_path):
    stale = tmp_path / "hooks.md"
    stale.write_text(hookdoc.markdown().replace("Register models.", "Registers models."))
    command = [sys.executable, "-m", "cnnb.hookdoc", "--check", str(stale)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "out of date" in done.stderr
    command[-1] = str(HOOKS_MD)
    assert subprocess.run(command, capture_output=True, check=False).returncode == 0
