"""docs/workflow.md shows the transition tables as the code has them, and the package's
permission vocabulary covers every table."""

from __future__ import annotations

from pathlib import Path

import pytest

from clamor.workflow.complaints.states import CASE_TABLE
from clamor.workflow.incidents.statements import STATEMENT_TABLE
from clamor.workflow.incidents.states import INCIDENT_TABLE
from clamor.workflow.incidents.tasks import TASK_TABLE
from clamor.workflow.transitions import TransitionTable, markdown_table
from clamor.workflow.vocabulary import ALL_PERMISSIONS

DOC = Path(__file__).parents[2] / "docs" / "workflow.md"
TABLES = [CASE_TABLE, INCIDENT_TABLE, STATEMENT_TABLE, TASK_TABLE]


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_docs_show_the_current_table(table: TransitionTable) -> None:  # type: ignore[type-arg]
    doc = DOC.read_text(encoding="utf-8")
    assert markdown_table(table) in doc, f"docs/workflow.md is stale for the {table.name} table"


def test_every_permission_is_used_or_known_to_be_elsewhere() -> None:
    used = {rule.permission for table in TABLES for rule in table.rules}
    # Not on a transition: reading a case, revealing PII (services), the GM's approval (level
    # check in statements.apply).
    elsewhere = {"complaints.read", "complaints.reveal_pii", "statements.approve_major"}
    assert used | elsewhere == ALL_PERMISSIONS
