"""The `clamor` command line."""
