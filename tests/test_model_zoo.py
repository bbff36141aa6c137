"""The model zoo: parameter counts from the issue (predecessor's counts; CIFAR-10 with
10 classes), standard architectures against keras.applications, FLOPs against the
TensorFlow graph and the papers, the listing, and Keras models in ``cnnb run``.

TensorFlow runs only in child processes (see conftest.py)."""

from __future__ import annotations

import json

import pytest

from cnnb.pluginmanager import load_plugins

IMAGENET_PARAMS = {      # 1001 classes
    "googlenet": 6_999_577, "overfeat": 145_924_969, "inception3": 23_819_401,
    "inception4": 42_649_769, "resnet50_v2": 25_536_361, "resnet101_v2": 44_511_081,
    "resnet152_v2": 60_139_369,
}
CIFAR_PARAMS = {         # 10 classes
    "alexnet": 1_756_426, "resnet20": 269_722, "resnet20_v2": 269_402, "resnet32": 464_154,
    "resnet44": 658_586, "resnet56": 853_018, "resnet110": 1_727_962,
    "resnet110_v2": 1_725_962, "trivial": 52_235,
}
CIFAR_ABOUT = {"densenet40_k12": 1.02e6, "densenet100_k12": 6.98e6, "densenet100_k24": 27.26e6}
# Standard architectures with 1000 classes, keras.applications' totals (these include
# the batch-norm moving statistics, which are not trainable).
STANDARD_1000 = {"mobilenet": 3_538_984, "nasnet": 5_326_716, "nasnetlarge": 88_949_818}
# Forward FLOPs (2 per multiply-add) from the issue and the papers' multiply-add counts.
REFERENCE_FLOPS = {
    ("imagenet", "resnet50_v1.5"): 8.2e9, ("imagenet", "vgg16"): 31e9,
    ("imagenet", "inception3"): 2 * 5.72e9, ("imagenet", "mobilenet"): 2 * 300e6,
    ("imagenet", "nasnet"): 2 * 564e6, ("imagenet", "nasnetlarge"): 2 * 23.8e9,
}
GRAPH_CHECKED = ["imagenet/mobilenet", "imagenet/nasnet", "imagenet/googlenet",
                 "imagenet/inception4", "cifar10/resnet20_v2", "cifar10/densenet40_k12",
                 "cifar10/alexnet", "cifar10/nasnet"]

# Builds models in TensorFlow and reports: graph FLOPs of builder models, Keras
# MobileNetV2's trainable count and graph FLOPs, and the weight-decay split of a
# Keras model's variables.
TF_FACTS = """
import json, sys
import keras, tensorflow as tf
from cnnb.keras_model import KerasModel
from cnnb.engine.keras_network import KerasNetwork
from cnnb.testing import graph_flops, model_cases, network_graph_flops
cases = {case.id: case for case in model_cases()}
report = {"graph_flops": {i: network_graph_flops(cases[i].load(), cases[i].num_classes)
                          for i in sys.argv[1:]}}
reference = keras.applications.MobileNetV2(weights=None, classes=1000)
report["keras_mobilenet"] = {
    "params": sum(int(tf.size(v)) for v in reference.trainable_variables),
    "flops": graph_flops(lambda x: reference(x, training=False), [1, 224, 224, 3])}
def small(input_shape, classes):
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(classes, name="dense")(x))
network = KerasNetwork(KerasModel("small", small, image_size=8), 3, 8, "NHWC", "/cpu:0")
report["decayed"] = sorted(v.name for v in network.store.decayed())
report["trainable"] = sorted(v.name for v in network.trainable_variables)
report["tf_variables"] = all(isinstance(v, tf.Variable) for v in network.trainable_variables)
print("REPORT=" + json.dumps(report))
"""

# A module with Keras model factories for --model=module:callable.
USER_MODULE = '''
import keras

def tiny(input_shape, classes):
    """A two-layer Keras CNN."""
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(classes)(x))

tiny.image_size = 16

def probabilities(input_shape, classes):
    inputs = keras.Input(input_shape)
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    return keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(x))
'''
SHORT_RUN = ["--num_batches=2", "--num_warmup_batches=1", "--batch_size=2", "--device=cpu",
             "--data_format=NHWC"]


