"""`python -m clamor` is the `clamor` command."""

from clamor.cli.main import run

run()
