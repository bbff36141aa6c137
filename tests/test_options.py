"""The option table and ``cnnb run``'s parsing of it.

Parsing is checked in-process on the real click command (no TensorFlow);
the error paths through the real CLI in child processes: exit status 2 and a
single ``Error:`` line on stderr, no traceback.
"""

from __future__ import annotations

import click
import pytest

from cnnb.cli import cli
from cnnb.cli.run import make_run_command
from cnnb.cli.session import Session
from cnnb.config import build_config
from cnnb.errors import ConfigError
from cnnb.option_table import ALL_OPTIONS
from cnnb.options import (
    ACTIVE,
    NO_TF2,
    PLANNED,
    Option,
    machine_default_help,
    nvidia_gpu_visible,
    parse_bool,
)

NO_TF2_OPTIONS = [o for o in ALL_OPTIONS if o.status == NO_TF2]
PLANNED_OPTIONS = [o for o in ALL_OPTIONS if o.status == PLANNED]


@pytest.fixture(scope="module")
def run_command() -> click.Command:
    return make_run_command(click.Context(cli, obj=Session()))


def parse(command: click.Command, *args: str) -> dict:
    """The flags ``cnnb run ARGS`` hands to build_config: those the user set."""
    ctx = command.make_context("run", list(args))
    return {name: value for name, value in ctx.params.items()
            if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT}


def non_default(option: Option):
    """A value that passes the option's own checks but differs from its default."""
    if option.choices:
        return next(c for c in option.choices if c != option.default)
    if option.type is bool:
        return not option.default
    if option.type is str:
        return "something"
    return option.type((option.default or 0) + 1)


def one_error_line(result) -> str:
    assert result.code == 2, result
    assert len(result.err_lines) == 1, result
    assert result.err_lines[0].startswith("Error: ") and "Traceback" not in result.err
    return result.err_lines[0]


# -- the table ----------------------------------------------------------------------------

def test_option_names_are_unique_snake_case_and_statuses_known():
    names = [option.name for option in ALL_OPTIONS]
    assert len(names) == len(set(names))
    assert all(name == name.lower() and "-" not in name for name in names)
    assert {option.status for option in ALL_OPTIONS} == {ACTIVE, NO_TF2, PLANNED}


def test_every_default_passes_its_own_checks():
    for option in ALL_OPTIONS:
        assert option.check(option.default) == option.default, option.name


def test_predecessor_defaults_are_kept():
    config = build_config({}, ALL_OPTIONS)
    assert (config.model, config.batch_size, config.optimizer, config.variable_update,
            config.weight_decay, config.rmsprop_epsilon, config.display_every) == \
        ("trivial", 0, "sgd", "parameter_server", 0.00004, 1.0, 10)


@pytest.mark.parametrize("text, value", [("true", True), ("False", False), ("1", True),
                                         ("no", False), ("maybe", None)])
def test_parse_bool(text, value):
    assert parse_bool(text) is value


# -- parsing --------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["--batch_size=4"], ["--batch_size", "4"], ["--batch-size", "4"],
                                  ["--batch-size=4"]])
def test_value_flags_accept_both_spellings_and_kebab_aliases(run_command, args):
    assert parse(run_command, *args) == {"batch_size": 4}


@pytest.mark.parametrize("args, value", [
    (["--forward_only"], True), (["--noforward_only"], False),
    (["--forward-only"], True), (["--no-forward-only"], False),
    (["--forward_only=true"], True), (["--forward_only=false"], False),
    (["--forward-only=False"], False), (["--forward_only=1"], True),
])
def test_boolean_flags_in_every_predecessor_spelling(run_command, args, value):
    assert parse(run_command, *args) == {"forward_only": value}


def test_unset_flags_are_not_explicit(run_command):
    assert parse(run_command) == {}
    assert parse(run_command, "--model", "lenet", "--num_batches=3") == \
        {"model": "lenet", "num_batches": 3}


