"""The conformance test over every installed model: ``pytest --pyargs cnnb.testing``.

Select models by id (``SCOPE/NAME``) with ``-k``, e.g. ``-k "cifar10 and resnet20"``;
``-m "not slow"`` leaves out the heaviest (10 GFLOPs, 50M parameters or 1000
variables and up), which take several seconds each on a small CPU.
"""

from __future__ import annotations

import pytest

from cnnb.testing import check_case, model_params


@pytest.mark.parametrize("case", model_params(heavy_marks=pytest.mark.slow))
def test_model_conforms(case):
    """Builds at its native size, one finite training step at batch 2, logits
    [2, classes], the listed parameter count."""
    result = check_case(case)
    assert result.logits_shape == (2, case.num_classes)
