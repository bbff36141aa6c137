"""An example cnnb model plugin (see plugin.py); the package itself stays empty."""
