"""Drills (plan §5, training): an incident run in drill mode from a scenario file, kept apart
from real incidents and statistics (`Incident.is_drill`), worked through the same pages, with
each step's time measured against the deadlines of its level (`deadlines.step_results`).

A scenario is plain data (YAML/JSON):

    title: 演练：App 泄露用户手机号
    summary: 微博上出现用户手机号泄露的帖子，转发量快速上升
    category: data_privacy
    suggested_level: II            # optional: what the replayed alert graded it
    reasons: [2 小时内 320 条帖子, 负面 85%]
    report: true                   # optional: open it already reported (the drill starts at
                                   # assessment)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from clamor.core.errors import ValidationError
from clamor.core.principal import Principal
from clamor.workflow.incidents import service
from clamor.workflow.incidents.assessment import Level
from clamor.workflow.incidents.models import Incident


def open_drill(session: Session, actor: Principal, scenario: Mapping[str, Any]) -> Incident:
    """Open a drill incident from a scenario; ValidationError names a bad field."""
    if not isinstance(scenario, Mapping):
        raise ValidationError.keyed("error.incidents.scenario_not_mapping", field="file")
    known = {"title", "summary", "category", "suggested_level", "reasons", "report"}
    unknown = sorted(set(scenario) - known)
    if unknown:
        raise ValidationError.keyed(
            "error.incidents.unknown_scenario_field", field=unknown[0], name=repr(unknown[0])
        )
    level = scenario.get("suggested_level")
    if level is not None and level not in {lv.value for lv in Level}:
        raise ValidationError.keyed(
            "error.incidents.unknown_level", field="suggested_level", value=repr(level)
        )
    reasons = scenario.get("reasons") or []
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise ValidationError.keyed("error.incidents.reasons_not_strings", field="reasons")
    incident = service.open_incident(
        session,
        actor,
        title=str(scenario.get("title") or ""),
        summary=str(scenario.get("summary") or ""),
        category=str(scenario.get("category") or ""),
        is_drill=True,
    )
    if level is not None:
        incident.suggested_level = level
        incident.suggested_reasons = [{"code": "scenario", "en": r, "zh": r} for r in reasons]
    if scenario.get("report"):
        service.act(session, actor, incident.id, "report")
    return incident
