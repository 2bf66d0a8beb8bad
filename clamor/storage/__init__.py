"""Storage: engine, declarative base, portable column types, sessions, locks."""
