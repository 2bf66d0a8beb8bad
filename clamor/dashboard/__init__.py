"""The dashboard and the plan's overview pages (outputs: they read state, never change it)."""
