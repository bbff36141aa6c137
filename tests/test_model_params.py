"""Built-in models have exactly the predecessor's trainable parameter counts
(issue 2 / predecessor.md §1, ImageNet with 1001 classes), in the pure-Python
shape trace, in ``cnnb models --json``, and in the TensorFlow variables."""

from __future__ import annotations

import json

import pytest

from cnnb.pluginmanager import load_plugins

IMAGENET_CLASSES = 1001
EXPECTED_PARAMS = {
    "trivial": 4_263_877, "lenet": 2_173_353, "alexnet": 61_842_345,
    "vgg11": 132_867_433, "vgg16": 138_361_641, "vgg19": 143_671_337,
    "resnet50": 25_559_081, "resnet50_v1.5": 25_559_081,
    "resnet101": 44_551_209, "resnet152": 60_194_857,
}
EXPECTED_DEFAULT_BATCH = {"alexnet": 512, "vgg16": 64, "resnet50": 64, "resnet101": 32,
                          "resnet152": 32, "trivial": 32, "lenet": 32}
JSON_FIELDS = {"name", "description", "datasets", "image_size", "default_batch_size", "params",
               "flops"}

# Builds each model's TensorFlow variables (no training) and reports their sizes.
TF_VARIABLES = """
import json, sys
import numpy as np
import tensorflow as tf
from cnnb.engine.network import Network
from cnnb.pluginmanager import load_plugins
registry = load_plugins().registry("model")
report = {}
for name in sys.argv[1:]:
    model = registry.get(name, "imagenet").load()
    network = Network(model, %d, model.image_size, "NHWC", "/cpu:0")
    size = model.image_size
    logits, _ = network(tf.zeros([2, size, size, 3]), training=False)
    report[name] = {
        "trainable": sum(int(np.prod(v.shape)) for v in network.trainable_variables),
        "variables": len(network.store.variables),
        "traced_variables": len(network.trace.variables),
        "logits": logits.shape.as_list()}
print("REPORT=" + json.dumps(report))
""" % IMAGENET_CLASSES


@pytest.fixture(scope="module")
def models():
    registry = load_plugins().registry("model")
    return {name: registry.get(name, "imagenet").load() for name in EXPECTED_PARAMS}


@pytest.mark.parametrize("name", EXPECTED_PARAMS)
def test_traced_parameter_count_matches_the_predecessor(models, name):
    trace = models[name].trace(IMAGENET_CLASSES)
    assert trace.params == EXPECTED_PARAMS[name]
    assert trace.logits_shape == (1, IMAGENET_CLASSES)


@pytest.mark.parametrize("name", ["lenet", "resnet50", "vgg11"])
def test_parameter_count_does_not_depend_on_data_format(models, name):
    nchw = models[name].trace(IMAGENET_CLASSES, batch_size=2, data_format="NCHW")
    assert nchw.params == EXPECTED_PARAMS[name]
    assert nchw.logits_shape == (2, IMAGENET_CLASSES)


def test_v1_5_moves_the_stride_and_so_costs_more_flops(models):
    v1, v15 = models["resnet50"].trace(IMAGENET_CLASSES), \
        models["resnet50_v1.5"].trace(IMAGENET_CLASSES)
    assert v1.params == v15.params and v15.flops > v1.flops


@pytest.mark.parametrize("name", EXPECTED_PARAMS)
def test_models_json_lists_the_counts_and_fields(listed_models, name):
    row = listed_models[("imagenet", name)]
    assert JSON_FIELDS <= set(row)
    assert row["params"] == EXPECTED_PARAMS[name]
    assert isinstance(row["flops"], int) and row["flops"] > 0
    assert "imagenet" in row["datasets"]
    assert row["distribution"] == "cnnb"
    assert row["image_size"] == {"trivial": 227, "alexnet": 227, "lenet": 28}.get(name, 224)
    if name in EXPECTED_DEFAULT_BATCH:
        assert row["default_batch_size"] == EXPECTED_DEFAULT_BATCH[name]


def test_models_text_listing_shows_grouped_counts(cnnb):
    result = cnnb("models", "resnet50*", "--dataset", "imagenet")
    assert result.code == 0, result
    assert result.out_lines[0].split()[:2] == ["NAME", "DATASET"]
    names = [line.split()[0] for line in result.out_lines[1:]]
    assert set(names) == {"resnet50", "resnet50_v1.5", "resnet50_v2"}
    assert "25,559,081" in result.out


@pytest.mark.slow
def test_tensorflow_variables_match_the_trace(python_child):
    names = ["trivial", "lenet", "resnet50"]
    proc = python_child(TF_VARIABLES, *names)
    line = next(l for l in proc.stdout.splitlines() if l.startswith("REPORT="))
    report = json.loads(line[len("REPORT="):])
    for name in names:
        assert report[name]["trainable"] == EXPECTED_PARAMS[name], name
        assert report[name]["variables"] == report[name]["traced_variables"], name
        assert report[name]["logits"] == [2, IMAGENET_CLASSES], name
