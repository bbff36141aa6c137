"""Help, listing commands and early user errors never import TensorFlow: they
must stay fast (TensorFlow takes seconds to import) and work without it."""

from __future__ import annotations

import pytest

# Runs cnnb's CLI in-process in a child, then reports whether TensorFlow got imported.
CLI_THEN_CHECK = """
import sys
from cnnb.cli import main
try:
    main(sys.argv[1:])
    code = 0
except SystemExit as stop:
    code = stop.code
loaded = sorted(m for m in sys.modules if m == "tensorflow" or m.startswith("tensorflow."))
print("EXIT", code)
print("TENSORFLOW-MODULES", len(loaded), loaded[:3])
"""

IMPORT_THEN_CHECK = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
loaded = [m for m in sys.modules if m == "tensorflow" or m.startswith("tensorflow.")]
print("TENSORFLOW-MODULES", len(loaded), loaded[:3])
"""

BUILTIN_COMMANDS = [
    (["--help"], 0), (["--version"], 0), (["models"], 0), (["models", "--json"], 0),
    (["models", "resnet*"], 0), (["plugins"], 0), (["plugins", "--json"], 0),
    (["datasets"], 0), (["preprocessors"], 0), (["variable-managers"], 0), (["allreduce"], 0), (["run", "--help"], 0),
    (["run", "--model=resnet51"], 2), (["run", "--optimizer=adagrad"], 2),
    (["run", "--device=cpu", "--data_format=NCHW"], 2),
]
EXAMPLE_COMMANDS = [
    (["models"], 0), (["plugins", "--json"], 0), (["example-hello"], 0), (["--help"], 0),
    (["run", "--help"], 0), (["run", "--model=example_broken"], 2),
    (["run", "--model=example_dup"], 2),
]
TF_FREE_MODULES = ["cnnb", "cnnb.config", "cnnb.option_table", "cnnb.planning",
                   "cnnb.learning_rate", "cnnb.timing", "cnnb.console", "cnnb.results",
                   "cnnb.registry", "cnnb.pluginmanager", "cnnb.hookspecs", "cnnb.builder",
                   "cnnb.shapes", "cnnb.model", "cnnb.cli", "cnnb.cli.run", "cnnb.cli.listing",
                   "cnnb.plugins.models", "cnnb.plugins.models.resnet",
                   "cnnb.plugins.datasets", "cnnb.plugins.variable_managers"]


def check_tf_free(python_child, args, expected_code, env=None):
    proc = python_child(CLI_THEN_CHECK, *args, **({"env": env} if env else {}))
    lines = proc.stdout.splitlines()
    assert f"EXIT {expected_code}" in lines, proc.stdout + proc.stderr
    assert lines[-1].startswith("TENSORFLOW-MODULES 0 "), \
        f"'cnnb {' '.join(args)}' imported TensorFlow: {lines[-1]}"


@pytest.mark.parametrize("args, code", BUILTIN_COMMANDS, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else str(v))
def test_command_does_not_import_tensorflow(python_child, args, code):
    check_tf_free(python_child, args, code)


@pytest.mark.parametrize("args, code", EXAMPLE_COMMANDS, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else str(v))
def test_command_with_third_party_plugins_does_not_import_tensorflow(python_child,
                                                                     example_env, args, code):
    check_tf_free(python_child, args, code, example_env)


def test_core_and_registration_modules_do_not_import_tensorflow(python_child):
    proc = python_child(IMPORT_THEN_CHECK, *TF_FREE_MODULES)
    assert proc.stdout.splitlines()[-1].startswith("TENSORFLOW-MODULES 0 "), proc.stdout
