"""The demo stream played by `clamor demo` and the watch queries it starts with."""

from __future__ import annotations

from pathlib import Path

STREAM = Path(__file__).parent / "stream.jsonl"
SPEED = 120.0  # two hours of stream in one minute

QUERIES: tuple[tuple[str, str, str], ...] = (
    ("Virgin America", "brand", 'virginamerica OR "virgin america"'),
    ("United", "competitor", "united OR unitedairlines"),
    ("American Airlines", "competitor", 'americanair OR "american airlines"'),
    ("US Airways", "competitor", 'usairways OR "us airways"'),
    ("Southwest", "competitor", "southwestair OR southwest"),
    ("JetBlue", "competitor", "jetblue"),
    ("Delta", "competitor", "delta OR deltaassist"),
    ("Air safety", "other", "(crash* OR plane* OR airbus OR a320) AND NOT delay*"),
)
