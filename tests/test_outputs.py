"""Result files never lose, replace or leak anything (cnnb.outputs, issue 8).

Everything runs on real files, device nodes, FIFOs and sockets: permission
failures run in a child without root rights, a full disk is a child whose
file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) makes writes fail with EFBIG or
whose stdout is /dev/full, and the command-line points run the real ``cnnb``.
What a record may contain (no secrets) is tested in test_result_schema.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from cnnb.errors import CnnbError, ConfigError, OutputError
from cnnb.outputs import check_output_target, write_json, write_text_atomic

from conftest import CLI_TIMEOUT, CliResult, cli_env

NODE_KINDS = ["/dev/full", "/dev/null", "fifo", "directory", "socket", "link to /dev/full",
              "below a file"]
SECRET_VALUE = "s3cr3t-value-7f1c"     # a string that appears nowhere else in a record
TRIVIAL_RUN = ["run", "--model=trivial", "--num_batches=2", "--num_warmup_batches=0"]


def leftovers(directory: Path, keep: set[str]) -> list[str]:
    """Files in ``directory`` other than ``keep`` (temporary files left behind)."""
    return sorted(set(os.listdir(directory)) - keep)


def kind_of(path: str) -> str:
    mode = os.lstat(path).st_mode
    return next(name for test, name in [(stat.S_ISCHR, "chr"), (stat.S_ISFIFO, "fifo"),
                                        (stat.S_ISDIR, "dir"), (stat.S_ISSOCK, "sock"),
                                        (stat.S_ISLNK, "link"), (stat.S_ISREG, "file")]
                if test(mode))


@pytest.fixture
def nodes():
    """``nodes(kind) -> path``: a real object the result file must never replace.

    Made in a short directory under /tmp (a socket path must stay under 108 bytes).
    """
    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cnnb-")))

        def make(kind: str) -> str:
            if kind.startswith("/dev/"):
                return kind
            path = root / kind.replace(" ", "_").replace("/", "_")
            if kind == "fifo":
                os.mkfifo(path)
            elif kind == "directory":
                path.mkdir()
            elif kind == "socket":
                server = stack.enter_context(socket.socket(socket.AF_UNIX))
                server.bind(str(path))
            elif kind == "link to /dev/full":
                path.symlink_to("/dev/full")
            elif kind == "below a file":
                path.write_text("a file, not a folder\n")
                return str(path / "result.json")
            return str(path)
        make.root = root
        yield make


@pytest.fixture
def umask():
    """``umask(mask)`` sets this process's umask for one test; restored afterwards."""
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


# --- check_output_target: before the run --------------------------------------------

@pytest.mark.parametrize("path", [None, "", "-"])
def test_check_accepts_no_output_and_stdout(path):
    check_output_target(path)


def test_check_accepts_a_new_file_in_missing_folders_without_creating_them(tmp_path):
    check_output_target(str(tmp_path / "a" / "b" / "result.json"))
    assert not (tmp_path / "a").exists()


def test_check_accepts_existing_files_and_links_to_them(tmp_path):
    (tmp_path / "old.json").write_text("{}\n")
    (tmp_path / "link.json").symlink_to("old.json")
    (tmp_path / "dangling.json").symlink_to("missing/new.json")
    for name in ("old.json", "link.json", "dangling.json"):
        check_output_target(str(tmp_path / name))


@pytest.mark.parametrize("kind", NODE_KINDS)
def test_check_refuses_what_is_not_a_regular_file(nodes, kind):
    path = nodes(kind)
    before = kind_of(path if kind != "below a file" else os.path.dirname(path))
    with pytest.raises(ConfigError) as refused:
        check_output_target(path, flag="--some_output")
    message = str(refused.value)
    assert message.startswith("--some_output: ") and "\n" not in message
    expected = {"directory": "is a directory", "fifo": "named pipe", "socket": "a socket",
                "below a file": "is not a directory"}.get(kind, "a character device")
    assert expected in message
    assert "choose another path" in message or "give the path of a" in message
    assert kind_of(path if kind != "below a file" else os.path.dirname(path)) == before


# --- write_text_atomic / write_json -------------------------------------------------

@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_the_mode_the_umask_asks_for(tmp_path, umask, mask, mode):
    umask(mask)
    write_json(str(tmp_path / "new" / "result.json"), {"b": 2, "a": [1.5]})
    written = tmp_path / "new" / "result.json"
    assert stat.S_IMODE(written.stat().st_mode) == mode
    assert written.read_text() == '{\n  "a": [\n    1.5\n  ],\n  "b": 2\n}\n'
    assert leftovers(tmp_path / "new", {"result.json"}) == []


def test_an_existing_file_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "result.json"
    target.write_text("old\n")
    target.chmod(0o640)
    write_text_atomic(str(target), "new\n")
    assert target.read_text() == "new\n" and stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "links").mkdir()
    real = tmp_path / "real" / "result.json"
    real.write_text("old\n")
    real.chmod(0o600)
    link = tmp_path / "links" / "result.json"
    link.symlink_to("../real/result.json")
    write_json(str(link), {"images_per_sec": 1.0})
    assert link.is_symlink() and os.readlink(link) == "../real/result.json"
    assert json.loads(real.read_text()) == {"images_per_sec": 1.0}
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert leftovers(tmp_path / "real", {"result.json"}) == []
    assert leftovers(tmp_path / "links", {"result.json"}) == []


