"""Damaged checkpoints, a full disk and a --train_dir that is a file, through
the real CLI (issue 8): a run resumes from the newest readable checkpoint with
one warning, or stops with one error line (exit 2); it never starts over from
step 0, never deletes the good checkpoints and never leaves ``_temp`` files.

One pristine --train_dir (checkpoints 1, 2 and 3 of a tiny model) is trained
once and copied for each kind of damage; the runs that need no file size
limit share one child process (TensorFlow is imported once).
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys

import pytest

from conftest import CLI_TIMEOUT, CliResult, cli_env

TINY = ["--model=trivial", "--data_name=cifar10", "--batch_size=2", "--num_warmup_batches=0",
        "--display_every=1"]
EVERY_STEP = ["--save_model_steps=1", "--max_ckpts_to_keep=3"]
DATA = ".data-00000-of-00001"
# Below a trivial cifar10 checkpoint's data file (about 200 KB), above its index.
FILE_SIZE_LIMIT = 64 * 1024


def checkpoints_in(train_dir) -> list[int]:
    return sorted(int(p.name[len("model.ckpt-"):-len(".index")])
                  for p in train_dir.glob("model.ckpt-*.index"))


def leftovers(train_dir) -> list[str]:
    return sorted(p.name for p in train_dir.iterdir() if "_temp" in p.name or ".tmp" in p.name)


def listed_in_state_file(train_dir) -> list[str]:
    return [line.split('"')[1] for line in (train_dir / "checkpoint").read_text().splitlines()
            if line.startswith("all_model_checkpoint_paths:")]


def step_lines(result: CliResult) -> list[str]:
    return [line for line in result.out_lines if "images/sec:" in line and "\t" in line]


def flip_bytes(path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(255 - b for b in data[middle:middle + 64])
    path.write_bytes(bytes(data))


# How the newest checkpoint (step 3) of a copy is damaged; each run resumes and trains step 3.
LATEST_DAMAGE = {
    "data_deleted": lambda d: (d / f"model.ckpt-3{DATA}").unlink(),
    "data_truncated": lambda d: os.truncate(d / f"model.ckpt-3{DATA}", 1000),
    "data_garbled": lambda d: flip_bytes(d / f"model.ckpt-3{DATA}"),
    "index_deleted": lambda d: (d / "model.ckpt-3.index").unlink(),
}
# Damage to the state file; the newest checkpoint is fine, so the run resumes from step 3.
STATE_DAMAGE = {
    "state_garbled": lambda d: (d / "checkpoint").write_bytes(b"\x00\xffnot {a state file"),
    "state_deleted": lambda d: (d / "checkpoint").unlink(),
}


def damage_every_checkpoint(train_dir) -> None:
    """The newest one truncated, the others without their data."""
    os.truncate(train_dir / f"model.ckpt-3{DATA}", 1000)
    for step in (1, 2):
        (train_dir / f"model.ckpt-{step}{DATA}").unlink()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, cnnb):
    """A --train_dir holding model.ckpt-1, -2 and -3."""
    train_dir = tmp_path_factory.mktemp("pristine") / "t"
    result = cnnb("run", *TINY, *EVERY_STEP, "--num_batches=3", f"--train_dir={train_dir}")
    assert result.code == 0, result
    assert checkpoints_in(train_dir) == [1, 2, 3]
    return train_dir


def damaged_copy(pristine, root, name, damage):
    copy = root / name
    shutil.copytree(pristine, copy)
    damage(copy)
    return copy


@pytest.fixture(scope="module")
def runs(pristine, tmp_path_factory, cnnb_batch):
    """name -> (train_dir, CliResult) of every run that needs no file size limit."""
    root = tmp_path_factory.mktemp("damaged")
    plan = {}
    for name, damage in LATEST_DAMAGE.items():
        train_dir = damaged_copy(pristine, root, name, damage)
        plan[name] = (train_dir, [*TINY, *EVERY_STEP, "--num_batches=3"])
    for name, damage in STATE_DAMAGE.items():
        train_dir = damaged_copy(pristine, root, name, damage)
        plan[name] = (train_dir, [*TINY, *EVERY_STEP, "--num_batches=4"])
    nothing_readable = damaged_copy(pristine, root, "nothing_readable", damage_every_checkpoint)
    plan["nothing_readable"] = (nothing_readable, [*TINY, *EVERY_STEP, "--num_batches=4"])
    evaluated = damaged_copy(pristine, root, "eval_latest_deleted",
                             LATEST_DAMAGE["data_deleted"])
    plan["eval_latest_deleted"] = (evaluated, [*TINY, "--eval", "--num_eval_batches=1"])
    truncated = damaged_copy(pristine, root, "eval_truncated_path", LATEST_DAMAGE["data_truncated"])
    plan["eval_truncated_path"] = (truncated / "model.ckpt-3", [*TINY, "--eval"])
    plan["eval_nothing_there"] = (root / "empty", [*TINY, "--eval"])
    plan["eval_nothing_there_debug"] = (root / "empty", ["--debug", "run", *TINY, "--eval"])
    (root / "a_file").write_text("not a directory\n")
    plan["train_dir_is_a_file"] = (root / "a_file", [*TINY, "--num_batches=1"])
    plan["train_dir_under_a_file"] = (root / "a_file" / "t", [*TINY, "--num_batches=1"])
    plan["eval_train_dir_is_a_file"] = (root / "a_file", [*TINY, "--eval"])
    command_lines = [(flags if flags[0] == "--debug" else ["run", *flags])
                     + [f"--train_dir={train_dir}"] for train_dir, flags in plan.values()]
    results = cnnb_batch(command_lines)
    return {name: (train_dir, result) for (name, (train_dir, _)), result
            in zip(plan.items(), results)}


def warnings_of(result: CliResult) -> list[str]:
    return [line for line in result.err_lines if line.startswith("warning:")]


#: what every training run adds on stderr after its output (cnnb.engine.peak)
RUN_NOTES = ("model FLOP utilization:", "Measured this machine's")


def problems_of(result: CliResult) -> list[str]:
    """stderr without the notes every run ends with: warnings and errors only."""
    return [line for line in result.err_lines if not line.startswith(RUN_NOTES)]


@pytest.mark.slow
@pytest.mark.parametrize("damage", list(LATEST_DAMAGE))
def test_a_damaged_latest_checkpoint_resumes_from_the_previous_one(runs, pristine, damage):
    train_dir, result = runs[damage]
    assert result.code == 0, result
    assert problems_of(result) == warnings_of(result) and len(warnings_of(result)) == 1, result
    assert f"{train_dir}/model.ckpt-3 is unreadable" in result.err_lines[0]
    assert f"using {train_dir}/model.ckpt-2" in result.err_lines[0]
    assert f"Restored {train_dir}/model.ckpt-2 (global_step 2)" in result.out_lines
    assert len(step_lines(result)) == 1                               # step 3 again, not 1-3
    assert checkpoints_in(train_dir) == [1, 2, 3]                     # the older ones are kept
    for step in (1, 2):
        for suffix in (".index", DATA):
            name = f"model.ckpt-{step}{suffix}"
            assert (train_dir / name).read_bytes() == (pristine / name).read_bytes(), name
    written = train_dir / f"model.ckpt-3{DATA}"
    assert written.stat().st_size == (pristine / f"model.ckpt-3{DATA}").stat().st_size
    assert listed_in_state_file(train_dir) == ["model.ckpt-1", "model.ckpt-2", "model.ckpt-3"]
    assert leftovers(train_dir) == []


@pytest.mark.slow
@pytest.mark.parametrize("damage", list(STATE_DAMAGE))
def test_a_damaged_state_file_resumes_from_the_newest_checkpoint_and_keeps_rotating(runs,
                                                                                  damage):
    train_dir, result = runs[damage]
    assert result.code == 0, result
    assert len(problems_of(result)) == 1 and result.err_lines[0].startswith("warning: "), result
    assert "the state file" in result.err_lines[0]
    assert f"Restored {train_dir}/model.ckpt-3 (global_step 3)" in result.out_lines
    assert len(step_lines(result)) == 1
    # The rebuilt state file knew 1, 2 and 3, so saving 4 dropped only the oldest.
    assert checkpoints_in(train_dir) == [2, 3, 4]
    assert listed_in_state_file(train_dir) == ["model.ckpt-2", "model.ckpt-3", "model.ckpt-4"]


@pytest.mark.slow
def test_no_readable_checkpoint_stops_in_one_line_and_deletes_nothing(runs, pristine):
    train_dir, result = runs["nothing_readable"]
    assert result.code == 2 and len(result.err_lines) == 1, result
    assert result.err_lines[0].startswith(f"Error: no readable checkpoint in "
                                          f"--train_dir={train_dir}")
    assert "Traceback" not in result.err and not step_lines(result)
    assert checkpoints_in(train_dir) == [1, 2, 3]
    assert (train_dir / f"model.ckpt-3{DATA}").stat().st_size == 1000
    assert (train_dir / "checkpoint").read_bytes() == (pristine / "checkpoint").read_bytes()


@pytest.mark.slow
def test_eval_skips_a_damaged_latest_checkpoint_and_says_the_data_is_synthetic(runs):
    train_dir, result = runs["eval_latest_deleted"]
    assert result.code == 0, result
    assert len(warnings_of(result)) == 1 and f"using {train_dir}/model.ckpt-2" in result.err
    assert f"Evaluating {train_dir}/model.ckpt-2 (global_step 2)" in result.out_lines
    notes = [line for line in result.out_lines if line.startswith("Note: no --data_dir")]
    assert len(notes) == 1 and "accuracy means nothing" in notes[0], result
    assert any(line.startswith("Accuracy @ 1 = ") for line in result.out_lines)


@pytest.mark.slow
def test_eval_of_a_truncated_checkpoint_path_is_one_line(runs):
    path, result = runs["eval_truncated_path"]
    assert result.code == 2 and len(result.err_lines) == 1, result
    assert result.err_lines[0].startswith(f"Error: checkpoint {path} cannot be read")


@pytest.mark.slow
def test_eval_without_a_checkpoint_exits_2_in_one_line(runs):
    train_dir, result = runs["eval_nothing_there"]
    assert result.code == 2 and len(result.err_lines) == 1, result
    assert result.err_lines[0].startswith(f"Error: Checkpoint not found in {train_dir}")
    assert not any(line.startswith("Accuracy @ 1") for line in result.out_lines)


@pytest.mark.slow
def test_debug_shows_the_traceback_of_a_checkpoint_error(runs):
    _, result = runs["eval_nothing_there_debug"]
    assert result.code != 0 and "Traceback" in result.err, result
    assert "CheckpointError: Checkpoint not found" in result.err


@pytest.mark.slow
@pytest.mark.parametrize("name", ["train_dir_is_a_file", "train_dir_under_a_file",
                                  "eval_train_dir_is_a_file"])
def test_a_train_dir_that_is_a_file_is_one_line_before_training(runs, name):
    train_dir, result = runs[name]
    assert result.code == 2 and len(result.err_lines) == 1, result
    assert "is a file, not a directory" in result.err_lines[0]
    assert "Generating" not in result.out
    a_file = train_dir if train_dir.name == "a_file" else train_dir.parent
    assert a_file.read_text() == "not a directory\n"


def limit_file_size() -> None:
    """In the child: writes past FILE_SIZE_LIMIT fail with EFBIG (no SIGXFSZ kill),
    as writes do on a full disk."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


