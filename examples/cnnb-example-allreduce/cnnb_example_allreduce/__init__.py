"""An example cnnb all-reduce plugin: registration in plugin.py, the algorithm in tree.py."""