def test_a_dangling_symlink_gets_its_target_created(tmp_path):
    link = tmp_path / "result.json"
    link.symlink_to("out/real.json")
    write_text_atomic(str(link), "new\n")
    assert link.is_symlink() and (tmp_path / "out" / "real.json").read_text() == "new\n"


def test_dash_writes_to_stdout(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_json("-", {"a": 1})
    assert capsys.readouterr().out == '{\n  "a": 1\n}\n'
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("kind", NODE_KINDS)
def test_the_writer_refuses_what_is_not_a_regular_file(nodes, kind):
    path = nodes(kind)
    parent = os.path.dirname(path)
    before = kind_of(path if kind != "below a file" else parent)
    with pytest.raises(OutputError) as refused:
        write_text_atomic(path, "x\n")
    assert "\n" not in str(refused.value)
    assert kind_of(path if kind != "below a file" else parent) == before
    assert not [name for name in os.listdir(nodes.root) if name.startswith(".cnnb-")]


FILE_SIZE_LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # writes past the limit fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
from cnnb.errors import OutputError
from cnnb.outputs import write_json
try:
    write_json(sys.argv[1], {"step_times": [0.125] * 20000})
    print("written")
except OutputError as error:
    print("OutputError:", error)
"""


def test_a_full_disk_leaves_the_old_file_and_no_temporary_file(tmp_path, python_child):
    target = tmp_path / "result.json"
    target.write_text("old\n")
    lines = python_child(FILE_SIZE_LIMITED, str(target)).stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("OutputError: could not write "), lines
    assert "file-size limit" in lines[0] and "unchanged" in lines[0]
    assert target.read_text() == "old\n"
    assert leftovers(tmp_path, {"result.json"}) == []


STDOUT_WRITE = """
import sys
from cnnb.errors import OutputError
from cnnb.outputs import write_json
try:
    write_json("-", {"a": 1})
    print("written", file=sys.stderr)
except OutputError as error:
    print("OutputError:", error, file=sys.stderr)
"""


def test_a_full_stdout_is_a_one_line_error():
    with open("/dev/full", "w", encoding="utf-8") as full:
        proc = subprocess.run([sys.executable, "-c", STDOUT_WRITE], stdout=full, text=True,
                              stderr=subprocess.PIPE, env=cli_env(), timeout=CLI_TIMEOUT)
    first = proc.stderr.splitlines()[0]
    assert first == ("OutputError: could not write the result to standard output: the disk is "
                     "full: free space on it or choose another path"), proc.stderr


def _attempts_without_root(paths: list[str]) -> list[str]:
    """For each path: what checking it, then writing it, gives to a user for whom
    permission bits hold (root ignores them), as ``"accepted"`` or ``"<Error> <message>"``.

    A forked child (not a new interpreter: the one running the tests may sit in a
    folder 'nobody' cannot enter) drops to uid/gid 65534 and reports through a pipe.
    """
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:      # pragma: no cover - the child reports through the pipe
        os.close(reader)
        code = 0
        try:
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            with os.fdopen(writer, "w", encoding="utf-8") as report:
                json.dump([_attempt(how, path) for path in paths for how in ("check", "write")],
                          report)
        except BaseException:   # the parent sees the exit status, never a second pytest
            code = 1
        os._exit(code)
    os.close(writer)
    with os.fdopen(reader, encoding="utf-8") as report:
        text = report.read()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and text, "the unprivileged child failed"
    return json.loads(text)


def _attempt(how: str, path: str) -> str:
    try:
        if how == "check":
            check_output_target(path)
        else:
            write_text_atomic(path, "new")
        return "accepted"
    except CnnbError as error:
        return f"{type(error).__name__} {error}"


def test_permissions_are_checked_before_and_refused_while_writing():
    root = Path(tempfile.mkdtemp(prefix="cnnb-perm-"))   # 'nobody' must reach it
    try:
        root.chmod(0o755)
        (root / "locked").mkdir(mode=0o555)
        (root / "open").mkdir()
        (root / "open").chmod(0o777)
        readonly = root / "open" / "readonly.json"
        readonly.write_text("old\n")
        readonly.chmod(0o444)
        targets = [root / "locked" / "r.json", root / "locked" / "sub" / "r.json", readonly]
        lines = _attempts_without_root([str(target) for target in targets])
        assert len(lines) == 6, lines
        for line in lines[0:4:2]:
            assert line.startswith("ConfigError --result_json: cannot create files in ")
            assert "permission denied" in line
        for line in lines[1:4:2]:
            assert line.startswith("OutputError could not write ") and "permission denied" in line
        assert lines[4].startswith("ConfigError") and "is read-only" in lines[4]
        assert lines[5].startswith("OutputError not writing the file") and "read-only" in lines[5]
        assert readonly.read_text() == "old\n" and os.listdir(root / "locked") == []
        assert sorted(os.listdir(root / "open")) == ["readonly.json"]
    finally:
        (root / "locked").chmod(0o755)
        shutil.rmtree(root)


# --- the command line ---------------------------------------------------------------

REFUSALS_THEN_TF_CHECK = """
import contextlib, io, json, sys
from cnnb.cli import main
rows = []
for target in sys.argv[1:]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(["run", "--model=trivial", "--num_batches=2", "--result_json=" + target])
            code = 0
        except SystemExit as stop:
            code = stop.code
    rows.append([code, out.getvalue(), err.getvalue()])
print(json.dumps({"rows": rows, "tf": [m for m in sys.modules if m.startswith("tensorflow")]}))
"""


def test_cli_refuses_bad_targets_in_one_line_before_tensorflow(nodes, python_child):
    paths = [nodes(kind) for kind in NODE_KINDS]
    kinds = [kind_of(p if not p.endswith("result.json") else os.path.dirname(p)) for p in paths]
    report = json.loads(python_child(REFUSALS_THEN_TF_CHECK, *paths).stdout.splitlines()[-1])
    for path, (code, out, err) in zip(paths, report["rows"]):
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 2 and out == "", (path, code, out, err)
        assert len(lines) == 1 and lines[0].startswith("Error: --result_json: "), err
    assert report["tf"] == [], "checking --result_json imported TensorFlow"
    assert kinds == [kind_of(p if not p.endswith("result.json") else os.path.dirname(p))
                     for p in paths]


def test_cli_leaves_dev_full_a_device(cnnb):
    result = cnnb(*TRIVIAL_RUN, "--result_json=/dev/full")
    assert result.code == 2 and "Running warm up" not in result.out, result
    assert result.err_lines == [result.err_lines[0]] and "character device" in result.err
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


@pytest.fixture(scope="module")
def cli_runs(cnnb_batch, tmp_path_factory):
    """Three real runs in one child (TensorFlow loads once), under umask 022 and with
    secrets in the environment: a new file, a symlinked file and stdout."""
    root = tmp_path_factory.mktemp("cli")
    (root / "real").mkdir()
    (root / "real" / "target.json").write_text("old\n")
    (root / "link.json").symlink_to("real/target.json")
    env = cli_env(TF_VAR_x=SECRET_VALUE, CNNB_API_TOKEN=SECRET_VALUE)
    previous = os.umask(0o022)
    try:
        runs = cnnb_batch([[*TRIVIAL_RUN, f"--result_json={root}/out/new.json"],
                           [*TRIVIAL_RUN, f"--result_json={root}/link.json"],
                           [*TRIVIAL_RUN, "--result_json=-"]], env=env)
    finally:
        os.umask(previous)
    for run in runs:
        assert run.code == 0, run
    return root, runs


@pytest.mark.slow
def test_cli_new_result_has_mode_0644_and_no_secret(cli_runs):
    root, _ = cli_runs
    new = root / "out" / "new.json"
    assert stat.S_IMODE(new.stat().st_mode) == 0o644
    text = new.read_text()
    assert SECRET_VALUE not in text
    assert json.loads(text)["environment"]["env_vars"]["TF_ENABLE_ONEDNN_OPTS"] == "1"
    assert os.listdir(root / "out") == ["new.json"]


@pytest.mark.slow
def test_cli_writes_through_a_symlink(cli_runs):
    root, _ = cli_runs
    assert (root / "link.json").is_symlink()
    assert json.loads((root / "real" / "target.json").read_text())["measurements"]["num_steps"] == 2
    assert os.listdir(root / "real") == ["target.json"]


@pytest.mark.slow
def test_cli_dash_prints_the_record_after_the_run(cli_runs):
    out = cli_runs[1][2].out
    total = out.index("total images/sec:")
    record = json.loads(out[out.index("\n{", total) + 1:])
    assert record["measurements"]["num_steps"] == 2 and record["plan"]["model"] == "trivial"


def _file_size_limit() -> None:
    """In the child: files may not grow past 2 KiB, and hitting that is an error (EFBIG),
    not a signal that kills the process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))


@pytest.mark.slow
def test_cli_full_disk_is_one_line_and_keeps_the_old_result(tmp_path):
    target = tmp_path / "result.json"
    target.write_text("old\n")
    args = [*TRIVIAL_RUN, f"--result_json={target}"]
    proc = subprocess.run([sys.executable, "-m", "cnnb", *args], capture_output=True, text=True,
                          env=cli_env(), preexec_fn=_file_size_limit, timeout=CLI_TIMEOUT)
    result = CliResult(tuple(args), proc.returncode, proc.stdout, proc.stderr)
    assert result.code == 2 and "total images/sec:" in result.out, result
    assert result.err_lines[-1].startswith(f"Error: could not write {target}: the file-size "
                                           "limit was reached"), result
    assert "Traceback" not in result.err
    assert target.read_text() == "old\n" and os.listdir(tmp_path) == ["result.json"]
