"""Stopping a run cleanly on Ctrl-C (SIGINT) or SIGTERM.

While a run is inside :class:`StopRequest`, the first SIGINT or SIGTERM only
records the request: the current step finishes, the loop stops, and the
runner saves a checkpoint and the partial result before returning. A second
Ctrl-C raises KeyboardInterrupt at once, for when the user means it. A
checkpoint being written when the signal arrives is therefore never cut
short.
"""

from __future__ import annotations

import signal
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Context manager; ``requested`` turns true on the first signal."""

    def __init__(self):
        self.signal: int | None = None
        self._event = threading.Event()
        self._previous: dict = {}

    @property
    def requested(self) -> bool:
        return self.signal is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signal).name if self.signal else ""

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if a stop was requested meanwhile."""
        return self._event.wait(seconds)

    def _handle(self, signum, _frame) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal = signum
        self._event.set()

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for number in SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()
