"""``--result_csv`` (cnnb.result_csv) and the environment manifest (cnnb.manifest):
one row per run under one header, never half a row, the checks of --result_json,
and the versions, CPU flags and git revision a number depends on (no secrets)."""

from __future__ import annotations

import csv
import json
import multiprocessing
import subprocess

import pytest

from cnnb import manifest, results
from cnnb.result_csv import COLUMNS, CSV_SCHEMA_VERSION, append_row, header_line


def read_rows(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as source:
        return list(csv.DictReader(source))


@pytest.mark.slow
def test_runs_append_rows_under_one_header(cnnb_batch, tmp_path):
    table, record = tmp_path / "out" / "runs.csv", tmp_path / "run.json"
    link = tmp_path / "link.csv"
    link.symlink_to(table)
    common = ["run", "--model=trivial", "--device=cpu", "--num_batches=3",
              "--num_warmup_batches=1"]
    runs = cnnb_batch([[*common, f"--result_csv={table}", f"--result_json={record}"],
                       [*common, "--batch_size=4", "--print_training_accuracy",
                        f"--result_csv={link}"]])
    assert [run.code for run in runs] == [0, 0], runs
    assert link.is_symlink() and table.read_text().startswith(header_line())
    assert table.read_text().count("schema_version,") == 1
    first, second = read_rows(table)
    assert list(first) == list(COLUMNS)
    assert first["schema_version"] == str(CSV_SCHEMA_VERSION)
    written = results.Result.read(str(record))
    assert float(first["images_per_sec"]) == pytest.approx(written.images_per_sec, rel=1e-8)
    assert [float(t) for t in first["step_times"].split()] == pytest.approx(
        written.measurements["step_times"], rel=1e-8)
    assert first["model"] == "trivial" and first["tensorflow_version"].startswith("2.")
    assert second["batch_size"] == "4" and second["top_1_accuracy"] != ""
    assert "--batch_size=4" in second["flags"] and "--print_training_accuracy" in second["flags"]
    assert first["cpu_flags"] == " ".join(written.environment["cpu_flags"])


def test_bad_targets_are_refused_before_the_run(cnnb_batch, tmp_path):
    foreign = tmp_path / "foreign.csv"
    foreign.write_text("when,what\n2024,x\n")
    runs = cnnb_batch([["run", "--result_csv=/dev/null"], ["run", f"--result_csv={tmp_path}"],
                       ["run", f"--result_csv={foreign}"]])
    for run, words in zip(runs, ("not a regular file", "is a directory", "other columns")):
        assert run.code == 2 and len(run.err_lines) == 1 and words in run.err, run
        assert "TensorFlow:" not in run.out
    assert foreign.read_text() == "when,what\n2024,x\n"


def _fake_result(number: int) -> results.Result:
    return results.Result(
        config=results.config_part({"model": "trivial", "api_token": "s3cret"},
                                   ["model", "api_token"]),
        plan={"model": "trivial", "num_devices": 1, "batch_size": number,
              "global_batch_size": number},
        measurements=results.new_measurements(images_per_sec=float(number), num_steps=2,
                                              step_times=[0.5, 0.25]),
        environment={"cnnb_version": "0.1.0", "git": {"commit": "a" * 40, "dirty": False}})


def _append_many(path: str, first: int, count: int) -> None:
    for number in range(first, first + count):
        append_row(path, _fake_result(number))


def _read_until_done(path: str, done, problems) -> None:
    """Read the file over and over while writers append; any half row is a problem."""
    while not done.is_set():
        try:
            with open(path, newline="", encoding="utf-8") as source:
                text = source.read()
        except FileNotFoundError:
            continue
        if text and (not text.endswith("\n") or
                     any(len(row) != len(COLUMNS) for row in csv.reader(text.splitlines()))):
            problems.put(text[-200:])


def test_concurrent_appends_lose_no_row_and_readers_never_see_half_a_row(tmp_path):
    path = str(tmp_path / "shared.csv")
    context = multiprocessing.get_context("fork")
    done, problems = context.Event(), context.Queue()
    reader = context.Process(target=_read_until_done, args=(path, done, problems))
    reader.start()
    writers = [context.Process(target=_append_many, args=(path, 100 * w, 15)) for w in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
    done.set()
    reader.join(60)
    assert [w.exitcode for w in writers] == [0] * 4 and problems.empty()
    rows = read_rows(path)
    assert sorted(int(row["batch_size"]) for row in rows) == sorted(
        100 * w + n for w in range(4) for n in range(15))
    assert all(row["flags"] == "'--api_token=***' --model=trivial" for row in rows)
    assert "s3cret" not in (tmp_path / "shared.csv").read_text()


def test_cpu_flags_keep_the_vector_extensions(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu vme sse sse2 ssse3 avx avx2 avx512f "
                       "avx512_vnni amx_tile fma hypervisor smep\n\nprocessor\t: 1\n")
    assert manifest.cpu_flags(str(cpuinfo)) == ["amx_tile", "avx", "avx2", "avx512_vnni",
                                                "avx512f", "fma", "sse", "sse2", "ssse3"]
    assert manifest.cpu_flags(str(tmp_path / "absent")) == []


def test_git_revision_of_the_working_directory_and_no_remote(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["remote", "add", "origin", "https://u:tok3n@example.com/r"]):
        subprocess.run([*git, *args], check=True)
    (repo / "f.txt").write_text("1")
    subprocess.run([*git, "add", "f.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert manifest.git_revision(str(repo)) == {"commit": head, "dirty": False}
    (repo / "f.txt").write_text("2")
    found = manifest.git_revision(str(repo / "."))
    assert found == {"commit": head, "dirty": True} and "tok3n" not in json.dumps(found)
    outside = tmp_path / "plain"
    outside.mkdir()
    assert manifest.git_revision(str(outside)) is None
