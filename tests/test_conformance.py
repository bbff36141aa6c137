"""The model conformance suite (``cnnb.testing``), as plugin authors run it.

One child process runs ``pytest --pyargs cnnb.testing`` (every installed model:
builds at its native size, one training step at batch 2, finite loss, logits
[2, classes], listed parameter count == TensorFlow's) together with a
third-party-style test file that uses the ``cnnb.testing.plugin`` fixtures; each
built-in model then gets its own test here that reads its outcome. Another child
shows that the checks fail on broken models. TensorFlow runs only in children.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from cnnb.pluginmanager import load_plugins
from cnnb.testing import model_cases

SUITE_TIMEOUT = 900
BUILTIN_CASES = [case for case in model_cases(load_plugins())
                 if case.entry.provider.distribution == "cnnb"]

THIRD_PARTY_TEST = '''
from cnnb.testing import check_case

def test_a_plugin_author_checks_one_model(cnnb_model_cases):
    case = next(c for c in cnnb_model_cases if c.id == "cifar10/trivial")
    result = check_case(case)
    assert result.params == result.traced_params == case.listed_params
'''

# Runs the checks on models that break one rule each, and on models a plugin
# registers (a builder model and a Keras callable); prints each outcome.
BROKEN_MODELS = '''
import json, keras
from cnnb.keras_model import KerasModel
from cnnb.model import BuilderModel
from cnnb.pluginmanager import load_plugins
from cnnb.testing import ConformanceError, check_case, check_model, model_cases

def unused_variable(cnn):
    cnn.backend.variable("orphan/weights", [3, 3], ("constant", 0.0))
    cnn.flatten()

def four_outputs(cnn):
    cnn.flatten()
    cnn.affine(4, activation="linear")

def small_keras(input_shape, classes):
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(8, 3)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(classes)(x))

def nan_keras(input_shape, classes):
    inputs = keras.Input(input_shape)
    x = keras.layers.Dense(classes)(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, keras.layers.Lambda(lambda t: t * float("nan"))(x))

plugins = load_plugins()
models = plugins.registry("model")
models.register("acme_tiny", BuilderModel("acme_tiny", four_outputs, 16, 4), scope="imagenet")
models.register("acme_keras", small_keras, scope="cifar10", image_size=16, params=330)
models.register("acme_miscounted", small_keras, scope="cifar10", image_size=16, params=331)
cases = {case.id: case for case in model_cases(plugins)}
checks = {
    "unused": lambda: check_model(BuilderModel("unused", unused_variable, 8, 2), 10),
    "listed": lambda: check_model(BuilderModel("small", four_outputs, 8, 2), 10,
                                  listed_params=123),
    "logits": lambda: check_model(BuilderModel("wide", four_outputs, 8, 2,
                                               skip_final_affine=True), 10),
    "nan": lambda: check_model(KerasModel("nan", nan_keras, image_size=8), 10),
    "acme_tiny": lambda: check_case(cases["imagenet/acme_tiny"]),
    "acme_keras": lambda: check_case(cases["cifar10/acme_keras"]),
    "acme_miscounted": lambda: check_case(cases["cifar10/acme_miscounted"]),
}
report = {}
for name, check in checks.items():
    try:
        result = check()
        report[name] = {"ok": True, "params": result.params, "shape": result.logits_shape}
    except ConformanceError as error:
        report[name] = {"ok": False, "error": str(error)}
report["acme_tiny_listed"] = cases["imagenet/acme_tiny"].listed_params
print("REPORT=" + json.dumps(report))
'''


@pytest.fixture(scope="module")
def suite_outcomes(tmp_path_factory, make_env) -> dict:
    """testcase id -> 'passed' or the failure text, from one child pytest run."""
    where = tmp_path_factory.mktemp("conformance")
    (where / "test_acme_models.py").write_text(THIRD_PARTY_TEST)
    report = where / "report.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-p", "cnnb.testing.plugin", f"--junitxml={report}", "--pyargs", "cnnb.testing",
         str(where / "test_acme_models.py")],
        cwd=where, capture_output=True, text=True, env=make_env(), timeout=SUITE_TIMEOUT,
        check=False)
    assert report.exists(), proc.stdout + proc.stderr
    outcomes = {}
    for testcase in ElementTree.parse(report).iter("testcase"):
        name = testcase.get("name")
        problem = next(iter(testcase), None)
        outcomes[name] = "passed" if problem is None else (problem.get("message") or
                                                            problem.tag)
    return outcomes


@pytest.fixture(scope="module")
def broken_report(python_child) -> dict:
    proc = python_child(BROKEN_MODELS)
    line = next(l for l in proc.stdout.splitlines() if l.startswith("REPORT="))
    return json.loads(line[len("REPORT="):])


@pytest.mark.slow
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in BUILTIN_CASES])
def test_builtin_model_conforms(suite_outcomes, case):
    assert suite_outcomes.get(f"test_model_conforms[{case.id}]") == "passed", \
        suite_outcomes.get(f"test_model_conforms[{case.id}]", "not run")


@pytest.mark.slow
def test_the_suite_covers_every_registered_model_and_plugin_fixtures_work(suite_outcomes):
    ids = {name[len("test_model_conforms["):-1] for name in suite_outcomes
           if name.startswith("test_model_conforms[")}
    assert ids == {case.id for case in BUILTIN_CASES}
    assert suite_outcomes["test_a_plugin_author_checks_one_model"] == "passed"


def test_every_issue_model_is_registered():
    ids = {case.id for case in BUILTIN_CASES}
    assert {"imagenet/googlenet", "imagenet/overfeat", "imagenet/inception3",
            "imagenet/inception4", "imagenet/mobilenet", "imagenet/nasnet",
            "imagenet/nasnetlarge", "cifar10/nasnet", "cifar10/densenet100_k24",
            "cifar10/resnet110_v2", "cifar10/alexnet", "cifar10/trivial"} <= ids


@pytest.mark.slow
@pytest.mark.parametrize("check, message", [
    ("unused", "get no gradient"), ("listed", "123 are listed"),
    ("logits", "expected (2, 10)"), ("nan", "training loss is nan"),
    ("acme_miscounted", "331 are listed")])
def test_broken_models_fail_with_a_clear_message(broken_report, check, message):
    assert not broken_report[check]["ok"]
    assert message in broken_report[check]["error"]


@pytest.mark.slow
def test_models_a_plugin_registers_are_checked(broken_report):
    # acme_tiny: a 16x16x3 image flattened into 4 outputs, then 1001 ImageNet classes
    assert broken_report["acme_tiny_listed"] == (768 * 4 + 4) + (4 * 1001 + 1001)
    assert broken_report["acme_tiny"] == {"ok": True, "params": 8081, "shape": [2, 1001]}
    # acme_keras: conv 3x3x3x8 + 8, batch norm gamma/beta 16, dense 8x10 + 10
    assert broken_report["acme_keras"] == {"ok": True, "params": 330, "shape": [2, 10]}
