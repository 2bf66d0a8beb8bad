"""The item the detection core receives: text, time, reach and whatever analysis already found."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class DetectionItem:
    """One post or complaint as detection sees it. Analysis results are optional inputs."""

    item_id: str
    text: str
    at: float  # UNIX seconds (UTC)
    reach: int = 0  # followers + reposts, or whatever the source reports
    author: str | None = None
    source: str | None = None
    lang: str | None = None
    sentiment: str | None = None  # "negative" | "neutral" | "positive"
    category: str | None = None  # risk category, e.g. "data_privacy"
    severity: float | None = None  # 0..1 from the analysis engine
    escalation: bool = False  # escalation words found (see `alerts.escalation_terms`)
    representative_id: str | None = None  # set when the item is a near-copy of that earlier item
    # Text features computed ahead (`clamor.detection.features.DetectionFeatures`); None: the
    # detector computes them itself.
    features: Any = None
