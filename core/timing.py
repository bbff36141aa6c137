"""Throughput statistics, exactly as the predecessor computed them.

Over the timed steps so far: images/sec is ``batch / mean(step times)`` (or an
exponentially weighted mean with ``--display_perf_ewma``), the uncertainty is
the population standard deviation of per-step speeds over sqrt(n), and the
jitter is 1.4826 x the median absolute deviation of per-step speeds.
"""

from __future__ import annotations

import dataclasses

import numpy as np

MAD_TO_SIGMA = 1.4826


@dataclasses.dataclass(frozen=True)
class PerfTiming:
    images_per_sec: float
    uncertainty: float
    jitter: float

    def line(self) -> str:
        """The step line's middle part, in the predecessor's format."""
        return (f"images/sec: {self.images_per_sec:.1f} +/- {self.uncertainty:.1f} "
                f"(jitter = {self.jitter:.1f})")


def perf_timing(batch_size: int, step_times, ewma_alpha: float | None = None) -> PerfTiming:
    """Images/sec, uncertainty and jitter of ``step_times`` (seconds per step).

    >>> perf_timing(32, [.1, .2, .1, .4]).line()
    'images/sec: 160.0 +/- 52.0 (jitter = 118.6)'
    """
    times = np.asarray(step_times, dtype=np.float64)
    if times.size == 0:
        raise ValueError("perf_timing needs at least one step time")
    speeds = batch_size / times
    if ewma_alpha:
        weights = np.logspace(times.size - 1, 0, times.size, base=1 - ewma_alpha)
        time_mean = np.average(times, weights=weights)
    else:
        time_mean = np.mean(times)
    uncertainty = np.std(speeds) / np.sqrt(float(times.size))
    jitter = MAD_TO_SIGMA * np.median(np.abs(speeds - np.median(speeds)))
    return PerfTiming(float(batch_size / time_mean), float(uncertainty), float(jitter))


@dataclasses.dataclass(frozen=True)
class StepStats:
    """What the ``cnnb_step_end`` hook sees after each timed step."""

    step: int                  # 1-based timed step
    step_time: float           # seconds
    loss: float
    timing: PerfTiming         # over the timed steps so far
    top_1_accuracy: float | None = None
    top_5_accuracy: float | None = None
