"""The opinion briefing over stored monitoring data (SQLite and PostgreSQL): its figures against
the seeded posts counted again here, the previous-period comparison, the kept figures, the page
in both languages, the PDF's Chinese and fonts, the XLSX's numbers and links."""

from __future__ import annotations

import io
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from clamor.accounts import service as accounts
from clamor.core import clock
from clamor.intake.models import Item
from clamor.monitoring.models import AlertRecord, Post, TopicRecord
from clamor.org import service as org
from clamor.reports import briefing
from clamor.reports.models import BriefingRecord
from clamor.storage.database import Database
from tests.reports.test_review_report import _poppler
from tests.web.conftest import Browser, signed_in_as

MORNING = datetime(2026, 3, 10, 0, 30, tzinfo=UTC)  # 08:30 on 10 March in Shanghai
START = datetime(2026, 3, 8, 16, 0, tzinfo=UTC)  # the daily period: 9 March, Shanghai
END = START + timedelta(days=1)
BEFORE = START - timedelta(days=1)


@dataclass(frozen=True)
class Seed:
    at: datetime
    sentiment: str | None
    category: str | None
    topic: str | None
    source: str = "weibo"
    language: str | None = "zh"
    reach: int = 10
    text: str = "帖子"


def seeds() -> list[Seed]:
    rows: list[Seed] = []
    # t1 — a battery fire: 7 posts today (5 negative), 1 yesterday: growing, mostly negative.
    for i in range(7):
        rows.append(
            Seed(START + timedelta(hours=2 + i), "negative" if i < 5 else "neutral",
                 "product_quality", "t1", reach=100 * (i + 1), text=f"电池起火 {i}")
        )  # fmt: skip
    rows.append(Seed(BEFORE + timedelta(hours=5), "negative", "product_quality", "t1"))
    # t2 — leaked phone numbers: 4 data-privacy posts today, 1 yesterday: a privacy rise.
    for i in range(4):
        rows.append(
            Seed(START + timedelta(hours=10, minutes=10 * i), "negative" if i < 2 else "neutral",
                 "data_privacy", "t2", source="forum", reach=50, text=f"手机号泄露 {i}")
        )  # fmt: skip
    rows.append(Seed(BEFORE + timedelta(hours=9), "neutral", "data_privacy", "t2"))
    # Background in English, no topic; one at the very start (in), one at the very end (out).
    rows += [
        Seed(START, "positive", None, None, "twitter", "en", 5, "great service"),
        Seed(START + timedelta(hours=20), "neutral", "service_attitude", None, "twitter", "en"),
        Seed(END - timedelta(seconds=1), "positive", None, None, "twitter", None),
        Seed(END, "negative", "data_privacy", None, "twitter", "en"),
        Seed(BEFORE + timedelta(hours=1), "positive", None, None, "twitter", "en"),
    ]
    return rows


def add_posts(db: Database, rows: list[Seed], first: int = 1) -> None:
    with db.write() as session:
        for n, row in enumerate(rows, start=first):
            item = Item(
                kind="post", source=row.source, external_id=str(n), received_at=row.at,
                published_at=row.at, author=f"user{n}", text=row.text, meta={}, raw=None,
                analysed_at=row.at, analysis={"language": row.language} if row.language else {},
            )  # fmt: skip
            session.add(item)
            session.flush()
            session.add(
                Post(
                    item_id=item.id, at=row.at, bucket=int(row.at.timestamp()) // 300,
                    source=row.source, author=item.author, reach=row.reach,
                    sentiment=row.sentiment, category=row.category, topic_id=row.topic,
                    is_copy=False, detected_at=row.at, seq=n,
                )
            )  # fmt: skip


