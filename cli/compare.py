"""``cnnb compare A.json B.json [...]``: images/sec with confidence intervals, the
relative change against the first file, and a verdict from a significance test
on the per-step times (:mod:`cnnb.compare`). Exits 1 when a run is
significantly slower than the baseline by more than ``--threshold``, so a CI
job can gate on it; unreadable files and records of another schema version
are one line and exit status 2."""

from __future__ import annotations

import json

import click

_TEST_NAMES = {"mannwhitney": "Mann-Whitney U test", "welch": "Welch's t-test"}


def _percent(_ctx, _param, value: str) -> float:
    """``5``, ``5%`` or ``2.5`` (percent) as a fraction."""
    try:
        number = float(str(value).strip().rstrip("%"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a percentage such as 5 or 2.5%") from None
    if not 0 <= number < 100:
        raise click.BadParameter(f"{value!r}: give a percentage from 0 to 100")
    return number / 100


@click.command("compare")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--threshold", default="5", callback=_percent, show_default=True,
              help="Fail (exit 1) when a run is significantly slower than the first by more "
                   "than this many percent.")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.05, show_default=True, help="Significance level of the test.")
@click.option("--test", "test", type=click.Choice(sorted(_TEST_NAMES)), default="mannwhitney",
              show_default=True, help="Test on the per-step times (seconds per image).")
@click.option("--confidence", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.95, show_default=True, help="Level of the images/sec intervals.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare_command(files, threshold, alpha, test, confidence, as_json):
    """Compare --result_json records: the first file is the baseline.

    \b
    Example (a CI gate):
      cnnb run --model=resnet50 --result_json=new.json
      cnnb compare baseline.json new.json --threshold=5
    """
    from cnnb import compare
    from cnnb.errors import ConfigError
    if len(files) < 2:
        raise ConfigError("compare needs at least two result files: a baseline and a run "
                          "to compare with it")
    results = [compare.read_result(path) for path in files]
    labels = [compare.label_for(path, files) for path in files]
    rates = [compare.throughput(result, label, confidence)
             for result, label in zip(results, labels)]
    comparisons = [compare.compare(rates[0], rate, threshold, alpha, test) for rate in rates[1:]]
    differences = [compare.config_differences(results[0], result) for result in results[1:]]
    if as_json:
        click.echo(json.dumps(_as_json(rates, comparisons, differences, threshold, alpha, test),
                              indent=2))
    else:
        _print_report(rates, comparisons, differences, results, threshold, alpha, test,
                      confidence)
    if any(comparison.fails for comparison in comparisons):
        click.get_current_context().exit(1)


def _print_report(rates, comparisons, differences, results, threshold, alpha, test,
                  confidence) -> None:
    lines = [f"Baseline: {rates[0].label}. {_TEST_NAMES[test]} on the per-step times, "
             f"alpha {alpha:g}, threshold {threshold:.1%}."]
    lines += _rendered(_table(rates, comparisons, results, confidence))
    lines += [f"{comparison.candidate.label} differs: " + "; ".join(changed)
              for comparison, changed in zip(comparisons, differences) if changed]
    lines += [_sentence(comparison, threshold) for comparison in comparisons]
    for line in lines:
        click.echo(line)


def _rendered(table) -> list[str]:
    """The rich table as plain lines (no colour codes, no trailing blanks): the same
    text on a terminal, in a pipe and in a CI log."""
    import io

    from rich.console import Console
    console = Console(file=io.StringIO(), width=200, color_system=None, highlight=False)
    console.print(table)
    return [line.rstrip() for line in console.file.getvalue().splitlines()]


def _table(rates, comparisons, results, confidence):
    from rich import box
    from rich.table import Table
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for name in ("run", "model", "global batch", "devices", "steps", "images/sec",
                 f"{confidence:.0%} CI", "change", "p-value", "verdict"):
        numeric = name not in ("run", "model", "verdict", f"{confidence:.0%} CI")
        table.add_column(name, justify="right" if numeric else "left")
    rows = [None, *comparisons]
    for rate, result, comparison in zip(rates, results, rows):
        change = "baseline" if comparison is None else f"{comparison.change:+.1%}"
        p_value = "" if comparison is None else f"{comparison.p_value:.2g}"
        verdict = "" if comparison is None else comparison.verdict
        table.add_row(rate.label, str(result.plan.get("model")), str(rate.global_batch_size),
                      str(result.plan.get("num_devices")), str(rate.num_steps),
                      f"{rate.images_per_sec:.1f}", f"{rate.low:.1f} - {rate.high:.1f}",
                      change, p_value, verdict)
    return table


def _sentence(comparison, threshold: float) -> str:
    """The verdict as a sentence a CI log reader understands without the table."""
    a, b = comparison.baseline.label, comparison.candidate.label
    amount = f"{abs(comparison.change):.1%}"
    if comparison.verdict == "slower":
        return (f"FAIL: {b} is significantly slower than {a} by {amount} "
                f"(more than {threshold:.1%}, p = {comparison.p_value:.2g}).")
    if comparison.verdict == "faster":
        return f"ok: {b} is significantly faster than {a} by {amount}."
    if comparison.verdict == "within threshold":
        return (f"ok: {b} differs significantly from {a} ({comparison.change:+.1%}), "
                f"within the {threshold:.1%} threshold.")
    return (f"ok: no significant difference between {b} and {a} ({comparison.change:+.1%}, "
            f"p = {comparison.p_value:.2g}).")


def _as_json(rates, comparisons, differences, threshold, alpha, test) -> dict:
    runs = [{"label": r.label, "images_per_sec": r.images_per_sec, "low": r.low,
             "high": None if r.high == float("inf") else r.high, "num_steps": r.num_steps,
             "global_batch_size": r.global_batch_size} for r in rates]
    return {"baseline": rates[0].label, "test": test, "alpha": alpha, "threshold": threshold,
            "runs": runs,
            "comparisons": [{"run": c.candidate.label, "change": c.change, "p_value": c.p_value,
                             "verdict": c.verdict, "fails": c.fails, "differences": lines}
                            for c, lines in zip(comparisons, differences)]}
