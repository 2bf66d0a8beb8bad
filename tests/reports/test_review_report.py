"""The review report as PDF and DOCX: rendered to PNG, Chinese text extracted again (so every
glyph was in the font), the CJK font embedded, and the figures equal to the incident page's."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clamor.core import clock
from clamor.reports import review
from clamor.storage.database import Database
from clamor.workflow.incidents import service
from tests.conftest import service_missing
from tests.web.conftest import Browser
from tests.workflow.incidents.conftest import assessed

NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
CAUSES = "第三方短信接口未做鉴权，导致手机号可被批量查询。"


@pytest.fixture(autouse=True)
def _frozen() -> object:
    clock.freeze(NOW)
    yield
    clock.freeze(None)


def _poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        service_missing(f"{tool} not found (apt-get install poppler-utils)")
    return str(path)


def _reviewed_incident(db: Database, people) -> int:
    incident_id = assessed(db, people, "II")
    with db.write() as session:
        service.instruct_from_playbook(session, people["cs_manager"], incident_id)
        service.act(session, people["cs_rep"], incident_id, "respond")
        service.act(
            session, people["cs_manager"], incident_id, "resolve", {"resolution_summary": "已修复"}
        )
        service.save_review(
            session,
            people["cs_manager"],
            incident_id,
            summary="用户反映接到诈骗电话，经查为短信接口漏洞。",
            causes=CAUSES,
            improvements="所有对外接口上线前做安全评审。",
        )
        service.add_improvement(
            session,
            people["cs_manager"],
            incident_id,
            text="接口鉴权整改",
            owner="cs_manager",
            due_on="2026-04-01",
        )
    return incident_id


def _figures(db: Database, incident_id: int) -> dict[str, int]:
    with db.read() as session:
        rec = service.record(session, incident_id)
    return {
        "tasks": rec.task_figures.total,
        "on_time": rec.task_figures.done_on_time,
        "late": rec.task_figures.late,
        "published": rec.published,
    }


def test_pdf_renders_chinese_with_an_embedded_cjk_font(db, people, tmp_path: Path) -> None:
    pdftoppm, pdftotext, pdffonts = (_poppler(t) for t in ("pdftoppm", "pdftotext", "pdffonts"))
    incident_id = _reviewed_incident(db, people)
    with db.read() as session:
        doc = review.build(session, incident_id, "zh-CN")
    pdf = tmp_path / "review.pdf"
    pdf.write_bytes(review.to_pdf(doc))

    subprocess.run([pdftoppm, "-png", "-r", "60", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages and all(p.stat().st_size > 5_000 for p in pages)

    text = subprocess.run(
        [pdftotext, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    flat = re.sub(r"\s+", "", text)
    assert f"事件#{incident_id}总结复盘报告" in flat  # in the body and in the page header
    assert re.sub(r"\s+", "", CAUSES) in flat
    assert "各环节时效" in flat and "改进措施跟踪" in flat and "接口鉴权整改" in flat
    assert "\ufffd" not in text  # no glyph lost on the way

    fonts = subprocess.run([pdffonts, str(pdf)], check=True, capture_output=True, text=True).stdout
    names = [line.split()[0] for line in fonts.splitlines()[2:] if line.strip()]
    assert names and all("WenQuanYi" in name for name in names), fonts


def test_report_figures_equal_the_incident_page(db, people, client) -> None:
    incident_id = _reviewed_incident(db, people)
    figures = _figures(db, incident_id)
    with db.read() as session:
        doc = review.build(session, incident_id, "zh-CN")
    facts = dict(doc.sections[0].rows)
    assert facts["任务数"] == str(figures["tasks"])
    assert facts["按时完成"] == str(figures["on_time"])
    assert facts["超时"] == str(figures["late"])
    assert facts["已发布声明"] == str(figures["published"])

    browser = Browser(client)
    browser.login("gm")
    page = browser.get(f"/incidents/{incident_id}").text
    shown = dict(re.findall(r'data-figure="(\w+)">(\d+)<', page))
    assert shown["tasks_total"] == str(figures["tasks"])
    assert shown["tasks_on_time"] == str(figures["on_time"])
    assert shown["tasks_late"] == str(figures["late"])
    assert shown["published"] == str(figures["published"])
    html = browser.get(f"/incidents/{incident_id}/report.html")
    assert html.status_code == 200 and CAUSES in html.text
    pdf = browser.get(f"/incidents/{incident_id}/report.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_docx_sets_the_east_asian_font_and_holds_the_text(db, people) -> None:
    from docx import Document
    from docx.oxml.ns import qn

    incident_id = _reviewed_incident(db, people)
    with db.read() as session:
        data = review.to_docx(review.build(session, incident_id, "zh-CN"))
    document = Document(io.BytesIO(data))
    paragraphs = [p.text for p in document.paragraphs]
    assert f"事件 #{incident_id} 总结复盘报告" in paragraphs
    assert CAUSES in paragraphs
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    assert "接口鉴权整改" in cells and "任务数" in cells
    runs = [r for p in document.paragraphs for r in p.runs if r.text]
    assert runs
    assert all(r._element.rPr.rFonts.get(qn("w:eastAsia")) == review.CJK_FONT for r in runs)


def test_report_times_are_beijing_time(db, people) -> None:
    incident_id = _reviewed_incident(db, people)
    with db.read() as session:
        html = review.to_html(review.build(session, incident_id, "zh-CN"))
    # NOW is 02:00 UTC: the leadership group reads 10:00, marked as UTC+8.
    assert "2026-03-09 10:00 (UTC+8)" in html and "02:00 UTC" not in html
