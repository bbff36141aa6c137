"""--trace_file, --profile_dir (--tfprof_file) and --graph_file.

The runner wraps its step once (:meth:`Profiler.wrap`); the wrapper counts
calls, so the warm-up and timed loops need not know about profiling:

* ``--trace_file``: the TensorFlow profiler records the second-to-last warm-up
  step (the predecessor's step -2: traced, compiled and warm, not the last
  before timing), converted to Chrome trace JSON (``traceEvents``; opens in
  chrome://tracing and Perfetto). The profiler's own files stay in a
  temporary directory.
* ``--profile_dir``: the first 10 timed steps are profiled (their times
  include the profiler's overhead, as the predecessor's did); the directory
  gets the profiler's data (TensorBoard's profile tab) and ``top_ops.json``,
  and the 20 ops with the most self time are printed.
* ``--graph_file``: the step's graph (GraphDef), text format if the name ends
  in ``txt``, written before the first step.

The conversion to trace JSON and op statistics uses the converter TensorFlow
ships for TensorBoard (``_pywrap_profiler_plugin.xspace_to_tools_data``).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile

import tensorflow as tf

from cnnb.errors import ConfigError

PROFILED_STEPS = 10
TOP_OPS = 20
TOP_TYPES = 10


class Profiler:
    """Profiling of one run (``settings``: :class:`cnnb.settings.ProfilingSettings`)."""

    def __init__(self, settings, log):
        self.settings, self.log = settings, log
        self.calls, self._active = 0, None

    def wrap(self, step, num_warmup: int):
        """The step to run instead of ``step``: same outputs, profiled where asked."""
        s = self.settings
        if not (s.trace_file or s.profile_dir or s.graph_file):
            return step
        if s.graph_file:
            write_graph(step, s.graph_file)
            self.log(f"Wrote the step's graph to {s.graph_file}")
        traced = num_warmup - 2 if num_warmup >= 2 else num_warmup - 1    # -1: none
        if s.trace_file and traced < 0:
            self.log("No warm-up step to trace (--num_warmup_batches=0): --trace_file not written.")
        profiled = range(num_warmup, num_warmup + PROFILED_STEPS) if s.profile_dir else range(0)

        def profiled_step(lr):
            index, self.calls = self.calls, self.calls + 1
            if s.trace_file and index == traced:
                return self._record(step, lr, lambda logdir: write_trace(logdir, s.trace_file))
            if profiled and index == profiled.start:
                self._start(self._profile_logdir())
            outputs = step(lr)
            if profiled and index == profiled.stop - 1:
                float(outputs["loss"])
                self._stop()
            return outputs
        return profiled_step

    def _record(self, step, lr, convert):
        logdir = tempfile.mkdtemp(prefix="cnnb-trace-")
        try:
            self._start(logdir)
            outputs = step(lr)
            float(outputs["loss"])                    # the step has finished
            self._stop()
            convert(logdir)
            self.log(f"Wrote a Chrome trace of warm-up step {self.calls} to "
                     f"{self.settings.trace_file}")
        finally:
            shutil.rmtree(logdir, ignore_errors=True)
        return outputs

    def _profile_logdir(self) -> str:
        os.makedirs(self.settings.profile_dir, exist_ok=True)
        return self.settings.profile_dir

    def _start(self, logdir: str) -> None:
        tf.profiler.experimental.start(logdir)
        self._active = logdir

    def _stop(self) -> None:
        tf.profiler.experimental.stop()
        self._active = None

    def finish(self) -> None:
        """After the timed loop: end the profile if the loop stopped before 10
        steps, then print the top op types and ops by self time."""
        if self._active is not None:
            self._stop()
        if not self.settings.profile_dir or self.calls == 0:
            return
        rows = top_ops(self.settings.profile_dir)
        with open(os.path.join(self.settings.profile_dir, "top_ops.json"), "w",
                  encoding="utf-8") as out:
            json.dump(rows, out, indent=1)
        self.log(f"Profile of the first timed steps in {self.settings.profile_dir} "
                 "(top_ops.json); self time by op type:")
        for kind, percent, millis in by_type(rows)[:TOP_TYPES]:
            self.log(f"  {percent:5.1f}%  {millis:10.2f} ms  {kind}")
        self.log(f"Top {min(TOP_OPS, len(rows))} ops by self time:")
        for row in rows[:TOP_OPS]:
            self.log(f"  {row['percent']:5.1f}%  {row['self_time_ms']:10.2f} ms  "
                     f"{row['occurrences']:5d}x  {row['type']}  {row['name']}")


def write_graph(step, path: str) -> None:
    """The step's graph for a float32 learning rate (the signature the loops call)."""
    graph = step.get_concrete_function(tf.TensorSpec([], tf.float32)).graph
    folder, name = os.path.split(os.path.abspath(path))
    tf.io.write_graph(graph.as_graph_def(), folder, name, as_text=path.endswith("txt"))


def _converted(logdir: str, tool: str) -> bytes:
    """The profiler data of ``logdir`` as TensorBoard's ``tool`` shows it."""
    try:
        from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as plugin
    except ImportError as error:
        raise ConfigError("this TensorFlow has no profile converter "
                          f"({error}); the raw profile is in {logdir}") from None
    spaces = sorted(glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb")),
                    key=os.path.getmtime)
    if not spaces:
        raise ConfigError(f"the TensorFlow profiler wrote nothing to {logdir}")
    data, ok = plugin.xspace_to_tools_data(spaces[-1:], tool, {})
    if not ok:
        raise ConfigError(f"the TensorFlow profiler could not convert its data: {data!r}")
    return data


def write_trace(logdir: str, path: str) -> None:
    """Chrome trace JSON (``{"traceEvents": [...]}``) of the profile in ``logdir``."""
    trace = json.loads(_converted(logdir, "trace_viewer@"))
    with open(path, "w", encoding="utf-8") as out:
        json.dump(trace, out)


def top_ops(logdir: str) -> list[dict]:
    """TensorFlow ops of the profile by self time, most first."""
    table = json.loads(_converted(logdir, "framework_op_stats"))[0]
    columns = [column["id"] for column in table["cols"]]
    rows = [dict(zip(columns, (cell.get("v") if cell else None for cell in row["c"])))
            for row in table["rows"]]
    rows = [row for row in rows if row["type"] != "IDLE"]     # the profiler's idle time
    total = sum(row["total_self_time"] or 0.0 for row in rows) or 1.0
    ops = [{"type": row["type"], "name": row["operation"],
            "occurrences": int(row["occurrences"] or 0),
            "self_time_ms": (row["total_self_time"] or 0.0) / 1000.0,
            "percent": 100.0 * (row["total_self_time"] or 0.0) / total} for row in rows]
    return sorted(ops, key=lambda op: -op["self_time_ms"])


def by_type(ops: list[dict]) -> list[tuple[str, float, float]]:
    """(op type, percent, milliseconds) of self time, most first."""
    totals: dict[str, list[float]] = {}
    for op in ops:
        entry = totals.setdefault(op["type"], [0.0, 0.0])
        entry[0] += op["percent"]
        entry[1] += op["self_time_ms"]
    return sorted(((kind, p, ms) for kind, (p, ms) in totals.items()), key=lambda t: -t[2])
