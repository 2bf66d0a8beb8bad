"""Benchmark of complaint intake and the inbox, on SQLite and on PostgreSQL.

    python benchmarks/complaints.py [--quick] [--json] [--cases 100000] [--no-pipeline]
                                    [--backends sqlite,postgresql] [--intake-only]

The app is built and started as `clamor serve` does it (embedded pipeline running, models loaded
and the start-up heap settled by the app's lifespan); `--no-pipeline` as `clamor serve
--no-pipeline` does.

Intake (items/s, everything included: validation, intake item stored first, analysis, case,
complainant encrypted, repeat detection, SLA, audit, commit):
- API batch: POST /api/v1/complaints/batch with 1,000 complaints per request, over HTTP
  (in-process ASGI client) with a bearer token;
- CSV import: a GBK hotline file parsed, checked and imported in one transaction.

Inbox latency (p50/p95 ms of GET /api/v1/complaints, 50 items a page) once the database holds
`--cases` cases. The cases beyond those taken in above are bulk-inserted directly (real texts
from the demo fixture with a serial number appended; statuses, priorities, categories, channels
and SLA states spread like a working inbox; search postings written as intake writes them),
because taking in 100,000 complaints through the
analysis only to measure a query would take most of an hour.

`--quick`: 2,000 cases, intake of 300 by API and 300 by CSV (about a minute on a busy
machine). `--json`: every figure as one JSON object on the last line. PostgreSQL is skipped
(and said so) when it cannot be reached (its server: CLAMOR_TEST_POSTGRES_URL).
`--backends sqlite`: one back end only; `--intake-only`: the intake figures only (no inbox
fill, no latency) — for comparing intake runs quickly.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from clamor.accounts import service as accounts  # noqa: E402
from clamor.bootstrap import open_database  # noqa: E402
from clamor.core.config import Settings  # noqa: E402
from clamor.core.principal import SYSTEM  # noqa: E402
from clamor.intake.connectors import tabular  # noqa: E402
from clamor.intake.models import Item  # noqa: E402
from clamor.org import service as org  # noqa: E402
from clamor.storage.database import Database  # noqa: E402
from clamor.workflow.complaints import search, service  # noqa: E402
from clamor.workflow.complaints.models import ComplaintCase  # noqa: E402
from clamor.workflow.complaints.tracking import tracking_code  # noqa: E402

SECRET = "benchmark-secret"
FIXTURE = json.loads((ROOT / "clamor" / "demo" / "complaints.json").read_text(encoding="utf-8"))
DEFAULT_ORG = ROOT / "clamor" / "org" / "default_org.yaml"
PG_ADMIN = os.environ.get(
    "CLAMOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
QUERIES: dict[str, dict[str, str]] = {
    "list": {},
    "filter status": {"status": "in_progress"},
    "filter category+priority": {"category": "service_attitude", "priority": "high"},
    "filter sla breached": {"sla_state": "breached"},
    "search 退款 (2 chars)": {"q": "退款"},
    "search 噪音 (rare)": {"q": "噪音"},
    "search refund (en, no match)": {"q": "refund"},
    "search luggage (en)": {"q": "luggage"},
    "search flight (en prefix)": {"q": "flight"},
    "search fl (en prefix, 13% of cases)": {"q": "fl"},
    "search c (1-letter prefix: common)": {"q": "c"},
    "search flight 退款 (prefix + word, none has both)": {"q": "flight 退款"},
    "search 退款 流程 (2 terms)": {"q": "退款 流程"},
    "search 噪 (1 char, rare)": {"q": "噪"},
    "search 鑫 (1 char, no match)": {"q": "鑫"},
    "search 噪音 + status": {"q": "噪音", "status": "in_progress"},
}


def texts(count: int, tag: str) -> list[str]:
    return [f"{FIXTURE[i % len(FIXTURE)]['text']} #{tag}{i}" for i in range(count)]


def setup(url: str, *, pipeline: bool = True) -> tuple[Database, Any, dict[str, str]]:
    """The app built as `clamor serve` builds it (`--no-pipeline`: as the web tier does): its
    settings, its database opened and migrated by `open_database`, `create_app`, and its
    lifespan run (models loaded, start-up heap settled) before the first request."""
    from fastapi.testclient import TestClient

    from clamor.app import create_app

    settings = Settings(data_dir=Path(tempfile.mkdtemp()), database_url=url, secret_key=SECRET)
    db = open_database(settings)
    with db.write() as session:
        org.import_yaml(session, SYSTEM, DEFAULT_ORG.read_text(encoding="utf-8"))
        accounts.create_user(session, SYSTEM, username="bench", password="bench-password-1")
        org.update_person(
            session, SYSTEM, "cs_manager", name="Bench", email=None, phone=None, username="bench"
        )
        secret = accounts.create_token(session, SYSTEM, "bench", "b", ["complaints:write"]).secret
    client = TestClient(create_app(settings, db=db, pipeline=pipeline))
    client.__enter__()  # one event loop for every request, as a served app has; runs the lifespan
    # A server starts once and runs for days: measure it once its analysis processes have
    # loaded their models, not while they compete with the first requests for the cores.
    runner = getattr(client.app.state, "pipeline", None)
    if runner is not None and not runner.ready.wait(300):
        raise SystemExit("the embedded pipeline's analysis processes did not start in 300 s")
    return db, client, {"Authorization": f"Bearer {secret}"}


def api_batches(client: Any, headers: dict[str, str], batches: int, size: int) -> float:
    total, started = 0, time.perf_counter()
    for number in range(batches):
        items = [
            {"external_id": f"api-{number}-{i}", "text": body, "phone": f"139{i % 10**8:08d}"}
            for i, body in enumerate(texts(size, f"a{number}-"))
        ]
        response = client.post("/api/v1/complaints/batch", json={"items": items}, headers=headers)
        response.raise_for_status()
        total += response.json()["created"]
    return total / (time.perf_counter() - started)


def csv_import(db: Database, rows: int) -> float:
    lines = ["工单号,来电时间,联系电话,投诉内容"]
    for i, body in enumerate(texts(rows, "csv")):
        quoted = body.replace('"', "")
        lines.append(f'H{i},2026-03-01 09:{i % 60:02d},1380000{i % 10000:04d},"{quoted}"')
    data = ("\n".join(lines) + "\n").encode("gb18030")
    started = time.perf_counter()
    parsed = tabular.parse(data, "hotline.csv", "hotline", check=service.check)
    with db.write() as session:
        outcomes = service.submit_ids(session, SYSTEM, [c for _, c in parsed.good])
    return sum(o.created for o in outcomes) / (time.perf_counter() - started)


STATUSES = (
    ["received"] * 2
    + ["acknowledged", "accepted", "assigned"]
    + ["in_progress"] * 3
    + ["awaiting_customer", "replied", "awaiting_feedback"]
    + ["closed"] * 6
    + ["rejected"]
)
CATEGORIES = (
    ["product_quality"] * 4
    + ["service_attitude"] * 3
    + ["data_privacy", "social_responsibility", "other", "other"]
)
PRIORITIES = ["urgent", "high", "high", "normal", "normal", "normal", "low", "low"]
CHANNELS = ["hotline", "online_platform", "webform", "email", "feedback_system", "api"]
SLA = {
    "closed": "done",
    "rejected": "done",
    "awaiting_customer": "paused",
    "awaiting_feedback": "paused",
}


def fill(db: Database, target: int, chunk: int = 5000) -> None:
    """Bulk-insert items and cases until the database holds `target` cases."""
    with db.read() as session:
        have = session.scalar(select(ComplaintCase.id).order_by(ComplaintCase.id.desc()).limit(1))
        count = session.execute(text("SELECT count(*) FROM complaint_cases")).scalar_one()
    rng = random.Random(7)
    now = datetime.now(UTC)
    serial = (have or 0) + 1
    while count < target:
        n = min(chunk, target - count)
        bodies = texts(n, f"f{serial}-")
        item_rows = [
            {
                "kind": "complaint",
                "source": "bulk",
                "external_id": f"bulk-{serial + i}",
                "received_at": now - timedelta(minutes=(target - count - i)),
                "text": body,
                "meta": {},
                "analysed_at": now,
            }
            for i, body in enumerate(bodies)
        ]
        with db.write() as session:
            ids = session.scalars(insert(Item).returning(Item.id), item_rows).all()
            case_rows = []
            for i, item_id in enumerate(ids):
                status = rng.choice(STATUSES)
                received = item_rows[i]["received_at"]
                case_rows.append(
                    {
                        "tracking_code": tracking_code(),
                        "item_id": item_id,
                        "channel": rng.choice(CHANNELS),
                        "subject": bodies[i][:60],
                        "language": "zh-CN",
                        "status": status,
                        "priority": rng.choice(PRIORITIES),
                        "category": rng.choice(CATEGORIES),
                        "severity": rng.randint(0, 80),
                        "p_negative": rng.random(),
                        "received_at": received,
                        "updated_at": received,
                        "sla_cycle": 0,
                        "pauses": [],
                        "sla_state": SLA.get(
                            status, rng.choice(["ok", "ok", "warning", "breached"])
                        ),
                    }
                )
            case_ids = session.scalars(
                insert(ComplaintCase).returning(ComplaintCase.id, sort_by_parameter_order=True),
                case_rows,
            ).all()
            search.index_cases(
                session,
                [
                    (cid, row["subject"], bodies[i])
                    for i, (cid, row) in enumerate(zip(case_ids, case_rows, strict=True))
                ],
            )
        count += n
        serial += n
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    else:
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE"))


def latency(client: Any, headers: dict[str, str], runs: int) -> dict[str, dict[str, float]]:
    figures = {}
    for name, params in QUERIES.items():
        client.get("/api/v1/complaints", params=params, headers=headers).raise_for_status()
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get("/api/v1/complaints", params=params, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
        times.sort()
        figures[name] = {
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
            "rows": len(response.json()["items"]),
        }
    return figures


def postgres_database() -> tuple[str, Any] | None:
    name = f"clamor_bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"PostgreSQL skipped: {exc}", file=sys.stderr)
        return None
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", (admin, name)


def run(backend: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    db, client, headers = setup(url, pipeline=not args.no_pipeline)
    batches, size, csv_rows = (1, 300, 300) if args.quick else (3, 1000, 5000)
    result: dict[str, Any] = {
        "api_batch_items_per_s": round(api_batches(client, headers, batches, size), 1),
        "csv_import_items_per_s": round(csv_import(db, csv_rows), 1),
    }
    if not args.intake_only:
        started = time.perf_counter()
        fill(db, args.cases)
        result["fill_seconds"] = round(time.perf_counter() - started, 1)
        result["cases"] = args.cases
        result["inbox"] = latency(client, headers, 20 if args.quick else 50)
    client.__exit__(None, None, None)
    db.dispose()
    return result


def table(results: dict[str, dict[str, Any]]) -> str:
    backends = list(results)
    lines = ["| measure | " + " | ".join(backends) + " |", "|---|" + "---|" * len(backends)]
    for key, label in (
        ("api_batch_items_per_s", "intake, API batch (items/s)"),
        ("csv_import_items_per_s", "intake, CSV import (items/s)"),
    ):
        lines.append(f"| {label} | " + " | ".join(str(results[b][key]) for b in backends) + " |")
    if any("inbox" not in results[b] for b in backends):
        return "\n".join(lines)
    for name in QUERIES:
        cells = [
            f"{results[b]['inbox'][name]['p50_ms']} / {results[b]['inbox'][name]['p95_ms']}"
            for b in backends
        ]
        lines.append(f"| inbox {name}, p50 / p95 ms | " + " | ".join(cells) + " |")
    cases = {results[b]["cases"] for b in backends}
    lines.append(f"\n{', '.join(str(c) for c in cases)} cases stored.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-pipeline", action="store_true", help="the app of a web-only tier")
    parser.add_argument("--cases", type=int, default=None)
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--intake-only", action="store_true", help="no inbox fill or latency")
    args = parser.parse_args()
    args.cases = args.cases or (2_000 if args.quick else 100_000)
    backends = {b.strip() for b in args.backends.split(",")}
    results: dict[str, dict[str, Any]] = {}
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory() as folder:
            results["sqlite"] = run("sqlite", f"sqlite:///{folder}/bench.db", args)
    pg = postgres_database() if "postgresql" in backends else None
    if pg is not None:
        url, (admin, name) = pg
        try:
            results["postgresql"] = run("postgresql", url, args)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(table(results))
    if args.json:
        print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
