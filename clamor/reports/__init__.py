"""Outputs that read state and never change it: the incident review report (HTML, PDF, DOCX)."""
