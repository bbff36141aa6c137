"""``cnnb peak``: this machine's matmul peak FLOP/s per precision, cached.

Runs (model-FLOP) utilization is measured against this figure: ``cnnb run``
reads the cache (:mod:`cnnb.utilization`), and measures the one precision it
needs when nothing is cached. Run it on a quiet machine: other processes
lower the peak and so inflate every later run's utilization.
"""

from __future__ import annotations

import json
import os

import click

PRECISIONS = ("fp32", "bf16", "fp16")


@click.command("peak")
@click.option("--device", type=click.Choice(["cpu", "gpu"]), default="cpu", show_default=True,
              help="Device to measure (the first GPU with gpu).")
@click.option("--precision", "precisions", multiple=True, type=click.Choice(PRECISIONS),
              help="Precision(s) to measure (default: all three).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead.")
def peak_command(device, precisions, as_json):
    """Measure this device's matmul peak FLOP/s (fp32, bf16, fp16) and cache it
    for the utilization (mfu) of later runs; --peak_flops overrides it per run."""
    from cnnb.engine.peak import measure_all
    from cnnb.engine.tfsetup import import_tensorflow
    from cnnb.precision import precision_notes
    from cnnb.utilization import cache_path
    tf = import_tensorflow()
    key, peaks = measure_all(tf, f"/{device}:0", precisions or PRECISIONS)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if as_json:
        click.echo(json.dumps({"machine": key, "peak_flops": peaks, "cache": str(cache_path()),
                               "load_average": load}))
        return
    click.echo(f"Machine:     {key}")
    for precision, flops in peaks.items():
        notes = precision_notes(precision, device)
        click.echo(f"{precision}:        {flops / 1e9:8.1f} GFLOP/s"
                   + (f"  ({notes[0].split(':')[0]})" if notes else ""))
    click.echo(f"Cached in {cache_path()}")
    cores = os.cpu_count() or 1
    if device == "cpu" and load > 0.5 * cores:
        click.echo(f"warning: the load average is {load:.1f} on {cores} cores: other processes "
                   "lower the measured peak (and inflate utilization); measure again when the "
                   "machine is quiet.", err=True)
