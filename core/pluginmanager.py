"""Finding, loading and registering plugins.

stevedore imports the modules named in the ``cnnb`` entry-point group; each
one is registered with a pluggy :class:`~pluggy.PluginManager` against the
specs of :mod:`cnnb.hookspecs`; then each plugin's registration hooks fill
the per-kind registries. A module that fails to import, or whose
registration raises, is recorded as broken and everything else keeps
working. Loading happens in one explicit call, never at import time.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import logging
import os
import traceback

import pluggy
from stevedore import NamedExtensionManager

from cnnb import hookspecs
from cnnb.registry import KINDS, KindRegistry, Provider

GROUP = "cnnb"
OWN_DISTRIBUTION = "cnnb"
LOG = logging.getLogger(__name__)

REGISTRATION_HOOKS = {
    "model": "cnnb_register_models",
    "dataset": "cnnb_register_datasets",
    "preprocessor": "cnnb_register_preprocessors",
    "variable_manager": "cnnb_register_variable_managers",
    "allreduce": "cnnb_register_allreduce",
}


@dataclasses.dataclass
class PluginInfo:
    """One entry point of the ``cnnb`` group, loaded or broken."""

    name: str
    target: str
    distribution: str
    version: str
    module: object = None
    error: BaseException | None = None

    @property
    def broken(self) -> bool:
        return self.error is not None

    @property
    def provider(self) -> Provider:
        return Provider(self.name, self.distribution, self.version)

    def describe_error(self) -> str:
        return (f"plugin '{self.name}' ({self.distribution} {self.version}, {self.target}) "
                f"failed to load: {type(self.error).__name__}: {self.error}")

    def traceback(self) -> str:
        return "".join(traceback.format_exception(self.error)) if self.error else ""


class Plugins:
    """The loaded plugins: the pluggy manager, their infos and the registries."""

    def __init__(self, pm: pluggy.PluginManager, infos: list[PluginInfo]):
        self.pm = pm
        self.hook = pm.hook
        self.infos = infos
        self.registries = {kind: KindRegistry(kind) for kind in KINDS}

    def registry(self, kind: str) -> KindRegistry:
        return self.registries[kind]

    @property
    def broken(self) -> list[PluginInfo]:
        return [info for info in self.infos if info.broken]

    def hooks_of(self, info: PluginInfo) -> list[str]:
        if info.module is None:
            return []
        return sorted(caller.name for caller in self.pm.get_hookcallers(info.module) or [])


def discover(blocked: tuple[str, ...] = ()) -> list[PluginInfo]:
    """Every entry point of the group (not yet imported), minus the blocked ones."""
    only_own = os.environ.get("CNNB_DISABLE_PLUGIN_AUTOLOAD", "") not in ("", "0")
    infos = []
    for entry_point in importlib.metadata.entry_points(group=GROUP):
        dist = entry_point.dist
        dist_name = dist.metadata["Name"] if dist is not None else "unknown"
        version = dist.version if dist is not None else ""
        if entry_point.name in blocked or dist_name in blocked:
            continue
        if only_own and dist_name != OWN_DISTRIBUTION:
            continue
        infos.append(PluginInfo(entry_point.name, entry_point.value, dist_name, version))
    return sorted(infos, key=lambda info: (info.distribution != OWN_DISTRIBUTION, info.name))


def load_plugins(blocked: tuple[str, ...] = (), extra: tuple = ()) -> Plugins:
    """Import every plugin module with stevedore and fill the registries.

    ``extra``: plugin objects registered in-process (modules or objects with
    ``@cnnb.hookimpl`` functions), e.g. a test's plugin that is not installed;
    they are attributed to distribution "unknown" in listings."""
    infos = discover(blocked)
    by_name = {info.name: info for info in infos}

    def on_failure(_manager, entry_point, error):
        by_name[entry_point.name].error = error
        LOG.debug("plugin %s failed to load", entry_point.name, exc_info=error)

    manager = NamedExtensionManager(GROUP, names=list(by_name), invoke_on_load=False,
                                    on_load_failure_callback=on_failure,
                                    name_order=True)
    pm = pluggy.PluginManager("cnnb")
    pm.add_hookspecs(hookspecs)
    for extension in manager:
        info = by_name[extension.name]
        try:
            pm.register(extension.plugin, name=info.name)
            info.module = extension.plugin
        except Exception as error:     # a malformed hook implementation
            info.error = error
    for plugin in extra:
        pm.register(plugin)
    pm.check_pending()
    if os.environ.get("CNNB_TRACE_PLUGINS", "") not in ("", "0"):
        pm.trace.root.setwriter(print)
        pm.enable_tracing()
    plugins = Plugins(pm, infos)
    _fill_registries(plugins)
    return plugins


def _fill_registries(plugins: Plugins) -> None:
    """Call each plugin's registration hooks one plugin at a time, for attribution."""
    for kind, hook_name in REGISTRATION_HOOKS.items():
        registry = plugins.registry(kind)
        for impl in getattr(plugins.hook, hook_name).get_hookimpls():
            info = next((i for i in plugins.infos if i.module is impl.plugin), None)
            if info is None:    # registered in-process (pm.register), not by an entry point
                info = PluginInfo(impl.plugin_name, repr(impl.plugin), "unknown", "", impl.plugin)
                plugins.infos.append(info)
            if info.broken:
                continue
            registry._provider = info.provider
            try:
                impl.function(registry=registry)
            except Exception as error:
                info.error = error
            finally:
                registry._provider = None
    for registry in plugins.registries.values():
        registry.broken_plugins = plugins.broken
