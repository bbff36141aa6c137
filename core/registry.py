"""Name -> driver registries, one per kind of plugin.

Registration hooks receive a :class:`KindRegistry` and call
:meth:`KindRegistry.register`. The target may be the driver object itself or a
``"package.module:attribute"`` string that is imported only when the name is
chosen, so that registering (and listing) never imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from cnnb.errors import DuplicateNameError, PluginLoadError, UnknownNameError

#: kind -> (listing command, what the kind is called in messages)
KINDS = {
    "model": ("cnnb models", "model"),
    "dataset": ("cnnb datasets", "dataset"),
    "preprocessor": ("cnnb preprocessors", "preprocessor"),
    "variable_manager": ("cnnb variable-managers", "variable manager"),
    "allreduce": ("cnnb allreduce", "all-reduce algorithm"),
}


@dataclasses.dataclass(frozen=True)
class Provider:
    """Who registered a name: the plugin (entry-point name) and its distribution."""

    plugin: str
    distribution: str
    version: str

    def __str__(self) -> str:
        return f"plugin '{self.plugin}' ({self.distribution} {self.version})"


@dataclasses.dataclass(frozen=True)
class Entry:
    """One registered name. ``scope`` separates same-named drivers (e.g. a model's
    ImageNet and CIFAR-10 variants); ``metadata`` is free-form, JSON-friendly."""

    kind: str
    name: str
    target: Any
    description: str
    provider: Provider
    scope: str | None = None
    metadata: dict = dataclasses.field(default_factory=dict)

    def load(self) -> Any:
        """The driver object; imports a lazy ``module:attr`` target now."""
        if not isinstance(self.target, str):
            return self.target
        module_name, _, attribute = self.target.partition(":")
        try:
            module = importlib.import_module(module_name)
            return getattr(module, attribute) if attribute else module
        except Exception as error:
            raise PluginLoadError(
                f"{KINDS[self.kind][1]} '{self.name}' from {self.provider} failed to load "
                f"'{self.target}': {type(error).__name__}: {error}") from error


class KindRegistry:
    """The names of one kind. Conflicts are kept, not raised, so that one bad
    pair of plugins does not stop every other name from working."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[tuple[str, str | None], list[Entry]] = {}
        self.broken_plugins: list = []       # set by the plugin manager
        self._provider: Provider | None = None

    def register(self, name: str, target: Any, description: str = "", *,
                 scope: str | None = None, **metadata: Any) -> None:
        """Add ``name``. Called from a plugin's ``cnnb_register_*`` hook."""
        if not name or not isinstance(name, str):
            raise ValueError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        provider = self._provider or Provider("<direct>", "unknown", "")
        entry = Entry(self.kind, name, target, description or _first_doc_line(target),
                      provider, scope, dict(metadata))
        self._entries.setdefault((name, scope), []).append(entry)

    def entries(self) -> list[Entry]:
        """Every registration, conflicting ones included, sorted by name."""
        rows = [entry for group in self._entries.values() for entry in group]
        return sorted(rows, key=lambda e: (e.name, e.scope or ""))

    def names(self, scope: str | None = None) -> list[str]:
        return sorted({n for (n, s) in self._entries if scope is None or s == scope})

    def conflicts(self) -> dict[tuple[str, str | None], list[Entry]]:
        return {key: group for key, group in self._entries.items() if len(group) > 1}

    def get(self, name: str, scope: str | None = None, context: str = "") -> Entry:
        """The one entry for ``name``; a clear error when it is unknown or ambiguous."""
        group = self._entries.get((name, scope))
        if not group:
            self._raise_unknown(name, scope, context)
        if len(group) > 1:
            providers = " and ".join(str(entry.provider) for entry in group)
            raise DuplicateNameError(
                f"{KINDS[self.kind][1]} '{name}' is provided by both {providers}; uninstall "
                f"one, or skip one with 'cnnb --no-plugin NAME'.")
        return group[0]

    def _raise_unknown(self, name: str, scope: str | None, context: str) -> None:
        """Unknown name: a broken plugin of that very name explains it; otherwise
        suggest close matches and mention any broken plugin that might provide it."""
        command, label = KINDS[self.kind]
        exact = [p for p in self.broken_plugins if p.name == name]
        if exact:
            raise PluginLoadError(f"{label} '{name}': {exact[0].describe_error()}")
        hint = ""
        if self.broken_plugins:
            hint = ("Plugins that failed to load may provide it: "
                    + "; ".join(p.describe_error() for p in self.broken_plugins) + ".")
        raise UnknownNameError(label, name, self.names(scope), command, context, hint)


def _first_doc_line(target: Any) -> str:
    doc = getattr(target, "__doc__", None) if not isinstance(target, str) else None
    return doc.strip().splitlines()[0] if doc and doc.strip() else ""
