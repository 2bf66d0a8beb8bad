"""Demo data: a few hundred real complaints built from public datasets, for `clamor demo`."""