@pytest.fixture(scope="module")
def traced():
    registry = load_plugins().registry("model")
    return lambda scope, name, classes: registry.get(name, scope).load().trace(classes)


@pytest.fixture(scope="module")
def tf_facts(python_child):
    proc = python_child(TF_FACTS, *GRAPH_CHECKED)
    line = next(l for l in proc.stdout.splitlines() if l.startswith("REPORT="))
    return json.loads(line[len("REPORT="):])


@pytest.mark.parametrize("scope, name, params", [
    *(("imagenet", n, p) for n, p in IMAGENET_PARAMS.items()),
    *(("cifar10", n, p) for n, p in CIFAR_PARAMS.items())])
def test_listed_parameter_counts_are_the_issues(listed_models, scope, name, params):
    row = listed_models[(scope, name)]
    assert row["params"] == params
    assert isinstance(row["flops"], int) and row["flops"] > 0


@pytest.mark.parametrize("n", [32, 44, 56])
def test_cifar_v2_resnets_drop_the_same_batch_norm_parameters(listed_models, n):
    """v1 blocks have two gamma+beta batch norms (4 x depth); v2 blocks one (2 x depth)
    plus a beta-only pre-activation one (in_size), and v2 ends in a beta-only batch
    norm of 64 channels: 2 x depth - in_size fewer per block, 64 more at the end."""
    per_stage = (n - 2) // 6
    fewer = per_stage * (16 + 32 + 64) + (32 - 16) + (64 - 32) - 64
    assert listed_models[("cifar10", f"resnet{n}")]["params"] - \
        listed_models[("cifar10", f"resnet{n}_v2")]["params"] == fewer


@pytest.mark.parametrize("name, about", CIFAR_ABOUT.items())
def test_densenets_have_about_the_predecessors_size(listed_models, name, about):
    assert listed_models[("cifar10", name)]["params"] == pytest.approx(about, abs=0.01e6)


@pytest.mark.parametrize("name, total", STANDARD_1000.items())
def test_tf1_only_models_are_within_one_percent_of_the_standard(traced, name, total):
    assert traced("imagenet", name, 1000).params == pytest.approx(total, rel=0.01)


def test_inception3_auxiliary_head_is_optional(traced):
    from cnnb.model import BuilderModel
    from cnnb.plugins.models.inception import inception3
    with_aux = BuilderModel("aux", inception3, 299, 32, options={"auxiliary": True})
    # 1x1 conv 768->128 and 5x5 conv 128->768 (beta-only batch norms), affine 768->1001
    head = (768 * 128 + 128) + (5 * 5 * 128 * 768 + 768) + (768 * 1001 + 1001)
    assert with_aux.trace(1001).params == IMAGENET_PARAMS["inception3"] + head


def test_cifar_nasnet_is_the_papers_3_3m_network(traced):
    assert traced("cifar10", "nasnet", 10).params == pytest.approx(3.3e6, rel=0.02)


@pytest.mark.parametrize("scope, name", [("imagenet", "mobilenet"), ("imagenet", "nasnet"),
                                         ("imagenet", "inception3"), ("cifar10", "resnet20"),
                                         ("cifar10", "densenet40_k12"), ("cifar10", "nasnet")])
def test_nchw_trace_counts_the_same(scope, name):
    model = load_plugins().registry("model").get(name, scope).load()
    nhwc = model.trace(10, batch_size=2)
    nchw = model.trace(10, batch_size=2, data_format="NCHW")
    assert (nchw.params, nchw.flops, nchw.logits_shape) == (nhwc.params, nhwc.flops, (2, 10))


@pytest.mark.parametrize("key, flops", REFERENCE_FLOPS.items(), ids=lambda v: str(v))
def test_flops_agree_with_the_references(listed_models, key, flops):
    assert listed_models[key]["flops"] == pytest.approx(flops, rel=0.01)


@pytest.mark.slow
@pytest.mark.parametrize("case_id", GRAPH_CHECKED)
def test_traced_flops_equal_the_tensorflow_graphs(tf_facts, listed_models, case_id):
    scope, name = case_id.split("/")
    assert tf_facts["graph_flops"][case_id] == listed_models[(scope, name)]["flops"]


