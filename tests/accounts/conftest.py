from tests.web.conftest import browser, client  # noqa: F401 - shared fixtures
