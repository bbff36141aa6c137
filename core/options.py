"""The declarative option table's building blocks.

One :class:`Option` per flag. The table (:mod:`cnnb.option_table`) plus the
options that plugins add through ``cnnb_add_options`` is the single source of
the click options, their help text, and the enum/bound checks of the frozen
:class:`cnnb.config.RunConfig`. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from cnnb.errors import ConfigError

#: What a flag means in cnnb.
ACTIVE = "active"        # implemented
NO_TF2 = "no_tf2"        # predecessor flag with no meaning in TF2: accepted, one-line warning
PLANNED = "planned"      # meaningful, not implemented yet: rejected with a clear error

_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off"}


@dataclasses.dataclass(frozen=True)
class Option:
    """One flag: name (the predecessor's snake_case), type, default and checks."""

    name: str
    type: type
    default: Any
    help: str
    choices: tuple | None = None
    min: float | None = None
    max: float | None = None
    status: str = ACTIVE
    note: str = ""               # why a NO_TF2 flag does nothing, or which feature a PLANNED one awaits
    group: str = "benchmark"
    normalize: Callable[[Any], Any] | None = None   # e.g. 'CPU' -> 'cpu'

    @property
    def is_flag(self) -> bool:
        return self.type is bool

    @property
    def kebab(self) -> str:
        return self.name.replace("_", "-")

    def check(self, value: Any) -> Any:
        """Return the normalized value, or raise ConfigError naming the flag."""
        if value is None:
            return None
        if self.normalize is not None:
            value = self.normalize(value)
        if self.choices is not None and value not in self.choices:
            shown = ", ".join(repr(c) if c == "" else str(c) for c in self.choices)
            raise ConfigError(f"--{self.name}={value} is not valid; choose one of: {shown}.")
        if self.min is not None and value < self.min:
            raise ConfigError(f"--{self.name}={value} is too small; it must be >= {self.min}.")
        if self.max is not None and value > self.max:
            raise ConfigError(f"--{self.name}={value} is too large; it must be <= {self.max}.")
        return value


def parse_bool(text: str) -> bool | None:
    """'true'/'false' (and 1/0, yes/no) as a bool; None for anything else."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def rewrite_bool_values(args: list[str], flags: set[str]) -> list[str]:
    """Turn ``--flag=true|false`` into ``--flag``/``--noflag`` before click parses.

    absl accepted both spellings and old command lines use them; click flags
    take no value, so the rewrite keeps those command lines working.
    ``flags`` holds the boolean option names in snake and kebab case.
    """
    out = []
    for arg in args:
        if arg.startswith("--") and "=" in arg:
            name, _, value = arg[2:].partition("=")
            if name in flags:
                parsed = parse_bool(value)
                if parsed is None:
                    raise ConfigError(f"--{name}={value}: expected true or false.")
                negative = f"--no-{name}" if "-" in name else f"--no{name}"
                arg = f"--{name}" if parsed else negative
        out.append(arg)
    return out


def lower_case(value: str) -> str:
    return value.lower()


def upper_case(value: str) -> str:
    return value.upper()
