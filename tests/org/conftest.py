"""The HTTP fixtures (`client`, `browser`) for the organisation pages."""

from tests.web.conftest import browser, client  # noqa: F401 - shared fixtures