def cnnb_with_a_small_disk(*args: str) -> CliResult:
    proc = subprocess.run([sys.executable, "-m", "cnnb", *args], capture_output=True, text=True,
                          env=cli_env(), timeout=CLI_TIMEOUT, check=False,
                          preexec_fn=limit_file_size)
    return CliResult(tuple(args), proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.slow
def test_a_full_disk_while_saving_keeps_the_checkpoints_there(pristine, tmp_path):
    train_dir = tmp_path / "t"
    shutil.copytree(pristine, train_dir)
    result = cnnb_with_a_small_disk("run", *TINY, *EVERY_STEP, "--num_batches=4",
                                    f"--train_dir={train_dir}")
    assert result.code == 2 and len(result.err_lines) == 1, result
    assert result.err_lines[0].startswith(
        f"Error: cannot save checkpoint to {train_dir}: disk full (")
    assert f"Restored {train_dir}/model.ckpt-3 (global_step 3)" in result.out_lines
    assert checkpoints_in(train_dir) == [1, 2, 3] and leftovers(train_dir) == []
    assert sorted(p.name for p in train_dir.iterdir()) == sorted(
        p.name for p in pristine.iterdir())
    assert (train_dir / "checkpoint").read_bytes() == (pristine / "checkpoint").read_bytes()


@pytest.mark.slow
def test_a_full_disk_on_the_first_save_leaves_no_partial_files(tmp_path):
    train_dir = tmp_path / "t"
    result = cnnb_with_a_small_disk("run", *TINY, "--num_batches=1", f"--train_dir={train_dir}")
    assert result.code == 2 and len(result.err_lines) == 1, result
    assert "Traceback" not in result.err
    assert result.err_lines[0].startswith(
        f"Error: cannot save checkpoint to {train_dir}: disk full (")
    assert not train_dir.exists() or sorted(p.name for p in train_dir.iterdir()) == []
