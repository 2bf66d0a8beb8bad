"""Incidents (舆情/信访 events): lifecycle, assessment, statements, playbooks and tasks."""
