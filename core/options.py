"""The declarative option table's building blocks.

One :class:`Option` per flag. The table (:mod:`cnnb.option_table`) plus the
options that plugins add through ``cnnb_add_options`` is the single source of
the click options, their help text, and the enum/bound checks of the frozen
:class:`cnnb.config.RunConfig`. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import glob
import importlib.metadata
import os
from collections.abc import Callable, Mapping
from typing import Any

from cnnb.errors import ConfigError, close_matches

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
    note: str = ""       # why a NO_TF2 flag does nothing, or which feature a PLANNED one awaits
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
            raise ConfigError(self._choices_error(value))
        if self.min is not None and value < self.min:
            raise ConfigError(f"--{self.name}={value} is too small; it must be >= {self.min}.")
        if self.max is not None and value > self.max:
            raise ConfigError(f"--{self.name}={value} is too large; it must be <= {self.max}.")
        return value

    def _choices_error(self, value: Any) -> str:
        """Name the choices, and any close to the value: a typo is the usual cause."""
        shown = ", ".join(repr(c) if c == "" else str(c) for c in self.choices)
        text = f"--{self.name}={value} is not valid; choose one of: {shown}."
        matches = close_matches(str(value), [str(c) for c in self.choices if c != ""])
        if matches:
            text += f" Did you mean: {', '.join(matches)}?"
        return text


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


def nvidia_gpu_visible(environ: Mapping[str, str] = os.environ, dev_dir: str = "/dev",
                       driver_dir: str = "/proc/driver/nvidia/gpus") -> bool:
    """Whether this process can probably see an NVIDIA GPU, judged without TensorFlow.

    ``cnnb run --help`` shows the defaults that the machine check of
    :mod:`cnnb.config` will pick, and importing TensorFlow to count GPUs would
    make help take seconds. A device node ``/dev/nvidiaN`` (or a GPU listed by
    the driver) with ``CUDA_VISIBLE_DEVICES`` not hiding them all is a GPU;
    the run itself still asks TensorFlow.
    """
    hidden = environ.get("CUDA_VISIBLE_DEVICES")
    if hidden is not None and (not hidden.strip() or hidden.strip().startswith("-")):
        return False      # '' or '-1' (CUDA stops at the first invalid id): no GPU
    nodes = [path for path in glob.glob(os.path.join(dev_dir, "nvidia*"))
             if os.path.basename(path)[len("nvidia"):].isdigit()]
    return bool(nodes) or (os.path.isdir(driver_dir) and bool(os.listdir(driver_dir)))


def tensorflow_is_cpu_only() -> bool:
    """True when the installed TensorFlow is the ``tensorflow-cpu`` build (cnnb's
    ``cpu`` extra), which sees no GPU even where one is plugged in. Reads
    package metadata only."""
    def installed(name: str) -> bool:
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            return False
        return True
    return installed("tensorflow-cpu") and not installed("tensorflow")


def gpu_probably_visible() -> bool:
    """The cheap guess behind ``cnnb run --help``'s machine defaults."""
    return nvidia_gpu_visible() and not tensorflow_is_cpu_only()


def machine_default_help(option: Option,
                         gpu_visible: Callable[[], bool] = gpu_probably_visible) -> str | None:
    """Help text for a default that cnnb fits to the machine (see cnnb.config), or
    None for an option whose default is the same everywhere. ``gpu_visible`` is
    asked only for those options."""
    if option.name == "device":
        here = "gpu" if gpu_visible() else "cpu"
        return f"(default here: {here}; gpu where one is visible)"
    if option.name == "data_format":
        here = "NCHW" if gpu_visible() else "NHWC"
        return f"(default here: {here}; NCHW on a GPU)"
    return None
