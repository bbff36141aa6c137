"""State shared by the commands of one invocation: flags of the root group and
the plugins, loaded once on first use."""

from __future__ import annotations

import importlib.metadata

PLUGIN_GROUP = "cnnb"     # the entry-point group of cnnb plugins (as cnnb.pluginmanager)


class Session:
    """What the root group's flags decided, and the plugins they let load.

    ``block`` must run before anything asks for ``plugins``: click builds the
    ``run`` command (whose options come from plugins) before it calls the root
    group's callback, so ``--no-plugin`` is stored by an eager option callback.
    """

    def __init__(self):
        self.debug = False
        self.blocked: tuple[str, ...] = ()
        self._plugins = None
        self.plugin_commands = None

    def block(self, names) -> None:
        """Keep these plugins (entry-point or distribution names) from loading.

        Plugins already loaded are dropped, so that what they registered
        cannot leak into a command that runs after the block.
        """
        self.blocked = tuple(names)
        self._plugins = None
        self.plugin_commands = None

    @property
    def plugins(self):
        if self._plugins is None:
            from cnnb.pluginmanager import load_plugins
            self._plugins = load_plugins(self.blocked)
        return self._plugins


def installed_plugin_names() -> set[str]:
    """Entry-point and distribution names of every installed cnnb plugin, read from
    package metadata: nothing is imported, so checking ``--no-plugin`` stays cheap."""
    names = set()
    for entry_point in importlib.metadata.entry_points(group=PLUGIN_GROUP):
        names.add(entry_point.name)
        if entry_point.dist is not None:
            names.add(entry_point.dist.metadata["Name"])
    return names


def unknown_block_warnings(blocked, known: set[str]) -> list[str]:
    """One ``warning:`` line per blocked name that no plugin has, with close names."""
    from cnnb.errors import close_matches
    warnings = []
    for name in dict.fromkeys(blocked):
        if name in known:
            continue
        matches = close_matches(name, sorted(known))
        hint = f" Did you mean: {', '.join(matches)}?" if matches else ""
        warnings.append(f"warning: --no-plugin {name}: no installed plugin entry point or "
                        f"distribution has this name, so nothing was blocked.{hint} "
                        "Run 'cnnb plugins' to list them.")
    return warnings
