"""The validated, frozen run configuration.

:func:`build_config` takes the raw flag values (from click, or a dict in
tests), applies the table's enum and bound checks, the machine-fitting
defaults and the cross-option rules of :mod:`cnnb.rules`, and returns a
:class:`RunConfig` that no one can change afterwards. Nothing here imports
TensorFlow; the caller passes in how many GPUs are visible.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Callable

from cnnb.errors import ConfigError
from cnnb.options import NO_TF2, PLANNED, Option


class RunConfig(Mapping):
    """Read-only flag values by name (``config.batch_size`` or ``config['batch_size']``).

    ``explicit`` holds the flags the user set; ``notes`` the defaults cnnb
    chose for this machine, and ``warnings`` the flags it accepted but ignores.
    """

    __slots__ = ("_values", "explicit", "notes", "warnings")

    def __init__(self, values: Mapping[str, Any], explicit=frozenset(), notes=(), warnings=()):
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "explicit", frozenset(explicit))
        object.__setattr__(self, "notes", tuple(notes))
        object.__setattr__(self, "warnings", tuple(warnings))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"RunConfig has no option {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("RunConfig is frozen; use replace()")

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"RunConfig({self._values!r})"

    def replace(self, **changes: Any) -> RunConfig:
        unknown = set(changes) - set(self._values)
        if unknown:
            raise AttributeError(f"RunConfig has no option(s) {sorted(unknown)}")
        return RunConfig({**self._values, **changes}, self.explicit, self.notes, self.warnings)

    def is_set(self, name: str) -> bool:
        """True when the user gave this flag on the command line."""
        return name in self.explicit


def build_config(raw: Mapping[str, Any], options: tuple[Option, ...],
                 visible_gpus: Callable[[], int] = lambda: 0,
                 explicit: frozenset[str] | None = None) -> RunConfig:
    """Check every value and every rule; return the frozen configuration.

    ``raw`` may omit flags (their defaults apply). ``explicit`` names the
    flags the user set; by default, every flag present in ``raw``.
    """
    table = {option.name: option for option in options}
    unknown = set(raw) - set(table)
    if unknown:
        raise ConfigError(f"unknown option(s): {', '.join('--' + u for u in sorted(unknown))}")
    explicit = frozenset(raw) if explicit is None else frozenset(explicit)
    values, warnings = {}, []
    for name, option in table.items():
        value = raw.get(name, option.default)
        values[name] = option.check(value)
        if name in explicit and value != option.default:
            _check_status(option, warnings)
    notes = _fit_machine(values, explicit, visible_gpus)
    from cnnb.rules import check_rules
    check_rules(values)
    from cnnb.precision import precision_name, precision_notes
    notes += precision_notes(precision_name(values), values["device"])
    from cnnb.threads import fit_threads
    notes += fit_threads(values, explicit)
    return RunConfig(values, explicit, notes, warnings)


def _check_status(option: Option, warnings: list[str]) -> None:
    if option.status == PLANNED:
        raise ConfigError(f"--{option.name} is not available in cnnb yet: it arrives with "
                          f"cnnb's support for {option.note}; leave it out to run.")
    if option.status == NO_TF2:
        warnings.append(f"warning: --{option.name} has no effect in TF2: {option.note}")


def _fit_machine(values: dict, explicit: frozenset, visible_gpus: Callable[[], int]) -> list[str]:
    """Pick --device and --data_format for this machine unless the user chose them."""
    notes = []
    if "device" not in explicit:
        if visible_gpus() == 0:
            values["device"] = "cpu"
            notes.append("no GPU visible: --device defaults to cpu")
    if "data_format" not in explicit and values["device"] == "cpu":
        values["data_format"] = "NHWC"
        notes.append("on CPU --data_format defaults to NHWC")
    return notes