def test_boolean_flag_with_a_non_boolean_value_is_an_error(run_command):
    with pytest.raises(ConfigError, match="--forward_only=maybe"):
        parse(run_command, "--forward_only=maybe")


def test_enum_values_are_normalized(run_command):
    config = build_config(parse(run_command, "--device", "CPU", "--data_format=nhwc"),
                          ALL_OPTIONS)
    assert (config.device, config.data_format) == ("cpu", "NHWC")


# -- enum, bound and status checks -----------------------------------------------------------

def test_enum_error_lists_the_choices():
    with pytest.raises(ConfigError, match="choose one of: sgd, momentum, rmsprop, adam"):
        build_config({"optimizer": "adagrad"}, ALL_OPTIONS)


@pytest.mark.parametrize("flags, suggestion", [
    ({"optimizer": "adm"}, "Did you mean: adam?"),
    ({"optimizer": "momentun"}, "Did you mean: momentum?"),
    ({"device": "gpux"}, "Did you mean: gpu?"),
])
def test_enum_error_suggests_close_choices(flags, suggestion):
    with pytest.raises(ConfigError, match="choose one of") as caught:
        build_config(flags, ALL_OPTIONS)
    assert suggestion in str(caught.value) and "\n" not in str(caught.value)


def test_enum_error_without_a_close_choice_suggests_nothing():
    with pytest.raises(ConfigError) as caught:
        build_config({"optimizer": "lbfgs"}, ALL_OPTIONS)
    assert "Did you mean" not in str(caught.value)


@pytest.mark.parametrize("flags, word", [({"num_batches": 0}, "too small"),
                                         ({"batch_size": -1}, "too small"),
                                         ({"display_perf_ewma": 1.5}, "too large")])
def test_bound_errors_name_the_flag_and_the_limit(flags, word):
    (name, value), = flags.items()
    with pytest.raises(ConfigError, match=f"--{name}={value} is {word}"):
        build_config(flags, ALL_OPTIONS)


@pytest.mark.parametrize("option", PLANNED_OPTIONS, ids=lambda o: o.name)
def test_planned_flags_are_rejected_with_a_clear_message(option):
    with pytest.raises(ConfigError, match=f"--{option.name} is not available in cnnb yet") \
            as caught:
        build_config({option.name: non_default(option)}, ALL_OPTIONS)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("option", NO_TF2_OPTIONS, ids=lambda o: o.name)
def test_no_tf2_flags_are_accepted_with_a_one_line_warning(option):
    config = build_config({option.name: non_default(option)}, ALL_OPTIONS)
    assert len(config.warnings) == 1
    warning = config.warnings[0]
    assert warning.startswith(f"warning: --{option.name} ") and "\n" not in warning


def test_no_tf2_flag_at_its_default_needs_no_warning():
    assert build_config({"use_tf_layers": True}, ALL_OPTIONS).warnings == ()


# -- through the real CLI ---------------------------------------------------------------------

def cli_flag(option: Option) -> str:
    value = non_default(option)
    if option.type is bool:
        return f"--{option.name}" if value else f"--no{option.name}"
    return f"--{option.name}={value}"


@pytest.mark.skipif(not PLANNED_OPTIONS, reason="every flag is implemented")
def test_planned_flag_exits_2_with_one_line(cnnb):
    option = PLANNED_OPTIONS[0]
    line = one_error_line(cnnb("run", cli_flag(option)))
    assert f"--{option.name} is not available in cnnb yet" in line


def test_unknown_option_exits_2_with_a_suggestion(cnnb):
    line = one_error_line(cnnb("run", "--batch_sise=4"))
    assert "--batch_sise" in line and "--batch_size" in line and "Did you mean" in line


