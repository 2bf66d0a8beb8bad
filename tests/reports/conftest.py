from tests.web.conftest import client  # noqa: F401 - shared fixtures
from tests.workflow.incidents.conftest import _pii_key, people  # noqa: F401
