"""The fast tier (``make test-fast``, ``pytest -m "not slow"``) still trains.

Every other TensorFlow run in the suite is marked slow, so without this test
the fast tier could pass with the training path broken. One step of the
trivial model through the real CLI costs little more than importing TensorFlow.
"""

from __future__ import annotations

import re

TOTAL_LINE = re.compile(r"^total images/sec: \d+\.\d\d$")
STEP_LINE = re.compile(r"^1\timages/sec: [0-9.]+ \+/- [0-9.]+ \(jitter = [0-9.]+\)\t[0-9.]+$")


def test_one_training_step_of_the_trivial_model_through_the_cli(cnnb):
    result = cnnb("run", "--model=trivial", "--batch_size=4", "--num_batches=1",
                  "--num_warmup_batches=0", "--display_every=1")
    assert result.code == 0, result
    assert any(STEP_LINE.match(line) for line in result.out_lines), result
    totals = [line for line in result.out_lines if TOTAL_LINE.match(line)]
    assert len(totals) == 1, result
    assert float(totals[0].split(": ")[1]) > 0, result
