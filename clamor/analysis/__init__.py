"""Analysis: pure functions over one item (language, normalisation, dedup, watch, …)."""
