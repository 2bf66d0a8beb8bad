"""Hotline / online-platform logs: CSV in UTF-8, UTF-8 with BOM and GBK, XLSX; mapping; dry
run with row errors; good rows in one transaction; re-import never doubles a case — through the
UI over HTTP and through `clamor import`."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from clamor.core.errors import ValidationError
from clamor.intake.connectors import tabular
from clamor.storage.database import Database
from clamor.workflow.complaints import service
from clamor.workflow.complaints.models import Complainant, ComplaintCase
from tests.web.conftest import Browser

HEADER = "工单号,来电时间,客户姓名,联系电话,投诉内容\n"
ROWS = (
    "H-1,2026-03-01 09:30,张三,13812345678,宽带断网三天了，要求退款\n"
    "H-2,2026-03-01 10:00,李四,021-87654321,楼上装修噪音太大\n"
    "H-3,2026-03-02 11:15,王五,,客服态度恶劣，挂我电话\n"
)


def csv_bytes(encoding: str, body: str = ROWS) -> bytes:
    return (HEADER + body).encode(encoding)


def cases(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(ComplaintCase)) or 0


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_every_encoding_is_read_alike(encoding: str) -> None:
    parsed = tabular.parse(csv_bytes(encoding), "log.csv", "hotline", check=service.check)
    assert parsed.errors == [] and len(parsed.good) == 3
    assert parsed.mapping["text"] == "投诉内容" and parsed.mapping["phone"] == "联系电话"
    _, first = parsed.good[0]
    assert first.external_id == "H-1" and first.text == "宽带断网三天了，要求退款"
    assert (
        first.received_at is not None and first.received_at.utcoffset().total_seconds() == 8 * 3600
    )


def test_a_file_in_no_known_encoding_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        tabular.parse(b"text\n\xff\xfe\xfa\xfb\x80\n", "x.csv", "hotline")
    assert caught.value.field == "file"


def test_broken_rows_are_listed_whole_and_the_rest_is_good() -> None:
    body = ROWS + "H-4,2026-03-03 09:00,赵六,13812345678\n" + "H-5,昨天,钱七,13812345678,退款\n"
    body += "H-6,2026-03-03 09:00,孙八,12,退款\n"
    parsed = tabular.parse(csv_bytes("utf-8", body), "log.csv", "hotline", check=service.check)
    assert len(parsed.good) == 3
    assert [(e.row, e.field) for e in parsed.errors] == [
        (5, "row"),
        (6, "received_at"),
        (7, "phone"),
    ]


def test_explicit_mapping_and_its_errors() -> None:
    data = "编号,内容\n1,退款\n".encode()
    parsed = tabular.parse(
        data, "x.csv", "hotline", tabular.parse_mapping("external_id=编号,text=内容")
    )
    assert parsed.good[0][1].text == "退款"
    with pytest.raises(ValidationError) as caught:
        tabular.parse(data, "x.csv", "hotline", tabular.parse_mapping("text=正文"))
    assert caught.value.field == "mapping" and "正文" in caught.value.message
    with pytest.raises(ValidationError):
        tabular.parse_mapping("colour=内容")


def xlsx_bytes() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["ticket", "time", "customer", "phone", "content"])
    sheet.append(["X-1", "2026-03-01 09:30", "Ann", "13812345678", "Refund never arrived"])
    sheet.append([2, None, None, None, "屏幕碎了"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_xlsx_is_read() -> None:
    parsed = tabular.parse(xlsx_bytes(), "log.xlsx", "online_platform", check=service.check)
    assert parsed.errors == []
    assert [c.external_id for _, c in parsed.good] == ["X-1", "2"]


def test_upload_previews_then_imports_in_one_go_and_never_doubles(
    browser: Browser, db: Database
) -> None:
    browser.login("cs_rep")
    browser.get("/complaints/import")
    body = ROWS + "H-4,2026-03-03 09:00,赵六,13812345678\n"
    files = {"file": ("热线.csv", csv_bytes("gbk", body), "text/csv")}
    preview = browser.post_form("/complaints/import", {"channel": "hotline"}, files=files)
    assert preview.status_code == 200 and 'id="row-errors"' in preview.text
    assert "个单元格，而表头有" in preview.text  # the short row, told in the reader's language
    assert "3" in preview.text and cases(db) == 0
    token = preview.text.split('name="token" value="')[1].split('"')[0]
    done = browser.post_form(
        "/complaints/import", {"channel": "hotline", "token": token, "confirm": "1"}
    )
    assert done.status_code == 200 and 'id="import-result"' in done.text
    assert cases(db) == 3
    again = browser.post_form(
        "/complaints/import", {"channel": "hotline", "token": token, "confirm": "1"}
    )
    assert again.status_code == 200 and cases(db) == 3
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Complainant)) == 3


def test_xlsx_upload(browser: Browser, db: Database) -> None:
    browser.login("cs_rep")
    browser.get("/complaints/import")
    files = {"file": ("log.xlsx", xlsx_bytes(), "application/octet-stream")}
    preview = browser.post_form("/complaints/import", {"channel": "online_platform"}, files=files)
    token = preview.text.split('name="token" value="')[1].split('"')[0]
    browser.post_form(
        "/complaints/import", {"channel": "online_platform", "token": token, "confirm": "1"}
    )
    assert cases(db) == 2


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clamor", *args], capture_output=True, text=True, env=env
    )


def test_cli_import_dry_run_then_real(tmp_path: Path, db: Database) -> None:
    import os

    from tests.conftest import TEST_SECRET

    env = {**os.environ, "CLAMOR_DATABASE_URL": db.url, "CLAMOR_SECRET_KEY": TEST_SECRET}
    env.update(LANG="C.UTF-8", LC_ALL="", LC_MESSAGES="")  # the English messages asserted below
    data_dir = str(tmp_path / "data")
    source = tmp_path / "hotline.csv"
    source.write_bytes(csv_bytes("utf-8-sig", ROWS + "H-4,bad time,赵六,13812345678,退款\n"))
    dry = run_cli(
        "import", str(source), "--channel", "hotline", "--dry-run", "--data-dir", data_dir, env=env
    )
    assert dry.returncode == 1 and "row 5: received_at" in dry.stderr
    assert "3 rows good, 1 with errors" in dry.stdout and cases(db) == 0
    real = run_cli("import", str(source), "--channel", "hotline", "--data-dir", data_dir, env=env)
    assert real.returncode == 1 and "3 complaints imported" in real.stdout
    assert cases(db) == 3
    again = run_cli("import", str(source), "--data-dir", data_dir, env=env)
    assert "0 complaints imported, 3 already there" in again.stdout and cases(db) == 3
    bad = run_cli("import", str(source), "--mapping", "text=正文", "--data-dir", data_dir, env=env)
    assert bad.returncode == 2 and bad.stderr.startswith("error: mapping")