@pytest.mark.slow
def test_mobilenet_equals_keras_mobilenet_v2(tf_facts, traced):
    ours = traced("imagenet", "mobilenet", 1000)
    assert ours.params == tf_facts["keras_mobilenet"]["params"]
    assert ours.flops == tf_facts["keras_mobilenet"]["flops"]


@pytest.mark.slow
def test_keras_weight_decay_skips_batch_norm(tf_facts):
    assert tf_facts["tf_variables"]
    assert len(tf_facts["trainable"]) == 6        # conv, bn and dense: kernel/bias, gamma/beta
    assert len(tf_facts["decayed"]) == 4
    assert not any("gamma" in name or "beta" in name for name in tf_facts["decayed"])


def test_listing_filters_by_pattern_and_dataset(cnnb_batch):
    runs = cnnb_batch([["models", "resnet1*", "--dataset", "cifar10"],
                       ["models", "--dataset", "synthetic", "nas*"],
                       ["models", "--dataset", "cifar11"], ["models", "--json", "keras*"]])
    table, synthetic, unknown, keras_rows = runs
    assert table.code == 0, table
    assert table.out_lines[0].split() == ["NAME", "DATASET", "IMAGE", "BATCH", "PARAMS",
                                          "GFLOPS", "DESCRIPTION"]
    assert [line.split()[:5] for line in table.out_lines[1:]] == [
        ["resnet110", "cifar10", "32", "128", "1,727,962"],
        ["resnet110_v2", "cifar10", "32", "128", "1,725,962"]]
    assert [line.split()[:2] for line in synthetic.out_lines[1:]] == [
        ["nasnet", "imagenet"], ["nasnetlarge", "imagenet"]]
    assert unknown.code == 2 and "Did you mean: cifar10" in unknown.err
    assert json.loads(keras_rows.out) == []


@pytest.mark.slow
def test_keras_and_cifar_models_run_through_the_benchmark(cnnb_batch, make_env, tmp_path):
    (tmp_path / "user_models.py").write_text(USER_MODULE)
    runs = cnnb_batch([
        ["run", "--model=keras:MobileNetV2", "--batch_size=2", "--num_batches=2"],
        ["run", "--model=user_models:tiny", "--data_name=cifar10", *SHORT_RUN,
         f"--result_json={tmp_path / 'tiny.json'}"],
        ["run", "--model=resnet20", "--data_name=cifar10", *SHORT_RUN],
        ["run", "--model=keras:ResNet51"],
        ["run", "--model=user_models:probabilities", *SHORT_RUN],
        ["run", "--model=user_models:missing"]], env=make_env(tmp_path))
    mobilenet, tiny, resnet20, misspelt, softmax, missing = runs
    for run, model in ((mobilenet, "keras:MobileNetV2"), (tiny, "user_models:tiny"),
                       (resnet20, "resnet20")):
        assert run.code == 0, run
        assert f"Model:       {model}" in run.out_lines
        assert any(line.startswith("total images/sec: ") for line in run.out_lines), run
    assert "Dataset:     cifar10 (synthetic)" in tiny.out_lines
    # FLOPs off the Keras graph, the builder's convention: on CIFAR's 32x32 images the
    # stride-2 VALID conv has 15x15x8 outputs of 3x3x3 multiply-adds, the dense 8x10;
    # x2 per multiply-add, x3 for training
    measured = json.loads((tmp_path / "tiny.json").read_text())["measurements"]
    assert measured["flops_per_image"] == 3 * 2 * (15 * 15 * 8 * 27 + 8 * 10), measured
    assert (misspelt.code, softmax.code, missing.code) == (2, 2, 2)
    assert "Did you mean: ResNet50" in misspelt.err
    assert "softmax" in softmax.err and "no callable 'missing'" in missing.err


def test_model_modules_do_not_import_tensorflow(python_child):
    code = ("import sys, cnnb.keras_model, cnnb.testing, cnnb.planning\n"
            "from cnnb.pluginmanager import load_plugins\n"
            "load_plugins()\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras')))")
    assert python_child(code).stdout.strip() == "[]"