def add_topics_and_alerts(db: Database) -> None:
    with db.write() as session:
        for topic_id, words, first in (
            ("t1", ["电池", "起火"], BEFORE + timedelta(hours=5)),
            ("t2", ["手机号", "泄露"], BEFORE + timedelta(hours=9)),
        ):
            session.add(
                TopicRecord(
                    id=topic_id, keywords=words, first_seen=first, last_seen=END, volume=5,
                    copies=0, reach=1, sentiment={}, categories={}, timeline={},
                    representative_item_ids=[], updated_at=END,
                )
            )  # fmt: skip
        for book, level, status, raised, topic in (
            ("a1", 4, "open", START + timedelta(hours=4), "t1"),  # raised today, red, open
            ("a2", 3, "acknowledged", START + timedelta(hours=11), "t2"),  # raised today
            ("a3", 2, "open", BEFORE, None),  # yellow: not urgent
            ("a4", 3, "open", BEFORE, None),  # orange, still open since yesterday
        ):
            session.add(
                AlertRecord(
                    key=f"topic:{topic}" if topic else f"category:{book}", book_id=book,
                    topic_id=topic, level=level, score=float(level), reasons=[],
                    keywords=["电池"] if topic == "t1" else [], opened_at=raised,
                    updated_at=raised, raised_at=raised, updates=0, status=status,
                )
            )  # fmt: skip


def publish(db: Database) -> BriefingRecord:
    with db.write() as session:
        assert briefing.publish(session, "daily", MORNING) is not None
    with db.read() as session:
        record = session.scalars(select(BriefingRecord)).one()
        session.expunge(record)
    return record


@pytest.fixture
def kept(db: Database) -> BriefingRecord:
    add_posts(db, seeds())
    add_topics_and_alerts(db)
    return publish(db)


def _in(row: Seed, start: datetime = START, end: datetime = END) -> bool:
    return start <= row.at < end