@pytest.mark.parametrize("args, needle", [
    (["--optimizer=adagrad"], "choose one of: sgd, momentum, rmsprop, adam"),
    (["--optimizer=rmsprp"], "choose one of: sgd, momentum, rmsprop, adam. Did you mean: rmsprop?"),
    (["--num_batches=0"], "--num_batches=0 is too small"),
    (["--display_perf_ewma=2"], "is too large"),
    (["--batch_size=four"], "four"),
    (["--forward_only=maybe"], "expected true or false"),
    (["positional"], "positional"),
])
def test_bad_values_exit_2_with_one_line(cnnb, args, needle):
    assert needle in one_error_line(cnnb("run", *args))


@pytest.mark.slow        # probing for a GPU imports TensorFlow
def test_nchw_alone_is_rejected_because_the_device_defaults_to_cpu(cnnb):
    # No GPU here (tensorflow-cpu): --device falls back to cpu, and the explicit
    # --data_format=NCHW is kept rather than silently replaced.
    assert "NCHW" in one_error_line(cnnb("run", "--data_format=NCHW"))


def test_run_help_lists_active_flags_and_hides_the_others(cnnb):
    result = cnnb("run", "--help")
    assert result.code == 0, result
    text = " ".join(result.out.split())       # undo click's line wrapping
    assert "--batch_size, --batch-size INT" in text
    assert "--forward_only, --forward-only / --noforward_only, --no-forward-only" in text
    assert "(default: trivial)" in text
    for option in PLANNED_OPTIONS[:1] + NO_TF2_OPTIONS[:1]:
        assert f"--{option.name} " not in text and f"--{option.name}," not in text
    assert "[default: (" not in text          # the option name passed as show_default


# -- defaults fitted to the machine, in help -----------------------------------------------

def test_run_help_shows_the_defaults_of_a_machine_without_gpu(cnnb, make_env):
    # CUDA_VISIBLE_DEVICES='' hides every GPU, so the expected text holds on any machine.
    result = cnnb("run", "--help", env=make_env(CUDA_VISIBLE_DEVICES=""))
    assert result.code == 0, result
    text = " ".join(result.out.split())
    assert "[cpu|gpu] (default here: cpu; gpu where one is visible)" in text
    assert "[NHWC|NCHW] (default here: NHWC; NCHW on a GPU)" in text
    assert "(default: NCHW)" not in text
    assert "(default here: cpu; gpu where one is visible) --data_format" in text


@pytest.mark.parametrize("gpu, device, data_format", [(False, "cpu", "NHWC"),
                                                      (True, "gpu", "NCHW")])
def test_machine_default_help_follows_the_gpu_probe(gpu, device, data_format):
    table = {option.name: option for option in ALL_OPTIONS}
    assert machine_default_help(table["device"], lambda: gpu).startswith(
        f"(default here: {device};")
    assert machine_default_help(table["data_format"], lambda: gpu).startswith(
        f"(default here: {data_format};")
    assert machine_default_help(table["batch_size"], lambda: 1 / 0) is None   # never asked


@pytest.mark.parametrize("nodes, environ, visible", [
    ([], {}, False),
    (["nvidiactl", "nvidia-uvm"], {}, False),             # driver loaded, no GPU node
    (["nvidia0"], {}, True),
    (["nvidia0", "nvidia1"], {"CUDA_VISIBLE_DEVICES": "1"}, True),
    (["nvidia0"], {"CUDA_VISIBLE_DEVICES": ""}, False),
    (["nvidia0"], {"CUDA_VISIBLE_DEVICES": "-1"}, False),
])
def test_nvidia_gpu_probe_reads_device_nodes_and_cuda_visible_devices(tmp_path, nodes, environ,
                                                                      visible):
    for name in nodes:
        (tmp_path / name).touch()
    assert nvidia_gpu_visible(environ, str(tmp_path), str(tmp_path / "no-driver")) is visible


def test_nvidia_gpu_probe_reads_the_driver_gpu_list(tmp_path):
    driver = tmp_path / "gpus"
    driver.mkdir()
    assert not nvidia_gpu_visible({}, str(tmp_path), str(driver))
    (driver / "0000:01:00.0").mkdir()
    assert nvidia_gpu_visible({}, str(tmp_path), str(driver))
