"""``cnnb plugins``, ``--version``, blocking plugins, and what third-party plugins
add to the command line, with the example distribution installed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cnnb import __version__

EXAMPLE_DIST = "cnnb-example-plugins"
BUILTIN_PLUGINS = {"models", "datasets", "variable_managers"}
EXAMPLE_PLUGINS = {"example_models", "example_broken", "example_dup_a", "example_dup_b",
                   "example_extras"}


def plugin_rows(result) -> dict:
    assert result.code == 0, result
    return {row["name"]: row for row in json.loads(result.out)}


@pytest.fixture(scope="module")
def plugins_json(cnnb, example_env):
    return plugin_rows(cnnb("plugins", "--json", env=example_env))


def test_builtins_are_plugins_of_the_cnnb_distribution(cnnb):
    rows = plugin_rows(cnnb("plugins", "--json"))
    assert BUILTIN_PLUGINS <= set(rows)
    assert {rows[name]["distribution"] for name in BUILTIN_PLUGINS} == {"cnnb"}
    assert "cnnb_register_models" in rows["models"]["hooks"]
    assert "resnet50" in rows["models"]["provides"]["model"]


def test_broken_plugin_row_has_distribution_version_and_error(plugins_json):
    row = plugins_json["example_broken"]
    assert (row["distribution"], row["version"], row["module"]) == \
        (EXAMPLE_DIST, "0.1.0", "cnnb_example.broken")
    assert row["error"] == ("ModuleNotFoundError: No module named "
                            "'cnnb_example_missing_dependency'")
    assert row["hooks"] == [] and "traceback" not in row


def test_working_plugins_list_their_hooks_and_names(plugins_json):
    assert EXAMPLE_PLUGINS | BUILTIN_PLUGINS <= set(plugins_json)
    assert plugins_json["example_models"]["provides"] == {"model": ["example_tiny"]}
    assert plugins_json["example_extras"]["hooks"] == [
        "cnnb_add_options", "cnnb_register_commands", "cnnb_run_end", "cnnb_step_end"]
    assert all("error" not in plugins_json[name] for name in EXAMPLE_PLUGINS - {"example_broken"})


def test_text_listing_marks_the_broken_plugin(cnnb, example_env):
    result = cnnb("plugins", env=example_env)
    assert result.code == 0, result
    line = next(text for text in result.out_lines if text.startswith("example_broken"))
    assert f"({EXAMPLE_DIST} 0.1.0)" in line and "BROKEN: ModuleNotFoundError" in line


def test_debug_adds_the_traceback(cnnb, example_env):
    rows = plugin_rows(cnnb("--debug", "plugins", "--json", env=example_env))
    assert "import cnnb_example_missing_dependency" in rows["example_broken"]["traceback"]


def test_hook_filter(cnnb, example_env):
    rows = plugin_rows(cnnb("plugins", "--json", "--hook", "cnnb_run_end", env=example_env))
    assert {name for name, row in rows.items() if row["distribution"] == EXAMPLE_DIST} == \
        {"example_extras"}
    assert all("cnnb_run_end" in row["hooks"] for row in rows.values())


@pytest.mark.parametrize("blocked", ["example_broken", EXAMPLE_DIST])
def test_no_plugin_blocks_by_entry_point_or_distribution_name(cnnb, example_env, blocked):
    rows = plugin_rows(cnnb("--no-plugin", blocked, "plugins", "--json", env=example_env))
    assert "example_broken" not in rows and BUILTIN_PLUGINS <= set(rows)
    if blocked == EXAMPLE_DIST:
        assert not EXAMPLE_PLUGINS & set(rows)


@pytest.mark.parametrize("blocked", ["example_models", EXAMPLE_DIST])
def test_no_plugin_makes_the_blocked_model_unknown_to_run(cnnb, example_env, blocked):
    # --num_batches=0 fails the option checks right after the model is resolved, before
    # TensorFlow: with the plugin loaded that is the error, so the model was found.
    loaded = cnnb("run", "--model=example_tiny", "--num_batches=0", env=example_env)
    assert loaded.code == 2 and "--num_batches=0 is too small" in loaded.err, loaded
    result = cnnb("--no-plugin", blocked, "run", "--model=example_tiny", "--num_batches=0",
                  env=example_env)
    assert result.code == 2 and len(result.err_lines) == 1, result
    assert "unknown model 'example_tiny'" in result.err_lines[0], result


def test_no_plugin_removes_the_blocked_plugins_run_options(cnnb, example_env):
    option = "--example_result_file"
    assert option in cnnb("run", "--help", env=example_env).out
    result = cnnb("--no-plugin", "example_extras", "run", "--help", env=example_env)
    assert result.code == 0 and option not in result.out, result


def test_no_plugin_applies_to_version_whatever_the_order(cnnb, example_env):
    result = cnnb("--version", "--no-plugin", "example_broken", env=example_env)
    assert result.code == 0, result
    assert not any("example_broken" in line for line in result.out_lines), result
    assert f"plugin example_models: {EXAMPLE_DIST} 0.1.0 (ok)" in result.out_lines


def test_unknown_no_plugin_name_warns_with_close_matches(cnnb, example_env):
    result = cnnb("--no-plugin", "example_modles", "plugins", "--json", env=example_env)
    assert result.code == 0, result
    assert "example_models" in plugin_rows(result)           # nothing was blocked
    assert len(result.err_lines) == 1, result
    line = result.err_lines[0]
    assert line.startswith("warning: --no-plugin example_modles: ") and \
        "Did you mean: example_models" in line, result


def test_known_no_plugin_names_do_not_warn(cnnb, example_env):
    result = cnnb("--no-plugin", "example_broken", "--no-plugin", EXAMPLE_DIST, "plugins",
                  env=example_env)
    assert result.code == 0 and result.err_lines == [], result


def test_disable_autoload_keeps_only_cnnb_own_plugins(cnnb, make_env, example_plugins_path):
    env = make_env(example_plugins_path, CNNB_DISABLE_PLUGIN_AUTOLOAD="1")
    rows = plugin_rows(cnnb("plugins", "--json", env=env))
    assert BUILTIN_PLUGINS <= set(rows)
    assert {row["distribution"] for row in rows.values()} == {"cnnb"}
    models = json.loads(cnnb("models", "--json", env=env).out)
    assert isinstance(models, list)           # no broken section without the broken plugin
    assert "example_tiny" not in {row["name"] for row in models}


def test_version_lists_third_party_plugins(cnnb, example_env):
    result = cnnb("--version", env=example_env)
    assert result.code == 0, result
    assert result.out_lines[0].startswith("cnnb ")
    assert f"plugin example_broken: {EXAMPLE_DIST} 0.1.0 (BROKEN)" in result.out_lines
    assert f"plugin example_models: {EXAMPLE_DIST} 0.1.0 (ok)" in result.out_lines


def test_python_m_and_console_script_report_the_version(cnnb, make_env):
    result = cnnb("--version")          # python -m cnnb --version
    assert result.code == 0 and result.out_lines == [f"cnnb {__version__}"], result
    script = Path(sys.executable).with_name("cnnb")
    if not script.exists():
        pytest.skip("no console script next to this interpreter")
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True,
                         env=make_env(), timeout=120, check=True).stdout
    assert out.splitlines() == [f"cnnb {__version__}"]


def test_plugin_command_runs_and_is_listed_in_help(cnnb, example_env):
    result = cnnb("example-hello", "tester", env=example_env)
    assert (result.code, result.out) == (0, "hello tester from cnnb_example\n"), result
    assert "example-hello" in cnnb("--help", env=example_env).out
    assert "example-hello" not in cnnb("--help").out


def test_plugin_option_is_part_of_run_help(cnnb, example_env):
    text = " ".join(cnnb("run", "--help", env=example_env).out.split())
    assert "--example_result_file, --example-result-file STR" in text


def test_unknown_command_exits_2(cnnb):
    result = cnnb("modles")
    assert result.code == 2 and len(result.err_lines) == 1, result
    assert "modles" in result.err_lines[0]


def test_unknown_command_suggests_a_close_match(cnnb):
    result = cnnb("modles")
    assert result.code == 2
    assert len(result.err_lines) == 1
    assert "No such command 'modles'" in result.err_lines[0]
    assert "Did you mean: models?" in result.err_lines[0]
