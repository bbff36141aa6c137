"""Progress displays for the long, silent phases of a run, on a terminal only.

Building a large model, tracing and compiling the step (the first warm-up
step: XLA can take minutes), and the warm-up itself print one line each and
then nothing for a long time. On a terminal, :func:`phase` shows a rich
spinner (or a bar, when the number of steps is known) with the elapsed time
while such a phase runs; it is *transient*: when the phase ends it vanishes,
and the screen holds exactly the lines a log would.

When standard output is not a terminal (a pipe, a file, a CI log, the
``cnnb_batch`` test runner) :func:`phase` does nothing at all, so the output
stays the predecessor's lines byte for byte and log parsers keep working.
``CNNB_PROGRESS=0`` turns the display off on a terminal too (``TERM=dumb``
does as well). The timed loop never shows one: it must not share the CPU with
a refresh thread. rich is imported only when a display is shown; no TensorFlow.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator


class _Silent:
    """What :func:`phase` yields when no display is shown: every call does nothing."""

    def advance(self, steps: int = 1) -> None:
        pass

    def describe(self, description: str) -> None:
        pass


class _Shown(_Silent):
    """A phase on screen: ``advance`` moves its bar, ``describe`` renames it."""

    def __init__(self, progress, task):
        self._progress, self._task = progress, task

    def advance(self, steps: int = 1) -> None:
        self._progress.advance(self._task, steps)

    def describe(self, description: str) -> None:
        self._progress.update(self._task, description=description)


def enabled(stream=None) -> bool:
    """Whether progress displays are shown: ``stream`` (stdout) is a terminal,
    not a dumb one, and ``CNNB_PROGRESS`` is not ``0``."""
    stream = sys.stdout if stream is None else stream
    if os.environ.get("CNNB_PROGRESS", "").strip().lower() in ("0", "false", "no", "off"):
        return False
    if os.environ.get("TERM", "") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):        # a closed or detached stream
        return False


@contextlib.contextmanager
def phase(description: str, total: int | None = None) -> Iterator[_Silent]:
    """A transient display of ``description`` while the block runs (a bar of ``total``
    steps, or a spinner when ``total`` is None); nothing when :func:`enabled` is false.

    Lines printed to stdout inside the block appear above the display, unchanged.
    """
    if not enabled():
        yield _Silent()
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn,
                               TextColumn, TimeElapsedColumn)
    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total:
        columns += [BarColumn(), MofNCompleteColumn()]
    columns.append(TimeElapsedColumn())
    console = Console(file=sys.stdout, highlight=False)
    with Progress(*columns, console=console, transient=True, redirect_stderr=False) as shown:
        yield _Shown(shown, shown.add_task(description, total=total))
