"""Progress displays (cnnb.progress): shown on a terminal only; piped output is the
predecessor's lines, byte for byte, so log parsers keep working."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys

import pytest

from cnnb import progress

RUN = ["run", "--model=trivial", "--device=cpu", "--num_batches=4", "--num_warmup_batches=2",
       "--display_every=2"]
_FLOAT = r"\d+\.\d+"
_STEP = rf"images/sec: {_FLOAT} \+/- {_FLOAT} \(jitter = {_FLOAT}\)\t{_FLOAT}"
#: Every stdout line of RUN, in order: the predecessor's formats, nothing else.
PREDECESSOR_LINES = [
    r"TensorFlow:  2\.\d+\.\d+", "Model:       trivial", r"Dataset:     imagenet \(synthetic\)",
    "Mode:        training", "SingleSess:  False", "Batch size:  32 global",
    "             32 per device", "Num batches: 4", "Num epochs:  0.00",
    r"Devices:     \['/cpu:0'\]", "NUMA bind:   False", "Data format: NHWC",
    "Optimizer:   sgd", "Variables:   parameter_server", "==========",
    "Generating training model", "Initializing graph", "Running warm up", "Done warm up",
    "Step\tImg/sec\ttotal_loss", rf"1\t{_STEP}", rf"2\t{_STEP}", rf"4\t{_STEP}", "-" * 64,
    rf"total images/sec: {_FLOAT}", "-" * 64,
]
_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_TERMINAL_TOKEN = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])|\r|\n|[^\x1b\r\n]+")


def screen_lines(shown: str) -> list[str]:
    """What a terminal shows after ``shown`` (pty output): carriage returns, line
    erasing and cursor-up moves applied, colours ignored; enough for rich's output."""
    lines, row, column = [""], 0, 0
    for token in _TERMINAL_TOKEN.finditer(shown.replace("\r\n", "\n")):
        text, (argument, command) = token.group(0), token.groups()
        if text == "\n":
            row, column = row + 1, 0
            lines += [""] * (row + 1 - len(lines))
        elif text == "\r":
            column = 0
        elif command == "K":
            lines[row] = ""
        elif command == "A":
            row = max(0, row - int(argument or 1))
        elif command is None:
            line = lines[row].ljust(column)
            lines[row] = line[:column] + text + line[column + len(text):]
            column += len(text)
    return lines


def assert_predecessor_lines(lines: list[str]) -> None:
    lines = [line for line in lines if not line.startswith("Note:")]
    assert len(lines) == len(PREDECESSOR_LINES), "\n".join(lines)
    for line, pattern in zip(lines, PREDECESSOR_LINES):
        assert re.fullmatch(pattern, line), (line, pattern)


@pytest.mark.slow
def test_piped_output_is_the_predecessors_lines_exactly(cnnb):
    result = cnnb(*RUN)
    assert result.code == 0, result
    assert "\x1b" not in result.out and "\r" not in result.out
    assert result.out.endswith("\n") and not result.out.endswith("\n\n")
    assert_predecessor_lines(result.out.split("\n")[:-1])
    assert "warm-up" not in result.out.lower().replace("warm up", "")


def run_on_terminal(args, env) -> str:
    """``cnnb ARGS`` with stdout and stderr on a pseudo-terminal; what it showed."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "cnnb", *args], stdout=follower,
                               stderr=follower, stdin=subprocess.DEVNULL, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:            # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=600) == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


@pytest.mark.slow
def test_a_terminal_shows_the_phases_and_keeps_every_line(make_env):
    shown = run_on_terminal(RUN, make_env(TERM="xterm", COLUMNS="100"))
    assert _ESCAPE.search(shown), shown
    assert "Building the model" in shown and "Tracing and compiling the step" in shown
    # The display is transient: erased when its phase ends, so the screen holds the
    # lines a log holds (stdout's; cnnb's stderr notes share the terminal).
    stderr_notes = ("Note:", "model FLOP utilization:", "Measured this machine's")
    kept = [line for line in screen_lines(shown) if line and not line.startswith(stderr_notes)]
    assert_predecessor_lines(kept)


def test_enabled_only_for_a_terminal(monkeypatch):
    leader, follower = pty.openpty()
    try:
        with os.fdopen(follower, "w", closefd=False) as terminal:
            monkeypatch.delenv("CNNB_PROGRESS", raising=False)
            monkeypatch.setenv("TERM", "xterm")
            assert progress.enabled(terminal)
            assert not progress.enabled(io.StringIO())
            monkeypatch.setenv("CNNB_PROGRESS", "0")
            assert not progress.enabled(terminal)
            monkeypatch.delenv("CNNB_PROGRESS")
            monkeypatch.setenv("TERM", "dumb")
            assert not progress.enabled(terminal)
    finally:
        os.close(leader)
        os.close(follower)


def test_phase_off_a_terminal_writes_nothing(monkeypatch):
    captured = io.StringIO()
    monkeypatch.setattr(sys, "stdout", captured)
    with progress.phase("Building", total=3) as shown:
        shown.describe("Warm-up")
        shown.advance()
        print("a line")
    assert captured.getvalue() == "a line\n"
