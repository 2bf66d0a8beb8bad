"""Core: configuration, errors, clock, ids, i18n. Imports nothing else of clamor."""
