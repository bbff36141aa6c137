"""Name registries with a real installed third-party distribution
(tests/plugins/example_dist): a good model, a broken plugin, a name clash, an
unknown name; plus KindRegistry's own rules, in-process."""

from __future__ import annotations

import json

import pytest

from cnnb.errors import DuplicateNameError, PluginLoadError, UnknownNameError
from cnnb.registry import KindRegistry, Provider

EXAMPLE_DIST = "cnnb-example-plugins"
# conv 3x3x3x8 (+8 biases), 2x2 pool -> 8x8x8, affine 512->32, final affine 32->1001.
EXAMPLE_TINY_PARAMS = (3 * 3 * 3 * 8 + 8) + (8 * 8 * 8 * 32 + 32) + (32 * 1001 + 1001)


def model_rows(result) -> dict:
    assert result.code == 0, result
    rows = json.loads(result.out)
    assert isinstance(rows, list), "--json always prints a list of rows"
    return {row["name"]: row for row in rows}


def error_line(result) -> str:
    assert result.code == 2, result
    assert len(result.err_lines) == 1 and "Traceback" not in result.err, result
    return result.err_lines[0]


@pytest.fixture(scope="module")
def models_json(cnnb, example_env):
    return cnnb("models", "--json", env=example_env)


@pytest.fixture(scope="module")
def tiny_run(cnnb, example_env, tmp_path_factory):
    """example_tiny end to end, with the plugin's own option and run-end hook."""
    result_file = tmp_path_factory.mktemp("tiny") / "speed.json"
    result = cnnb("run", "--model=example_tiny", "--num_batches=3", "--num_warmup_batches=1",
                  f"--example_result_file={result_file}", env=example_env)
    return result, result_file


# -- listing -------------------------------------------------------------------------------

def test_third_party_model_is_listed_with_its_distribution(models_json):
    row = model_rows(models_json)["example_tiny"]
    assert row["distribution"] == EXAMPLE_DIST and row["plugin"] == "example_models"
    assert (row["image_size"], row["default_batch_size"]) == (16, 4)
    assert row["params"] == EXAMPLE_TINY_PARAMS
    assert row["description"] == "Tiny example CNN from a third-party distribution"


def test_broken_plugin_is_reported_and_builtins_keep_working(models_json):
    warnings = [line for line in models_json.err_lines if "example_broken" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: plugin 'example_broken'")
    assert f"({EXAMPLE_DIST} 0.1.0)" in warnings[0]
    assert "cnnb_example_missing_dependency" in warnings[0]
    assert model_rows(models_json)["resnet50"]["params"] == 25_559_081


def test_text_listing_shows_the_broken_plugin_row(cnnb, example_env):
    result = cnnb("models", env=example_env)
    assert result.code == 0, result
    broken = [line for line in result.out_lines if line.startswith("BROKEN")]
    assert len(broken) == 1
    assert "example_broken" in broken[0] and f"{EXAMPLE_DIST} 0.1.0" in broken[0]
    assert "ModuleNotFoundError" in broken[0]


def test_clashing_names_are_listed_as_conflicts(models_json):
    dups = [row for row in json.loads(models_json.out) if row["name"] == "example_dup"]
    assert sorted(row["plugin"] for row in dups) == ["example_dup_a", "example_dup_b"]
    assert all(row.get("conflict") for row in dups)


# -- choosing a name -----------------------------------------------------------------------

def test_choosing_the_broken_plugin_fails_fast_naming_its_error(cnnb, example_env):
    line = error_line(cnnb("run", "--model=example_broken", env=example_env))
    assert "example_broken" in line and EXAMPLE_DIST in line
    assert "No module named 'cnnb_example_missing_dependency'" in line


def test_choosing_a_clashing_name_names_both_providers(cnnb, example_env):
    line = error_line(cnnb("run", "--model=example_dup", env=example_env))
    assert "example_dup_a" in line and "example_dup_b" in line
    assert "--no-plugin" in line


def test_unknown_model_suggests_close_names_and_the_listing_command(cnnb):
    line = error_line(cnnb("run", "--model=resnet51"))
    assert "unknown model 'resnet51'" in line and "Run 'cnnb models'" in line
    suggestions = line.split("Did you mean: ")[1].split("?")[0].split(", ")
    assert "resnet50" in suggestions and len(suggestions) <= 3


def test_unknown_model_mentions_broken_plugins_that_might_provide_it(cnnb, example_env):
    line = error_line(cnnb("run", "--model=example_tiyn", env=example_env))
    assert "Did you mean: example_tiny" in line and "example_broken" in line


def test_unknown_dataset_is_reported_like_a_model(cnnb):
    line = error_line(cnnb("run", "--data_name=imagenett"))
    assert "unknown dataset 'imagenett'" in line and "Did you mean: imagenet" in line
    assert "cnnb datasets" in line


def test_blocking_one_provider_resolves_a_clash(cnnb, example_env):
    rows = model_rows(cnnb("--no-plugin", "example_dup_b", "models", "--json", env=example_env))
    assert rows["example_dup"]["plugin"] == "example_dup_a"
    assert "conflict" not in rows["example_dup"]


@pytest.mark.slow
def test_third_party_model_runs_end_to_end(tiny_run):
    result, _ = tiny_run
    assert result.code == 0, result
    assert "Model:       example_tiny" in result.out_lines
    assert any(line.startswith("total images/sec: ") for line in result.out_lines)


@pytest.mark.slow
def test_plugin_option_reaches_its_run_end_hook(tiny_run):
    result, result_file = tiny_run
    assert result.code == 0, result
    written = json.loads(result_file.read_text())
    total = next(l for l in result.out_lines if l.startswith("total images/sec: "))
    assert f"{written['images_per_sec']:.2f}" == total.split(": ")[1]
    assert written["steps_seen"] == [1, 2, 3]       # cnnb_step_end fired once per timed step


# -- KindRegistry rules, in-process ----------------------------------------------------------

def make_registry() -> KindRegistry:
    registry = KindRegistry("model")
    for plugin, name in [("a", "alpha"), ("a", "beta"), ("b", "beta"), ("c", "gamma")]:
        registry._provider = Provider(plugin, f"dist-{plugin}", "1.0")
        registry.register(name, f"json:{name}", scope="imagenet")
    registry._provider = None
    return registry


def test_registry_keeps_conflicts_and_refuses_to_choose_between_them():
    registry = make_registry()
    assert registry.names() == ["alpha", "beta", "gamma"]
    assert list(registry.conflicts()) == [("beta", "imagenet")]
    with pytest.raises(DuplicateNameError, match="dist-a 1.0.*dist-b 1.0"):
        registry.get("beta", "imagenet")
    assert registry.get("alpha", "imagenet").provider.distribution == "dist-a"


def test_registry_scopes_separate_same_names():
    registry = make_registry()
    with pytest.raises(UnknownNameError, match="unknown model 'alpha'"):
        registry.get("alpha", "cifar10")


def test_lazy_targets_are_imported_only_when_chosen():
    registry = make_registry()
    registry.register("loads", "json:dumps", "fine")
    registry.register("fails", "cnnb_no_such_module:thing", "broken target")
    assert registry.get("loads").load() is json.dumps
    with pytest.raises(PluginLoadError, match="'fails'.*cnnb_no_such_module"):
        registry.get("fails").load()


def test_register_rejects_empty_names():
    with pytest.raises(ValueError):
        KindRegistry("model").register("", object())
