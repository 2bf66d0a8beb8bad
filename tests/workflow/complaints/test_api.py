"""The REST channel over real HTTP: one complaint, batches with a result per item, idempotency,
token scopes, and bad input."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from clamor.accounts import service as accounts
from clamor.core.principal import SYSTEM
from clamor.intake.models import Item
from clamor.storage.database import Database
from clamor.workflow.complaints.models import ComplaintCase
from tests.conftest import RoleUsers


def token(
    db: Database, user: str = "cs_rep", scopes: tuple[str, ...] = ("complaints:write",)
) -> dict:
    with db.write() as session:
        secret = accounts.create_token(session, SYSTEM, user, "intake", list(scopes)).secret
    return {"Authorization": f"Bearer {secret}"}


def cases(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(ComplaintCase)) or 0


@pytest.fixture
def auth(db: Database, seeded: RoleUsers) -> dict:
    return token(db)


def test_one_complaint_gets_a_tracking_code(client: TestClient, db: Database, auth: dict) -> None:
    body = {"external_id": "crm-1", "text": "订单退款一直没到账", "phone": "13812345678"}
    first = client.post("/api/v1/complaints", json=body, headers=auth)
    assert first.status_code == 201 and first.json()["result"] == "created"
    again = client.post("/api/v1/complaints", json=body, headers=auth)
    assert again.status_code == 200 and again.json()["result"] == "existing"
    assert again.json()["tracking_code"] == first.json()["tracking_code"]
    read = client.get(f"/api/v1/complaints/{first.json()['tracking_code']}", headers=auth)
    assert read.status_code == 200 and read.json()["contact"]["phone"] == "138****5678"


def test_a_batch_reports_each_item_and_stores_the_good_ones(
    client: TestClient, db: Database, auth: dict
) -> None:
    items = [{"external_id": f"b{i}", "text": f"第{i}个投诉：快递丢失"} for i in range(5)]
    items[2] = {"external_id": "b2", "text": ""}
    items[3]["phone"] = "not a phone"
    items.append({"external_id": "b0", "text": "第0个投诉：快递丢失"})
    response = client.post("/api/v1/complaints/batch", json={"items": items}, headers=auth)
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["existing"], body["errors"]) == (3, 1, 2)
    by_index = {r["index"]: r for r in body["results"]}
    assert by_index[2]["error"]["field"] == "text"
    assert by_index[3]["error"]["field"] == "phone"
    assert by_index[5]["result"] == "existing" and by_index[5]["id"] == by_index[0]["id"]
    assert cases(db) == 3


def test_a_batch_over_1000_is_refused_whole(client: TestClient, db: Database, auth: dict) -> None:
    items = [{"external_id": str(i), "text": "t"} for i in range(1001)]
    response = client.post("/api/v1/complaints/batch", json={"items": items}, headers=auth)
    assert response.status_code == 422 and response.json()["field"] == "items"
    assert cases(db) == 0


def test_idempotency_key_replays_the_answer_and_refuses_another_body(
    client: TestClient, db: Database, auth: dict
) -> None:
    headers = {**auth, "Idempotency-Key": "req-7"}
    body = {"items": [{"external_id": "i1", "text": "退款"}]}
    first = client.post("/api/v1/complaints/batch", json=body, headers=headers)
    second = client.post("/api/v1/complaints/batch", json=body, headers=headers)
    assert first.json() == second.json() and second.headers["Idempotent-Replayed"] == "true"
    assert second.json()["created"] == 1  # the replayed answer, not a new "existing"
    other = {"items": [{"external_id": "i2", "text": "噪音"}]}
    conflict = client.post("/api/v1/complaints/batch", json=other, headers=headers)
    assert conflict.status_code == 409 and conflict.json()["field"] == "Idempotency-Key"
    assert cases(db) == 1


def test_scopes_and_permissions(client: TestClient, db: Database, seeded: RoleUsers) -> None:
    body = {"external_id": "s1", "text": "退款"}
    reader = token(db, scopes=("complaints:read",))
    assert client.post("/api/v1/complaints", json=body, headers=reader).status_code == 403
    no_rights = token(db, user="pr_manager")
    assert client.post("/api/v1/complaints", json=body, headers=no_rights).status_code == 403
    anonymous = client.post("/api/v1/complaints", json=body)
    assert anonymous.status_code == 403  # neither a token nor a cookie session with CSRF
    assert cases(db) == 0


def test_an_oversized_body_is_refused(client: TestClient, db: Database, auth: dict) -> None:
    huge = {"external_id": "big", "text": "退" * 21_000_000}
    response = client.post("/api/v1/complaints", json=huge, headers=auth)
    assert response.status_code == 413 and cases(db) == 0
    long_text = {"external_id": "long", "text": "退" * 50_001}
    response = client.post("/api/v1/complaints", json=long_text, headers=auth)
    assert response.status_code == 422 and response.json()["field"] == "text"
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Item)) == 0


def test_actions_over_the_api(client: TestClient, db: Database, seeded: RoleUsers) -> None:
    manager = token(db, user="cs_manager", scopes=("complaints:write",))
    created = client.post(
        "/api/v1/complaints", json={"external_id": "a", "text": "退款"}, headers=manager
    ).json()
    url = f"/api/v1/complaints/{created['id']}/actions"
    illegal = client.post(url, json={"action": "close_satisfied"}, headers=manager)
    assert illegal.status_code == 409 and illegal.json()["error"] == "invalid_transition"
    missing = client.post(url, json={"action": "reject"}, headers=manager)
    assert missing.status_code == 422 and missing.json()["field"] == "reason"
    done = client.post(url, json={"action": "acknowledge"}, headers=manager)
    assert done.status_code == 200 and done.json()["status"] == "acknowledged"
    assert "accept" in done.json()["allowed_actions"]
    listed = client.get("/api/v1/complaints?status=acknowledged", headers=manager).json()
    assert [c["id"] for c in listed["items"]] == [created["id"]]
    bad = client.get("/api/v1/complaints?status=nonsense", headers=manager)
    assert bad.status_code == 422 and bad.json()["field"] == "status"
