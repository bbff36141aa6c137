"""Errors that cnnb reports to users.

Every error a user can cause derives from :class:`CnnbError`. The CLI turns
these into a one-line message and exit status 2 at its edge (and shows the
traceback only under ``--debug``); library code just raises them.
"""

from __future__ import annotations

import difflib


class CnnbError(Exception):
    """A problem the user can fix; the message says what and how."""


class ConfigError(CnnbError, ValueError):
    """A flag value, or a combination of flags, that cnnb cannot run."""


class OutputError(CnnbError, OSError):
    """A result file that cannot be written (not a regular file, disk full, no
    permission); the message says which and what to do."""


class ResultFormatError(CnnbError, ValueError):
    """A result record cnnb cannot read: another schema version, or not a record."""


class UnknownNameError(CnnbError, LookupError):
    """A plugin name (model, dataset, ...) that no installed plugin provides."""

    def __init__(self, kind: str, name: str, known: list[str], command: str,
                 context: str = "", hint: str = ""):
        self.kind, self.name = kind, name
        matches = close_matches(name, known)
        text = f"unknown {kind} '{name}'{context}."
        if matches:
            text += f" Did you mean: {', '.join(matches)}?"
        text += f" Run '{command}' to list all {len(known)}."
        if hint:
            text += f" {hint}"
        super().__init__(text)


class DuplicateNameError(CnnbError):
    """Two plugins provide the same name; the user must uninstall or block one."""


class PluginLoadError(CnnbError, ImportError):
    """A plugin (or the module behind one of its names) failed to import."""


class TensorFlowMissingError(CnnbError, ImportError):
    """TensorFlow is not installed in this environment."""

    def __init__(self) -> None:
        super().__init__(
            "TensorFlow is not installed. Install it with "
            "\"pip install 'cnnb[cpu]'\" (CPU only) or \"pip install 'cnnb[gpu]'\" (NVIDIA GPUs).")


def close_matches(name: str, known: list[str]) -> list[str]:
    """Up to three known names that look like ``name`` (as click does for options)."""
    return difflib.get_close_matches(name, known, n=3, cutoff=0.6)
