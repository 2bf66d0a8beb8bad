"""Intake: every incoming complaint and public post is stored first, exactly once per
(source, external id), before anything else happens to it."""
