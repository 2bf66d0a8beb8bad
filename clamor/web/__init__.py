"""HTTP kit: dependencies, rendering, CSRF, error handling, static files. No routes."""
