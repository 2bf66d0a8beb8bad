"""The posts list (/monitoring/posts) where a briefing's numbers lead: filters, keyset pages of
50 newest first, escaped text, Beijing time, clear errors for bad filters, permission."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from clamor.monitoring import browse
from clamor.storage.database import Database
from tests.reports.test_opinion_briefing import Seed, add_posts
from tests.web.conftest import Browser

T0 = datetime(2026, 3, 9, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


def seed_many(db: Database) -> list[Seed]:
    rows = [
        Seed(
            T0 + timedelta(minutes=7 * i),
            ("negative", "neutral", "positive")[i % 3],
            "data_privacy" if i % 5 == 0 else None,
            "t1" if i % 2 else None,
            source="weibo" if i % 4 else "twitter",
            language="en" if i % 4 == 0 else "zh",
            text=f"post {i:03d} 电池",
        )
        for i in range(120)
    ]
    # Two posts at the very same moment: the cursor must not lose or repeat either.
    rows.append(Seed(T0 + timedelta(minutes=7 * 60), "negative", None, None, text="twin A"))
    rows.append(Seed(T0 + timedelta(minutes=7 * 60), "negative", None, None,
                     text="<script>alert(1)</script>"))  # fmt: skip
    add_posts(db, rows)
    return rows


def _rows(page: str) -> int:
    return page.count('class="post-row"')


def test_pages_of_fifty_newest_first_lose_and_repeat_nothing(
    browser: Browser, db: Database
) -> None:
    seeded = seed_many(db)
    browser.login("analyst")
    path, seen, pages = "/monitoring/posts", [], 0
    while path:
        response = browser.get(path)
        assert response.status_code == 200
        text = response.text
        seen += [int(x) for x in re.findall(r'data-item="(\d+)"', text)]
        pages += 1
        found = re.search(r'href="([^"]+)" rel="next"', text)
        path = found.group(1).replace("&amp;", "&") if found else ""
    assert pages == 3 and len(seen) == len(seeded) == len(set(seen))
    first = browser.get("/monitoring/posts").text
    assert first.index("post 119") < first.index("post 118")  # newest first
    script = browser.get("/monitoring/posts?q=script").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in script and "<script>alert(1)" not in script
    assert "2026-03-09 21:53" in first  # post 119 at 13:53 UTC, shown in Beijing time


def test_filters_narrow_the_list(browser: Browser, db: Database) -> None:
    seeded = seed_many(db)
    browser.login("analyst")

    def count(**params) -> int:
        query = browse.posts_query_string(**params)
        with db.read() as session:
            chosen = browse.PostFilter.parse(dict(parse_qsl(query)))
            page = browse.list_posts(session, chosen, size=500)
        shown = browser.get("/monitoring/posts?" + query).text
        assert _rows(shown) == min(len(page.rows), 50)
        return len(page.rows)

    start, end = T0 + timedelta(hours=1), T0 + timedelta(hours=3)
    assert count(start=start, end=end) == sum(start <= r.at < end for r in seeded)
    assert count(sentiment="negative") == sum(r.sentiment == "negative" for r in seeded)
    assert count(category="data_privacy") == sum(r.category == "data_privacy" for r in seeded)
    assert count(category="other") == sum(r.category is None for r in seeded)
    assert count(topic="t1") == sum(r.topic == "t1" for r in seeded)
    assert count(source="twitter") == sum(r.source == "twitter" for r in seeded)
    assert count(language="en") == sum(r.language == "en" for r in seeded)
    assert count(q="POST 00") == 10  # case-insensitive keyword
    assert count(q="100%") == 0  # LIKE wildcards are searched for, not used
    both = count(topic="t1", sentiment="negative", source="weibo")
    assert both == sum(
        r.topic == "t1" and r.sentiment == "negative" and r.source == "weibo" for r in seeded
    )
    local = browser.get("/monitoring/posts?from=2026-03-09T09:00&to=2026-03-09T11:00").text
    assert _rows(local) == sum(start <= r.at < end for r in seeded)  # no zone: Beijing time
    typed = browser.get("/monitoring/posts?from=2026-03-09 09:00&to=2026-03-09 11:00")
    assert 'placeholder="YYYY-MM-DD HH:MM"' in typed.text  # as the placeholder says to type it
    assert _rows(typed.text) == _rows(local)


def test_bad_filters_get_a_clear_error_and_strangers_none(browser: Browser, db: Database) -> None:
    browser.login("analyst")
    bad = browser.get("/monitoring/posts?from=yesterday")
    assert bad.status_code == 422 and "from：“yesterday”不是有效的日期时间" in bad.text
    assert browser.get("/monitoring/posts?sentiment=angry").status_code == 422
    backwards = browser.get("/monitoring/posts?from=2026-03-10T00:00&to=2026-03-09T00:00")
    assert backwards.status_code == 422 and "截止时间必须晚于起始时间" in backwards.text
    assert browser.get("/monitoring/posts?cursor=nonsense").status_code == 422
    browser.client.cookies.clear()
    stranger = Browser(browser.client)
    stranger.login("cs_rep")
    assert stranger.get("/monitoring/posts").status_code == 403
