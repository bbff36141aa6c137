"""Multi-worker runs in the runner: starting the process's cluster runtime and
honest accounting across workers.

Each worker times its own steps and prints its own ``total images/sec`` (the
predecessor's line: this worker's batch over its own elapsed time). After the
timed loop the workers exchange ``(steps, mean step time, elapsed, images/sec)``
through the variable manager (a collective: every worker calls it at the
same point) and the chief prints a table of every worker, marks the slowest
and prints the global total: all workers' images over the longest elapsed
time (the job is only as fast as its slowest worker).

In the parameter-server modes the controller (not a worker) runs the loop:
its step lines and ``total images/sec`` count one batch per round (one
worker's share: the average worker's rate), and the table comes from what the controller
measured of each worker's steps (:func:`controller_rows`): how many it ran,
their mean time on the worker (read the variables, compute, apply), and its
images over the controller's elapsed time; the global line sums them.
"""

from __future__ import annotations

from cnnb.console import DASHES

WORKERS = "workers"
GLOBAL_IMAGES_PER_SEC = "global_images_per_sec"


def start_process(plan) -> None:
    """Let the plan's manager set up its runtime before any TensorFlow op runs."""
    if plan.replication is not None:
        plan.variable_manager.load().prepare_process(plan.replication)


def worker_rows(manager, batch_size: int, loop) -> list[dict]:
    """Every worker's timing, gathered from all workers (in task order)."""
    steps = len(loop.step_times)
    if hasattr(manager, "worker_timings"):
        return controller_rows(manager.worker_timings(steps), batch_size, loop.elapsed)
    mean = sum(loop.step_times) / steps if steps else 0.0
    rate = batch_size * steps / loop.elapsed if loop.elapsed else 0.0
    rows = manager.gather_workers([steps, mean, loop.elapsed, rate])
    return [{"task": task, "num_steps": int(row[0]), "step_time": row[1], "elapsed": row[2],
             "images_per_sec": row[3]} for task, row in enumerate(rows)]


def controller_rows(timings: list[tuple[int, float]], batch_size: int,
                    elapsed: float) -> list[dict]:
    """The rows of a parameter-server run, measured by its controller: each
    worker's ``(steps it ran, their total time on the worker)``; its images/sec
    is its images over the controller's elapsed time of the timed loop."""
    return [{"task": task, "num_steps": steps, "step_time": spent / steps if steps else 0.0,
             "elapsed": elapsed, "images_per_sec": batch_size * steps / elapsed if elapsed else 0.0}
            for task, (steps, spent) in enumerate(timings)]


def report_workers(manager, plan, loop, log) -> dict:
    """The measurements of a multi-worker run (none for one process); the chief
    prints the per-worker table and the global images/sec."""
    if plan.replication is None or plan.replication.worker.num_workers <= 1:
        return {}
    rows = worker_rows(manager, plan.batch_size, loop)
    longest = max(row["elapsed"] for row in rows)
    images = sum(plan.batch_size * row["num_steps"] for row in rows)
    global_rate = images / longest if longest else 0.0
    if manager.is_chief:
        for line in table_lines(rows, global_rate):
            log(line)
    return {WORKERS: rows, GLOBAL_IMAGES_PER_SEC: global_rate}


def table_lines(rows: list[dict], global_rate: float) -> list[str]:
    """``Worker  Steps  Step time (ms)  Images/sec`` with the slowest marked."""
    slowest = max(rows, key=lambda row: row["step_time"])["task"]
    lines = ["Worker\tSteps\tStep time (ms)\tImages/sec"]
    for row in rows:
        mark = "\t(slowest)" if row["task"] == slowest and len(rows) > 1 else ""
        lines.append(f"{row['task']}\t{row['num_steps']}\t{row['step_time'] * 1000:.1f}\t"
                     f"{row['images_per_sec']:.2f}{mark}")
    return lines + [DASHES, f"global images/sec: {global_rate:.2f} ({len(rows)} workers)",
                    DASHES]
