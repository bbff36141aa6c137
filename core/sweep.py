"""``cnnb sweep``'s pure parts: the grid, the table of points and its plots.

A sweep is ``cnnb run`` flags in which some values are comma lists
(``--model=resnet20,trivial --batch_size=8,16``): every combination is one
*point*, run in its own process by :mod:`cnnb.cli.sweep`. A comma inside a
value is written ``\\,`` (``--gpu_indices=0\\,1``). Here: parsing the flags
(:func:`parse_grid`), the rows of ``sweep.csv`` with each point's scaling
efficiency (:func:`csv_text`), and the PNG plots (:func:`write_plots`,
matplotlib's Agg backend, imported only then). Imports no TensorFlow.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import os
import re
from typing import Any

from cnnb.errors import ConfigError, close_matches

_UNESCAPED_COMMA = re.compile(r"(?<!\\),")
#: Flags the sweep sets itself for every point.
OWNED_FLAGS = ("result_json",)
#: Columns after the swept flags' own.
RESULT_COLUMNS = ("status", "images_per_sec", "images_per_sec_uncertainty",
                  "scaling_efficiency", "model", "num_devices", "device_batch_size",
                  "global_batch_size", "elapsed_seconds", "error", "result_json", "log")


@dataclasses.dataclass(frozen=True)
class Grid:
    """Flags with one value (``fixed``) and swept ones (``axes``: name -> values),
    in the order given."""

    fixed: tuple[tuple[str, str], ...]
    axes: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def swept(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.axes)

    def points(self) -> list[dict[str, str]]:
        """Every combination of the swept values (the last flag varies fastest)."""
        names = self.swept
        return [dict(zip(names, values))
                for values in itertools.product(*(values for _, values in self.axes))]

    def arguments(self, point: dict[str, str]) -> list[str]:
        """The ``cnnb run`` arguments of one point."""
        return [f"--{name}={value}" for name, value in (*self.fixed, *point.items())]


def parse_grid(tokens: list[str], options) -> Grid:
    """``--name=a,b``, ``--name a,b``, ``--flag``, ``--noflag`` tokens (``cnnb run``'s
    syntax; kebab-case too) into a :class:`Grid`; unknown names get suggestions."""
    by_name = {}
    for option in options:
        by_name[option.name] = by_name[option.kebab] = option
    fixed, axes, seen = [], [], set()
    position = 0
    while position < len(tokens):
        name, value, position = _next_flag(tokens, position, by_name)
        if name in seen:
            raise ConfigError(f"--{name} is given twice; give one comma list of its values")
        if name in OWNED_FLAGS:
            raise ConfigError(f"--{name}: the sweep writes each point's record itself "
                              "(OUT/points/N.json); leave it out")
        seen.add(name)
        values = tuple(v.replace("\\,", ",") for v in _UNESCAPED_COMMA.split(value))
        if len(values) > 1:
            axes.append((name, values))
        else:
            fixed.append((name, values[0]))
    if not axes:
        raise ConfigError("nothing to sweep: give at least one flag a comma list of values, "
                          "e.g. --batch_size=8,16")
    return Grid(tuple(fixed), tuple(axes))


def _next_flag(tokens, position, by_name) -> tuple[str, str, int]:
    """(option name, value text, next position) of the flag at ``position``."""
    token = tokens[position]
    if not token.startswith("--"):
        raise ConfigError(f"unexpected argument {token!r}: give cnnb run flags such as "
                          "--batch_size=8,16")
    key, equals, value = token[2:].partition("=")
    option = by_name.get(key)
    if option is None and key.startswith("no") and not equals:
        negated = by_name.get(key[2:].lstrip("-"))
        if negated is not None and negated.is_flag:
            return negated.name, "false", position + 1
    if option is None:
        matches = close_matches(key, sorted(by_name))
        hint = f" Did you mean: {', '.join('--' + m for m in matches)}?" if matches else ""
        raise ConfigError(f"no such cnnb run option: --{key}.{hint}")
    if equals:
        return option.name, value, position + 1
    if option.is_flag:
        return option.name, "true", position + 1
    if position + 1 >= len(tokens):
        raise ConfigError(f"--{key} needs a value")
    return option.name, tokens[position + 1], position + 2


def add_scaling_efficiency(rows: list[dict[str, Any]], swept: tuple[str, ...]) -> None:
    """Set each ok row's ``scaling_efficiency``: its images/sec per device over that of
    the point with the fewest devices and otherwise the same swept values (1.0 for
    that point itself; empty where there is no such point)."""
    others = [name for name in swept if name != "num_gpus"]
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        if row.get("status") == "ok" and row.get("images_per_sec"):
            groups.setdefault(tuple(row.get(name) for name in others), []).append(row)
    for row in rows:
        row["scaling_efficiency"] = None
    for members in groups.values():
        base = min(members, key=lambda row: int(row["num_devices"]))
        per_device = float(base["images_per_sec"]) / int(base["num_devices"])
        for row in members:
            row["scaling_efficiency"] = (float(row["images_per_sec"]) / int(row["num_devices"])
                                         / per_device)


def columns(swept: tuple[str, ...]) -> tuple[str, ...]:
    """The swept flags' values as given, then what each point measured (a swept
    ``--model`` is shown once: as given)."""
    return ("point", *swept, *(name for name in RESULT_COLUMNS if name not in swept))


def csv_text(rows: list[dict[str, Any]], swept: tuple[str, ...]) -> str:
    """``sweep.csv``: a header and one row per finished point, efficiency filled in."""
    add_scaling_efficiency(rows, swept)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns(swept))
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns(swept)])
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def write_plots(rows: list[dict[str, Any]], swept: tuple[str, ...], out: str) -> list[str]:
    """``throughput.png`` (images/sec) and, when several device counts were swept,
    ``scaling.png`` (scaling efficiency) in ``out``; returns the paths written."""
    done = [row for row in rows if row.get("status") == "ok" and row.get("images_per_sec")]
    if not done:
        return []
    add_scaling_efficiency(rows, swept)
    x_axis = next((name for name in ("batch_size", "num_gpus") if name in swept), swept[0])
    written = [_plot(done, swept, x_axis, "images_per_sec", "images/sec",
                     os.path.join(out, "throughput.png"), "Throughput")]
    if "num_gpus" in swept and len({row["num_devices"] for row in done}) > 1:
        written.append(_plot(done, swept, "num_gpus", "scaling_efficiency",
                             "scaling efficiency (per-device images/sec vs fewest devices)",
                             os.path.join(out, "scaling.png"), "Scaling efficiency"))
    return written


def _plot(rows, swept, x_axis, y_key, y_label, path, title) -> str:
    from matplotlib.figure import Figure
    series_names = [name for name in swept if name != x_axis]
    figure = Figure(figsize=(8, 5), dpi=100)
    axes = figure.add_subplot()
    x_values = sorted({row[x_axis] for row in rows}, key=_number_or_text)
    for key in sorted({tuple(row[n] for n in series_names) for row in rows}):
        members = [row for row in rows if tuple(row[n] for n in series_names) == key
                   and row.get(y_key) is not None]
        members.sort(key=lambda row: x_values.index(row[x_axis]))
        xs = [x_values.index(row[x_axis]) for row in members]
        ys = [float(row[y_key]) for row in members]
        label = ", ".join(f"{n}={v}" for n, v in zip(series_names, key)) or y_key
        errors = ([float(row.get("images_per_sec_uncertainty") or 0) for row in members]
                  if y_key == "images_per_sec" else None)
        axes.errorbar(xs, ys, yerr=errors, marker="o", capsize=3, label=label)
    if y_key == "scaling_efficiency":
        axes.axhline(1.0, color="grey", linestyle=":", linewidth=1)
    axes.set_xticks(range(len(x_values)), [str(v) for v in x_values])
    axes.set_xlabel(f"--{x_axis}" + (" (per device)" if x_axis == "batch_size" else ""))
    axes.set_ylabel(y_label)
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    _save_png(figure, path)
    return path


def _save_png(figure, path: str) -> None:
    """Write the PNG beside its place, then rename it there (never half a picture)."""
    temporary = f"{path}.tmp-{os.getpid()}"
    try:
        figure.savefig(temporary, format="png")
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _number_or_text(value) -> tuple:
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))
