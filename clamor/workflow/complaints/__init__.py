"""Complaint cases (信访): lifecycle, tracking codes, contact keys and reply templates."""