def test_figures_count_the_seeded_posts(kept: BriefingRecord) -> None:
    data = kept.figures["opinion"]
    today = [r for r in seeds() if _in(r)]
    yesterday = [r for r in seeds() if _in(r, BEFORE, START)]
    negative = [r for r in today if r.sentiment == "negative"]
    assert data["posts"] == len(today) == 14
    assert data["previous_posts"] == len(yesterday) == 3
    assert data["change"] == round((len(today) - len(yesterday)) / len(yesterday), 4)
    assert data["negative"] == len(negative)
    assert data["negative_share"] == round(len(negative) / len(today), 4)
    languages: dict[str, int] = {}
    for r in today:
        languages[r.language or "und"] = languages.get(r.language or "und", 0) + 1
    assert data["by_language"] == languages
    assert data["by_source"] == {
        s: sum(r.source == s for r in today) for s in ("weibo", "forum", "twitter")
    }
    hours = data["trend"]["series"]
    expected = {name: [0] * 24 for name in ("negative", "neutral", "positive")}
    for r in today:
        expected[r.sentiment or "neutral"][int((r.at - START).total_seconds() // 3600)] += 1
    assert hours == expected
    assert sum(map(sum, hours.values())) == len(today)
    assert (
        data["categories"]["data_privacy"] == 4 and data["previous_categories"]["data_privacy"] == 1
    )
    assert data["categories"]["other"] == sum(r.category is None for r in today)

    t1, t2 = data["topics"]
    assert (t1["id"], t1["posts"], t1["previous_posts"], t1["negative"]) == ("t1", 7, 1, 5)
    assert t1["reach"] == sum(r.reach for r in today if r.topic == "t1") == 2800
    assert t1["keywords"] == ["电池", "起火"]
    assert t1["first_seen"] == (BEFORE + timedelta(hours=5)).isoformat()
    assert (t2["id"], t2["posts"], t2["negative_share"]) == ("t2", 4, 0.5)

    assert [(a["level"], a["status"]) for a in data["alerts"]] == [(4, "open"), (3, "acknowledged")]
    assert sorted(a["level"] for a in data["open_alerts"]) == [3, 4]
    codes = [(i["code"], i["target"]) for i in data["attention"]]
    assert codes == [
        ("alert_unacknowledged", {"alert": data["alerts"][0]["id"]}),
        ("alert_unacknowledged", {"alert": data["open_alerts"][1]["id"]}),
        ("topic_growing", {"topic": "t1"}),
        ("privacy_rise", {"category": "data_privacy"}),
    ]
    assert kept.figures["alerts"] == 2
    assert "舆情帖子 posts: 14" in kept.body and "Topic “电池 起火”" in kept.body


def test_kept_figures_stay_when_new_posts_arrive(db: Database, kept: BriefingRecord) -> None:
    add_posts(db, [Seed(START + timedelta(hours=3), "negative", "data_privacy", "t1")], 100)
    with db.read() as session:
        again = session.get(BriefingRecord, kept.id)
        assert again.figures == kept.figures  # kept, not recomputed
        recomputed = briefing.build(session, "daily", MORNING)
    assert recomputed.opinion["posts"] == kept.figures["opinion"]["posts"] + 1
    with db.write() as session:  # and the period is generated only once
        assert briefing.publish(session, "daily", MORNING) is None


def _login_in(client, username: str, language: str, db: Database) -> Browser:
    with db.write() as session:
        user = accounts.get_user(session, username)
        accounts.set_language(session, org.principal_for(session, user), language)
    return signed_in_as(client, username)


def _links(page: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'href="(/monitoring/posts\?[^"]+)"', page)]


def test_the_page_reads_in_both_languages_and_each_number_opens_its_posts(
    client, seeded, db: Database, kept: BriefingRecord
) -> None:
    reader = _login_in(client, "analyst", "zh-CN", db)
    listing = reader.get("/briefings").text
    assert f'href="/briefings/{kept.id}"' in listing and f"/briefings/{kept.id}.pdf" in listing
    page = reader.get(f"/briefings/{kept.id}")
    assert page.status_code == 200
    assert (
        "舆情日报 2026-03-09" in page.text and "建议关注" in page.text and "热点话题" in page.text
    )
    assert "负面话题快速增长" in page.text and "brief." not in page.text
    links = _links(page.text)
    negative = next(link for link in links if "sentiment=negative" in link and "topic" not in link)
    query = parse_qs(urlsplit(negative).query)
    assert query["from"] == [START.isoformat()] and query["to"] == [END.isoformat()]
    shown = reader.get(negative).text
    assert shown.count('class="post-row"') == kept.figures["opinion"]["negative"]
    topic_link = next(link for link in links if "topic=t1" in link)  # the first: its posts
    assert reader.get(topic_link).text.count('class="post-row"') == 7

    english = _login_in(client, "pr_manager", "en", db)
    page_en = english.get(f"/briefings/{kept.id}").text
    assert "Daily briefing 2026-03-09" in page_en and "Recommended attention" in page_en
    assert "Negative topic growing fast" in page_en and "建议关注" not in page_en

    assert english.get("/briefings/999999").status_code == 404
    bad = english.get(f"/briefings/{kept.id}.docx")
    assert bad.status_code == 404 and ".pdf or .xlsx" in bad.text
    stranger = signed_in_as(client, "cs_rep")  # neither leadership nor monitoring
    assert stranger.get(f"/briefings/{kept.id}").status_code == 403
    assert stranger.get(f"/briefings/{kept.id}.xlsx").status_code == 403


def test_the_pdf_holds_the_chinese_with_an_embedded_cjk_font(
    client, seeded, db: Database, kept: BriefingRecord, tmp_path
) -> None:
    pdftotext, pdffonts = _poppler("pdftotext"), _poppler("pdffonts")
    reader = _login_in(client, "gm", "zh-CN", db)
    response = reader.get(f"/briefings/{kept.id}.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    pdf = tmp_path / "briefing.pdf"
    pdf.write_bytes(response.content)
    text = subprocess.run(
        [pdftotext, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    flat = re.sub(r"\s+", "", text)
    assert "舆情日报2026-03-09" in flat and "建议关注" in flat and "电池·起火" in flat
    assert "\ufffd" not in text
    fonts = subprocess.run([pdffonts, str(pdf)], check=True, capture_output=True, text=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all("WenQuanYi" in row[0] for row in rows), fonts
    assert all(row[-5] == "yes" for row in rows), fonts  # the "emb" column: embedded


def test_the_xlsx_keeps_numbers_with_absolute_links_to_their_posts(
    client, seeded, db: Database, kept: BriefingRecord
) -> None:
    from openpyxl import load_workbook

    reader = _login_in(client, "analyst", "en", db)
    response = reader.get(f"/briefings/{kept.id}.xlsx")
    assert response.status_code == 200
    assert "clamor-briefing-daily-2026-03-09.xlsx" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert "Overview" in book.sheetnames and "Top topics" in book.sheetnames
    overview = {row[0].value: row[1] for row in book["Overview"].iter_rows(min_row=4)}
    posts = overview["Posts"]
    assert posts.value == 14
    link = urlsplit(posts.hyperlink.target)
    assert (link.scheme, link.netloc, link.path) == ("http", "testserver", "/monitoring/posts")
    assert parse_qs(link.query) == {"from": [START.isoformat()], "to": [END.isoformat()]}
    negative = overview["Negative posts"]
    assert negative.value == 5 + 2 and "sentiment=negative" in negative.hyperlink.target
    topics = list(book["Top topics"].iter_rows(min_row=4, values_only=True))
    assert topics[0][:3] == ("电池 · 起火", 7, 1)
    followed = reader.get(negative.hyperlink.target.removeprefix("http://testserver"))
    assert followed.text.count('class="post-row"') == negative.value


def test_a_briefing_kept_before_the_opinion_part_still_reads(client, seeded, db: Database) -> None:
    with db.write() as session:
        session.add(
            BriefingRecord(
                period="weekly", period_start=START, period_end=START + timedelta(days=7),
                figures={"complaints": 2, "alerts": 1, "opened": 1, "resolved": 0, "closed": 0,
                         "statements": 0, "open_by_level": {"II": 1}, "overdue_tasks": 0},
                subject="s", body="b", recipients=0, created_at=MORNING,
            )
        )  # fmt: skip
    clock.freeze(MORNING)
    try:
        reader = _login_in(client, "gm", "zh-CN", db)
        with db.read() as session:
            record_id = session.scalars(select(BriefingRecord.id)).one()
        page = reader.get(f"/briefings/{record_id}")
    finally:
        clock.freeze(None)
    assert page.status_code == 200 and "舆情周报" in page.text and "在办 II 级事件" in page.text


def test_the_weekly_briefing_counts_by_beijing_day(db: Database) -> None:
    add_posts(db, seeds())
    with db.read() as session:
        weekly = briefing.build(session, "weekly", MORNING).opinion
    week_start = END - timedelta(days=7)
    in_week = [r for r in seeds() if _in(r, week_start, END)]
    assert weekly["posts"] == len(in_week) and weekly["previous_posts"] == 0
    assert weekly["change"] is None  # nothing the week before: no made-up percentage
    trend = weekly["trend"]
    assert trend["unit"] == "day" and len(trend["starts"]) == 7
    per_day = [sum(trend["series"][s][d] for s in trend["series"]) for d in range(7)]
    assert per_day[6] == len([r for r in in_week if _in(r)])  # 9 March
    assert per_day[5] == len([r for r in in_week if _in(r, BEFORE, START)])  # 8 March
    assert sum(per_day) == len(in_week)


def test_spreadsheet_text_from_posts_never_becomes_a_formula(db: Database) -> None:
    from openpyxl import load_workbook

    from clamor.reports import briefing_doc

    add_posts(db, [Seed(START + timedelta(hours=1), "negative", None, "t9", text="x")])
    with db.write() as session:
        session.add(
            TopicRecord(
                id="t9", keywords=['=HYPERLINK("http://evil","x")'], first_seen=START,
                last_seen=START, volume=1, copies=0, reach=0, sentiment={}, categories={},
                timeline={}, representative_item_ids=[], updated_at=START,
            )
        )  # fmt: skip
    record = publish(db)
    data = briefing_doc.to_xlsx(briefing_doc.layout(record, "en", "http://x"))
    sheet = load_workbook(io.BytesIO(data))["Top topics"]
    cell = sheet.cell(row=4, column=1)
    assert cell.value == '=HYPERLINK("http://evil","x")' and cell.data_type == "s"
    share = sheet.cell(row=4, column=6)
    assert share.value == 1.0 and share.number_format == "0%"
