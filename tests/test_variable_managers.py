"""Variable managers: the predecessor's variable-update check (VariableUpdateTest)
through the real CLI, and their placement, copies and savable variables.

The check model is x*A*B with A=1, B=2 on inputs x = -1..14 taken in order,
2 per device per step, plain SGD with learning rate and weight decay 2^-4,
no warm-up. The predecessor's printed losses are the spec numbers below."""

from __future__ import annotations

import pytest

from multidevice_helpers import child_code, install_test_plugins, printed_losses, simulate_losses

PS_LOSSES = [1.15625, 8.3856377602, 5.5322618729, -9.5854835149]
REPLICATED_LOSSES = [1.15625, 7.6387424469, -2.5969498412, -35.2715042346]


@pytest.fixture(scope="module")
def plugins_env(tmp_path_factory, make_env):
    return make_env(install_test_plugins(tmp_path_factory))


def _check_run(data_dir, variable_update, num_gpus=2, *extra):
    return ["run", "--model=test_model", "--data_name=test_data", f"--data_dir={data_dir}",
            "--device=cpu", f"--num_gpus={num_gpus}", "--batch_size=2", "--num_batches=4",
            "--num_warmup_batches=0", "--optimizer=sgd", "--init_learning_rate=0.0625",
            "--weight_decay=0.0625", f"--variable_update={variable_update}", *extra]


def test_simulation_reproduces_the_predecessors_numbers():
    assert simulate_losses("parameter_server", 2, 2, 4) == pytest.approx(PS_LOSSES, rel=1e-9)
    assert simulate_losses("replicated", 2, 2, 4) == pytest.approx(REPLICATED_LOSSES, rel=1e-9)


@pytest.mark.slow
def test_variable_update_losses_match_the_predecessor(cnnb_batch, plugins_env, tmp_path):
    """parameter_server (mean of the tower gradients) and replicated (their sum)
    print the predecessor's losses, whatever the all-reduce or parameter device;
    independent and 4 devices match the closed form."""
    cases = [         # 4 devices first: one process makes its logical CPUs only once
        (_check_run(tmp_path, "replicated", 4, "--all_reduce_spec=xring#2"),
         simulate_losses("replicated", 4, 2, 4)),
        (_check_run(tmp_path, "parameter_server", 4), simulate_losses("parameter_server", 4, 2, 4)),
        (_check_run(tmp_path, "parameter_server"), PS_LOSSES),
        (_check_run(tmp_path, "parameter_server", 2, "--local_parameter_device=cpu"), PS_LOSSES),
        (_check_run(tmp_path, "replicated"), REPLICATED_LOSSES),
        (_check_run(tmp_path, "replicated", 2, "--all_reduce_spec=xring"), REPLICATED_LOSSES),
        (_check_run(tmp_path, "replicated", 2, "--all_reduce_spec=pscpu"), REPLICATED_LOSSES),
        (_check_run(tmp_path, "replicated", 2, "--all_reduce_spec=collective"),
         REPLICATED_LOSSES),
        (_check_run(tmp_path, "replicated", 2, "--all_reduce_spec=psgpu",
                    "--gradient_repacking=2"), REPLICATED_LOSSES),
        (_check_run(tmp_path, "independent"), simulate_losses("independent", 2, 2, 4)),
        # a third party's manager (tests/plugins/acme_manager): copies + averaged gradients
        (_check_run(tmp_path, "acme_mirror"), PS_LOSSES),
    ]
    results = cnnb_batch([args for args, _ in cases], env=plugins_env)
    for (args, expected), result in zip(cases, results):
        assert result.code == 0, result
        assert printed_losses(result.out) == pytest.approx(expected, rel=1e-5), result
        assert f"{expected[0]:.3f}" in result.out          # the predecessor's step line


@pytest.mark.slow
def test_placement_copies_savable_variables_and_batch_norm_statistics(python_child):
    """parameter_server spreads its one copy over the devices (or keeps it on the
    CPU); replicated copies start and stay equal; every mode saves the same
    names as a single device; only tower 0 updates batch-norm statistics."""
    python_child(child_code("check_managers"))
