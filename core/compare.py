"""Is run B slower than run A? Statistics for ``cnnb compare``, on result records.

A difference of means says little on a noisy machine: two runs of the same
command differ by a few percent, and one slow step (a page fault, a
neighbour's job) moves a mean. So a comparison uses every timed step:

* Each step's time is turned into **seconds per image** (step time / global
  batch), so runs with different batch sizes or device counts compare on
  what a user cares about, images/sec.
* **images/sec** of a run is 1 / mean seconds per image (the timed steps'
  throughput, without the time of checkpoints or evaluations between steps,
  so it can differ a little from the ``total images/sec`` line); its
  **confidence interval** comes from Student's t interval of the mean time.
* The **verdict** tests whether the two runs' per-image times come from one
  distribution: the Mann-Whitney U test by default (rank-based: robust to the
  outliers step times have), or Welch's t-test. B is *slower* (the CI gate,
  exit status 1) when the test says the runs differ (p < alpha) **and** B's
  images/sec is lower than A's by more than the threshold (default 5%).

scipy is imported only when a comparison is computed. Imports no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os

from cnnb.errors import ResultFormatError

TESTS = ("mannwhitney", "welch")
#: Fewer timed steps than this give no test worth gating on.
MIN_STEPS = 3

SLOWER = "slower"
FASTER = "faster"
WITHIN = "within threshold"
SAME = "no significant change"


@dataclasses.dataclass(frozen=True)
class Throughput:
    """One run's images/sec from its timed steps, with a confidence interval."""

    label: str
    images_per_sec: float
    low: float                      # the interval's bounds (high may be inf)
    high: float
    per_image_times: tuple          # seconds per image, one per timed step
    global_batch_size: int

    @property
    def num_steps(self) -> int:
        return len(self.per_image_times)


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Candidate against baseline: relative change of images/sec, p-value, verdict."""

    baseline: Throughput
    candidate: Throughput
    change: float                   # candidate / baseline - 1 (negative: slower)
    p_value: float
    verdict: str                    # SLOWER, FASTER, WITHIN or SAME

    @property
    def fails(self) -> bool:
        """Whether this comparison fails a CI gate: significantly slower, beyond threshold."""
        return self.verdict == SLOWER


def read_result(path: str):
    """The :class:`cnnb.results.Result` in ``path``; any problem is one
    :class:`ResultFormatError` line naming the file."""
    from cnnb.results import Result
    try:
        return Result.read(path)
    except ResultFormatError as error:
        raise ResultFormatError(f"{path}: {error}") from error
    except json.JSONDecodeError as error:
        raise ResultFormatError(f"{path}: not a JSON result record ({error.msg} at line "
                                f"{error.lineno}); give a file written by --result_json") from error
    except UnicodeDecodeError as error:
        raise ResultFormatError(f"{path}: not a JSON result record (not UTF-8 text)") from error
    except OSError as error:
        raise ResultFormatError(f"cannot read {path}: {error.strerror or error}") from error


def throughput(result, label: str, confidence: float = 0.95) -> Throughput:
    """images/sec of ``result``'s timed steps with its ``confidence`` interval."""
    from scipy import stats
    steps = [float(t) for t in result.measurements.get("step_times") or () if t]
    batch = int(result.plan.get("global_batch_size") or 0)
    if len(steps) < MIN_STEPS or batch <= 0:
        raise ResultFormatError(
            f"{label}: {len(steps)} timed step(s) recorded; a comparison needs at least "
            f"{MIN_STEPS} (run with a larger --num_batches)")
    per_image = tuple(t / batch for t in steps)
    mean = sum(per_image) / len(per_image)
    spread = _sample_std(per_image) / math.sqrt(len(per_image))
    half = float(stats.t.ppf((1 + confidence) / 2, len(per_image) - 1)) * spread
    high = 1 / (mean - half) if mean > half else math.inf
    return Throughput(label, 1 / mean, 1 / (mean + half), high, per_image, batch)


def compare(baseline: Throughput, candidate: Throughput, threshold: float = 0.05,
            alpha: float = 0.05, test: str = "mannwhitney") -> Comparison:
    """Compare ``candidate`` with ``baseline`` (see the module docstring)."""
    change = candidate.images_per_sec / baseline.images_per_sec - 1
    p_value = p_value_of(baseline.per_image_times, candidate.per_image_times, test)
    if not p_value < alpha:
        verdict = SAME
    elif change < -threshold:
        verdict = SLOWER
    elif change > threshold:
        verdict = FASTER
    else:
        verdict = WITHIN
    return Comparison(baseline, candidate, change, p_value, verdict)


def p_value_of(first, second, test: str = "mannwhitney") -> float:
    """Two-sided p-value that two samples of per-image times differ in location."""
    from scipy import stats
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}; one of {', '.join(TESTS)}")
    if len(set(first) | set(second)) == 1:
        return 1.0                  # identical constant samples: no difference at all
    if test == "welch":
        value = stats.ttest_ind(first, second, equal_var=False).pvalue
    else:
        value = stats.mannwhitneyu(first, second, alternative="two-sided").pvalue
    return 1.0 if math.isnan(value) else float(value)


def config_differences(baseline, candidate) -> list[str]:
    """What differs between two runs' plans and environments, as ``name: A -> B``
    (a comparison of different configurations is allowed, but should be said)."""
    keys = [("plan", k) for k in ("model", "dataset", "mode", "num_devices", "batch_size",
                                  "global_batch_size", "variable_update", "devices")]
    keys += [("environment", k) for k in ("cnnb_version", "tensorflow_version", "cpu_model",
                                          "gpu_driver", "plugin_versions")]
    keys += [("config", "options")]
    lines = []
    for part, key in keys:
        first, second = getattr(baseline, part).get(key), getattr(candidate, part).get(key)
        if key == "options":
            lines += _option_differences(first or {}, second or {})
        elif first != second:
            lines.append(f"{key}: {first} -> {second}")
    return lines


def _option_differences(first: dict, second: dict) -> list[str]:
    ignored = {"result_json", "result_csv", "train_dir", "eval_dir", "batch_size", "model"}
    return [f"--{name}: {first.get(name)} -> {second.get(name)}"
            for name in sorted(set(first) | set(second))
            if name not in ignored and first.get(name) != second.get(name)]


def label_for(path: str, all_paths) -> str:
    """A short name for ``path``: its file name, or more of it if two share one."""
    names = [os.path.basename(p) for p in all_paths]
    return os.path.basename(path) if names.count(os.path.basename(path)) == 1 else path


def _sample_std(values) -> float:
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
