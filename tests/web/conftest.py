from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from clamor.app import create_app
from clamor.core.config import Settings
from clamor.storage.database import Database
from tests.conftest import PASSWORD, RoleUsers

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A TestClient that behaves like a person with a browser: reads the CSRF token from the
    page it is on and sends it with its forms."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def get(self, path: str, **kwargs):
        response = self.client.get(path, **kwargs)
        found = CSRF_FIELD.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post_form(self, path: str, data: dict | None = None, *, csrf: bool = True, **kwargs):
        fields = dict(data or {})
        if csrf:
            fields["csrf_token"] = self.csrf
        return self.client.post(path, data=fields, follow_redirects=False, **kwargs)

    def login(self, username: str, password: str = PASSWORD):
        self.get("/login")
        return self.post_form("/login", {"username": username, "password": password, "next": "/"})


def signed_in_as(client: TestClient, username: str) -> Browser:
    """A fresh person on `client` (the previous one's cookies dropped), signed in as `username`."""
    client.cookies.clear()
    person = Browser(client)
    assert person.login(username, PASSWORD).status_code == 303
    return person


@pytest.fixture
def client(settings: Settings, db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db=db), follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def browser(client: TestClient, seeded: RoleUsers) -> Browser:
    return Browser(client)
