"""Clamor: complaints (信访) and public-opinion (舆情) incident management."""

__version__ = "0.1.0"
