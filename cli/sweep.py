"""``cnnb sweep``: run a grid of ``cnnb run`` configurations, one process per point.

::

    cnnb sweep --model=resnet20,trivial --batch_size=8,16,32 --num_gpus=1,2 \\
        --device=cpu --num_batches=20 --out=sweep/

Each point runs as ``python -m cnnb run ...`` in its own process (a fresh
TensorFlow: device setup, memory and thread pools of one point never leak into
the next) with its record in ``OUT/points/N.json`` and its output in
``OUT/logs/N.log``. After every point ``OUT/sweep.csv`` is rewritten
(atomically) with one row per finished point, and at the end the plots
``OUT/throughput.png`` and ``OUT/scaling.png``. A point that fails is a row
with status ``failed`` and its error line, and the sweep goes on (exit status
1 at the end). Ctrl-C (or SIGTERM) stops the running point, keeps the finished
rows and plots them, and exits with 130.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import click

from cnnb.cli.session import Session

#: How long a point gets to finish its step and write its record after Ctrl-C.
_STOP_GRACE_SECONDS = 60


@click.command("sweep", context_settings={"ignore_unknown_options": True,
                                           "allow_interspersed_args": True})
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Folder for sweep.csv, the plots, and each point's record and log.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop a point after this many seconds (it is recorded as failed).")
@click.argument("run_flags", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def sweep_command(ctx, out, timeout, run_flags):
    """Run every combination of comma-separated flag values (any 'cnnb run' flag;
    write a comma inside a value as \\,), each point in its own process; write
    OUT/sweep.csv and PNG plots of throughput and scaling efficiency.

    \b
    Example:
      cnnb sweep --model=trivial --batch_size=8,16 --num_gpus=1,2 --device=cpu --out=S
    """
    from cnnb import sweep
    from cnnb.api import run_options
    from cnnb.outputs import write_text_atomic
    session = ctx.ensure_object(Session)
    grid = sweep.parse_grid(list(run_flags), run_options(session.plugins))
    for folder in ("points", "logs"):
        os.makedirs(os.path.join(out, folder), exist_ok=True)
    points, rows = grid.points(), []
    csv_path = os.path.join(out, "sweep.csv")
    interrupted = False
    try:
        with _signals_as_interrupt():
            for index, point in enumerate(points, 1):
                label = " ".join(f"--{name}={value}" for name, value in point.items())
                click.echo(f"[{index}/{len(points)}] {label}")
                rows.append(_run_point(grid, point, index, out, timeout, session.blocked))
                click.echo(f"[{index}/{len(points)}] {_outcome(rows[-1])}")
                write_text_atomic(csv_path, sweep.csv_text(rows, grid.swept))
    except KeyboardInterrupt:
        interrupted = True
    write_text_atomic(csv_path, sweep.csv_text(rows, grid.swept))
    plots = sweep.write_plots(rows, grid.swept, out)
    _summary(rows, len(points), csv_path, plots, interrupted)
    if interrupted:
        ctx.exit(130)
    if any(row["status"] != "ok" for row in rows):
        ctx.exit(1)


def _run_point(grid, point, index, out, timeout, blocked) -> dict:
    """Run one point in a child process; its row (status ok or failed)."""
    record = os.path.join(out, "points", f"{index}.json")
    log = os.path.join(out, "logs", f"{index}.log")
    with open(log, "w", encoding="utf-8") as log_file:
        if os.path.exists(record):
            os.unlink(record)          # a stale record of an earlier sweep is not this point's
        blocks = [arg for name in blocked for arg in ("--no-plugin", name)]
        command = [sys.executable, "-m", "cnnb", *blocks, "run", *grid.arguments(point),
                   f"--result_json={record}"]
        log_file.write("$ cnnb " + " ".join(command[3:]) + "\n")
        log_file.flush()
        began = time.monotonic()
        code, timed_out = _wait(subprocess.Popen(command, stdout=log_file,
                                                 stderr=subprocess.STDOUT,
                                                 stdin=subprocess.DEVNULL), timeout)
    row = {"point": index, **point, "elapsed_seconds": round(time.monotonic() - began, 1),
           "result_json": record, "log": log}
    if code == 0 and os.path.exists(record):
        return {**_measured(record), **row}      # swept values as given win
    error = f"timed out after {timeout:g} s" if timed_out else _error_line(log, code)
    return {**row, "status": "failed", "error": error}


def _wait(process: subprocess.Popen, timeout: float | None) -> tuple[int, bool]:
    """The child's exit status (and whether it ran out of time). On Ctrl-C the child,
    asked to stop after its current step, gets a grace period, then is killed."""
    try:
        return process.wait(timeout=timeout), False
    except subprocess.TimeoutExpired:
        _stop(process)
        return process.returncode, True
    except KeyboardInterrupt:
        _stop(process)
        raise


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:    # SIGTERM: a second SIGINT would abort it mid-step
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=_STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _measured(record: str) -> dict:
    from cnnb.results import Result
    result = Result.read(record)
    plan, measured = result.plan, result.measurements
    return {"status": "ok", "images_per_sec": measured.get("images_per_sec"),
            "images_per_sec_uncertainty": measured.get("images_per_sec_uncertainty"),
            "model": plan.get("model"), "num_devices": plan.get("num_devices"),
            "device_batch_size": plan.get("batch_size"),
            "global_batch_size": plan.get("global_batch_size"), "error": None}


def _error_line(log: str, code: int) -> str:
    """The point's ``Error:`` line, else its last line, with the exit status."""
    with open(log, encoding="utf-8", errors="replace") as source:
        lines = [line.strip() for line in source if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    last = errors[-1] if errors else (lines[-1] if len(lines) > 1 else "no output")
    return f"exit status {code}: {last}"


def _outcome(row: dict) -> str:
    if row["status"] != "ok":
        return f"failed: {row['error']}"
    return f"{row['images_per_sec']:.1f} images/sec ({row['elapsed_seconds']:.0f} s)"


def _summary(rows, total, csv_path, plots, interrupted) -> None:
    failed = sum(row["status"] != "ok" for row in rows)
    state = "Interrupted: " if interrupted else ""
    click.echo(f"{state}{len(rows)} of {total} points done, {failed} failed; table: {csv_path}")
    for path in plots:
        click.echo(f"plot: {path}")


class _signals_as_interrupt:
    """SIGTERM stops the sweep as Ctrl-C does (finished rows kept, exit 130)."""

    def __enter__(self):
        self._previous = signal.getsignal(signal.SIGTERM)
        try:
            signal.signal(signal.SIGTERM, self._raise)
        except ValueError:          # not the main thread: leave SIGTERM alone
            self._previous = None
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
        return False

    @staticmethod
    def _raise(_signum, _frame):
        raise KeyboardInterrupt
