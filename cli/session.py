"""State shared by the commands of one invocation: flags of the root group and
the plugins, loaded once on first use."""

from __future__ import annotations


class Session:
    def __init__(self):
        self.debug = False
        self.blocked: tuple[str, ...] = ()
        self._plugins = None
        self.plugin_commands = None

    @property
    def plugins(self):
        if self._plugins is None:
            from cnnb.pluginmanager import load_plugins
            self._plugins = load_plugins(self.blocked)
        return self._plugins
