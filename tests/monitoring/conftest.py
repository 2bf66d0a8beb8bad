from tests.web.conftest import browser, client  # noqa: F401  (the web fixtures, shared)
