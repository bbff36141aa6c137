"""Throughput statistics and the step-line format (predecessor §5/§7 formulas)."""

from __future__ import annotations

import re

import pytest

from cnnb import console
from cnnb.timing import perf_timing

STEP_LINE = re.compile(r"^\d+\timages/sec: [0-9.]+ \+/- [0-9.]+ \(jitter = [0-9.]+\)\t[0-9.]+$")
PREDECESSOR_TIMES = [.1, .2, .1, .4]


def test_perf_timing_matches_the_predecessor_worked_example():
    timing = perf_timing(32, PREDECESSOR_TIMES)
    assert timing.images_per_sec == pytest.approx(160.0)
    assert timing.uncertainty == pytest.approx(51.96, abs=5e-3)
    assert timing.jitter == pytest.approx(118.608, abs=1e-9)


def test_perf_timing_line_has_the_predecessor_format():
    assert perf_timing(32, PREDECESSOR_TIMES).line() == \
        "images/sec: 160.0 +/- 52.0 (jitter = 118.6)"


def test_ewma_weights_recent_steps_more():
    timing = perf_timing(32, PREDECESSOR_TIMES, ewma_alpha=0.5)
    assert timing.images_per_sec == pytest.approx(117.07, abs=5e-3)
    # Uncertainty and jitter do not depend on the averaging.
    plain = perf_timing(32, PREDECESSOR_TIMES)
    assert (timing.uncertainty, timing.jitter) == (plain.uncertainty, plain.jitter)


def test_single_step_has_no_spread():
    timing = perf_timing(8, [0.5])
    assert (timing.images_per_sec, timing.uncertainty, timing.jitter) == (16.0, 0.0, 0.0)


def test_no_step_times_is_an_error():
    with pytest.raises(ValueError):
        perf_timing(8, [])


def test_step_line_matches_the_log_parsers_regex():
    line = console.step_line(20, perf_timing(32, PREDECESSOR_TIMES), 7.0512)
    assert line == "20\timages/sec: 160.0 +/- 52.0 (jitter = 118.6)\t7.051"
    assert STEP_LINE.match(line)


def test_step_line_with_accuracy_adds_two_columns():
    line = console.step_line(1, perf_timing(32, [.2]), 0.0, accuracy=(0.25, 0.5))
    assert line.split("\t")[2:] == ["0.000", "0.250", "0.500"]


@pytest.mark.parametrize("every, shown", [(5, [1, 5, 10, 15, 20]), (10, [1, 10, 20]),
                                          (1, list(range(1, 21)))])
def test_display_steps_are_the_first_and_every_nth(every, shown):
    assert [s for s in range(1, 21) if console.is_display_step(s, every)] == shown


def test_total_line_sits_between_two_64_dash_lines():
    lines = console.total_lines(1277.2249)
    assert lines == ["-" * 64, "total images/sec: 1277.22", "-" * 64]
