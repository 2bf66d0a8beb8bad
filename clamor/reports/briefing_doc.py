"""A kept briefing laid out for reading: the web page, PDF and XLSX.

`layout` turns a `BriefingRecord` (its kept figures — never recomputed) into a
`BriefingDocument` of sections and cells in the reader's language; every number about posts
carries a link to the posts list filtered to exactly those posts (`/monitoring/posts?…`). The
renderers only lay the document out: the page through the site's Jinja templates, the PDF
through WeasyPrint in the house print style (review.PRINT_STYLE), the XLSX through openpyxl with a
hyperlink on each linked cell (absolute addresses, since a spreadsheet has no site to be
relative to). Outputs read state; they never change it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jinja2 import Environment, select_autoescape

from clamor.core.clock import LOCAL_ZONE
from clamor.core.i18n import translate
from clamor.monitoring.browse import posts_query_string
from clamor.reports.models import BriefingRecord
from clamor.reports.opinion import CATEGORIES, SENTIMENTS
from clamor.reports.review import PRINT_STYLE, html_to_pdf

LEVEL_NAMES = {1: "blue", 2: "yellow", 3: "orange", 4: "red"}
ROMAN = {1: "IV", 2: "III", 3: "II", 4: "I"}


@dataclass(frozen=True)
class Cell:
    text: str
    href: str | None = None
    number: int | float | None = None  # the raw value, for a spreadsheet cell
    number_format: str | None = None  # how a spreadsheet shows it ("0%")


PERCENT = "0%"
CHANGE = "+0%;-0%;0%"


@dataclass(frozen=True)
class Section:
    key: str
    heading: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True)
class BriefingDocument:
    id: int
    title: str
    period: str  # "2026-03-09 00:00 – 2026-03-10 00:00 (UTC+8)"
    generated_at: str
    language: str
    sections: tuple[Section, ...]


def _local(moment: datetime | str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_ZONE).strftime(fmt)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.0f}%"


class _Builder:
    """Holds the reader's language, the site's address and the period, to make cells."""

    def __init__(self, record: BriefingRecord, language: str, base: str) -> None:
        self.language = language
        self.base = base.rstrip("/")
        self.start, self.end = record.period_start, record.period_end
        self.previous_start = self.start - (self.end - self.start)

    def t(self, key: str, **params: object) -> str:
        return translate(key, self.language, **params)

    def posts(self, value: int, *, previous: bool = False, **filters: Any) -> Cell:
        """A count of posts, linked to those posts (in the period unless told otherwise)."""
        start = filters.pop("start", self.previous_start if previous else self.start)
        end = filters.pop("end", self.start if previous else self.end)
        query = posts_query_string(start=start, end=end, **filters)
        return Cell(str(value), f"{self.base}/monitoring/posts?{query}", value)

    def link(self, text: str, path: str, number: int | float | None = None) -> Cell:
        return Cell(text, f"{self.base}{path}", number)

    def section(self, key: str, headers: tuple[str, ...], rows: list[tuple[Cell, ...]]) -> Section:
        return Section(key, self.t(f"brief.section.{key}"), headers, tuple(rows))


def _overview(b: _Builder, figures: dict[str, Any], data: dict[str, Any]) -> Section:
    t = b.t
    rows: list[tuple[Cell, ...]] = []
    if data:
        share = data["negative_share"]
        rows += [
            (Cell(t("brief.posts")), b.posts(data["posts"])),
            (Cell(t("brief.previous_posts")), b.posts(data["previous_posts"], previous=True)),
            (
                Cell(t("brief.change")),
                Cell(_percent(data["change"]), number=data["change"], number_format=CHANGE),
            ),
            (Cell(t("brief.negative")), b.posts(data["negative"], sentiment="negative")),
            (
                Cell(t("brief.negative_share")),
                Cell(f"{share * 100:.0f}%", number=share, number_format=PERCENT),
            ),
        ]
    rows += [
        (
            Cell(t("brief.complaints")),
            b.link(str(figures["complaints"]), "/complaints", figures["complaints"]),
        ),
        (
            Cell(t("brief.alerts")),
            b.link(str(figures["alerts"]), "/monitoring/alerts?status=", figures["alerts"]),
        ),
        (Cell(t("brief.opened")), Cell(str(figures["opened"]), number=figures["opened"])),
        (Cell(t("brief.resolved")), Cell(str(figures["resolved"]), number=figures["resolved"])),
        (Cell(t("brief.closed")), Cell(str(figures["closed"]), number=figures["closed"])),
        (
            Cell(t("brief.statements")),
            Cell(str(figures["statements"]), number=figures["statements"]),
        ),
        (
            Cell(t("brief.overdue_tasks")),
            b.link(str(figures["overdue_tasks"]), "/incidents", figures["overdue_tasks"]),
        ),
    ]
    for level, count in figures.get("open_by_level", {}).items():
        label = t("brief.open_level", level=level)
        rows.append((Cell(label), b.link(str(count), "/incidents", count)))
    return b.section("overview", (t("brief.figure"), t("brief.value")), rows)


def _breakdown(b: _Builder, key: str, counts: dict[str, int], total: int) -> Section:
    rows = [
        (Cell(name), b.posts(n, **{key: name}), Cell(f"{n / total * 100:.0f}%" if total else "—"))
        for name, n in counts.items()
    ]
    headers = (b.t(f"brief.{key}"), b.t("brief.posts"), b.t("brief.share"))
    return b.section(f"by_{key}", headers, rows)


def _trend(b: _Builder, trend: dict[str, Any]) -> Section:
    step = timedelta(hours=1) if trend["unit"] == "hour" else timedelta(days=1)
    fmt = "%m-%d %H:00" if trend["unit"] == "hour" else "%Y-%m-%d"
    rows = []
    for index, start in enumerate(trend["starts"]):
        slot_start = datetime.fromisoformat(start)
        slot_end = slot_start + step
        cells = [Cell(_local(slot_start, fmt))]
        total = 0
        for name in SENTIMENTS:
            count = trend["series"][name][index]
            total += count
            cells.append(b.posts(count, start=slot_start, end=slot_end, sentiment=name))
        cells.append(b.posts(total, start=slot_start, end=slot_end))
        rows.append(tuple(cells))
    headers = (
        b.t(f"brief.unit.{trend['unit']}"),
        *(b.t(f"mon.sentiment.{name}") for name in SENTIMENTS),
        b.t("brief.total"),
    )
    return b.section("trend", headers, rows)


def _change(now: int, before: int) -> Cell:
    ratio = round(now / before - 1, 4) if before else None
    return Cell(_percent(ratio), number=ratio, number_format=CHANGE)


def _categories(b: _Builder, data: dict[str, Any]) -> Section:
    rows = []
    for name in CATEGORIES:
        now, before = data["categories"].get(name, 0), data["previous_categories"].get(name, 0)
        rows.append(
            (
                Cell(b.t(f"incidents.cat.{name}")),
                b.posts(now, category=name),
                b.posts(before, previous=True, category=name),
                _change(now, before),
            )
        )
    headers = (
        b.t("mon.category"),
        b.t("brief.posts"),
        b.t("brief.previous_posts"),
        b.t("brief.change"),
    )
    return b.section("categories", headers, rows)


def _topics(b: _Builder, topics: list[dict[str, Any]]) -> Section:
    rows = [
        (
            b.link(
                " · ".join(topic["keywords"][:6]) or topic["id"],
                f"/monitoring/topics/{topic['id']}",
            ),
            b.posts(topic["posts"], topic=topic["id"]),
            b.posts(topic["previous_posts"], previous=True, topic=topic["id"]),
            Cell(f"{topic['reach']:,}", number=topic["reach"]),
            b.posts(topic["negative"], topic=topic["id"], sentiment="negative"),
            Cell(
                f"{topic['negative_share'] * 100:.0f}%",
                number=topic["negative_share"],
                number_format=PERCENT,
            ),
            Cell(_local(topic["first_seen"]) if topic["first_seen"] else "—"),
        )
        for topic in topics
    ]
    headers = (
        b.t("mon.keywords"),
        b.t("brief.posts"),
        b.t("brief.previous_posts"),
        b.t("mon.reach"),
        b.t("brief.negative"),
        b.t("brief.negative_share"),
        b.t("mon.first_seen"),
    )
    return b.section("topics", headers, rows)


def _alerts(b: _Builder, alerts: list[dict[str, Any]]) -> Section:
    rows = []
    for alert in alerts:
        level = alert["level"]
        words = " · ".join(alert["keywords"][:6]) or alert["key"]
        colour = f"mon.level.{LEVEL_NAMES.get(level, 'blue')}"
        target = (
            f"/monitoring/topics/{alert['topic_id']}"
            if alert["topic_id"]
            else f"/monitoring/alerts?status={alert['status']}#alert-{alert['id']}"
        )
        rows.append(
            (
                b.link(
                    f"#{alert['id']}",
                    f"/monitoring/alerts?status={alert['status']}#alert-{alert['id']}",
                ),
                Cell(f"{ROMAN.get(level, '?')} · {b.t(colour)}"),
                b.link(words, target),
                Cell(b.t(f"mon.status.{alert['status']}")),
                Cell(_local(alert["raised_at"])),
            )
        )
    headers = (
        b.t("mon.alert"),
        b.t("mon.level"),
        b.t("mon.keywords"),
        b.t("mon.status"),
        b.t("brief.raised_at"),
    )
    return b.section("alerts", headers, rows)


def attention_text(item: dict[str, Any], language: str) -> str:
    """Why an item needs attention, in the reader's language (from its kept figures)."""
    return translate(f"brief.why.{item['code']}", language, **item["params"])


def _attention(b: _Builder, items: list[dict[str, Any]]) -> Section:
    rows = []
    for item in items:
        target = item["target"]
        if "alert" in target:
            cell = b.link(
                b.t("brief.open"), f"/monitoring/alerts?status=open#alert-{target['alert']}"
            )
        elif "topic" in target:
            cell = b.posts(item["params"]["posts"], topic=target["topic"])
        elif "category" in target:
            cell = b.posts(item["params"]["posts"], category=target["category"])
        else:
            cell = b.link(str(item["params"]["count"]), "/incidents", item["params"]["count"])
        rows.append(
            (Cell(b.t(f"brief.rule.{item['code']}")), Cell(attention_text(item, b.language)), cell)
        )
    headers = (b.t("brief.rule"), b.t("brief.why"), b.t("brief.see"))
    return b.section("attention", headers, rows)


def layout(record: BriefingRecord, language: str, base: str = "") -> BriefingDocument:
    """The kept briefing as a document in `language`; links start with `base` (the site)."""
    b = _Builder(record, language, base)
    figures = record.figures
    data = figures.get("opinion") or {}  # briefings kept before the opinion part have none
    sections = [_overview(b, figures, data)]
    if data:
        sections += [
            _attention(b, data["attention"]),
            _trend(b, data["trend"]),
            _categories(b, data),
            _breakdown(b, "language", data["by_language"], data["posts"]),
            _breakdown(b, "source", data["by_source"], data["posts"]),
            _topics(b, data["topics"]),
            _alerts(b, data["alerts"]),
        ]
    day = _local(record.period_start, "%Y-%m-%d")
    return BriefingDocument(
        id=record.id,
        title=b.t(f"brief.title.{record.period}", day=day),
        period=f"{_local(record.period_start)} – {_local(record.period_end)} (UTC+8)",
        generated_at=_local(record.created_at),
        language=language,
        sections=tuple(sections),
    )


# --- PDF ----------------------------------------------------------------------------------------

_PDF_TEMPLATE = """<!doctype html>
<html lang="{{ doc.language }}"><head><meta charset="utf-8"><title>{{ doc.title }}</title>
<style>
{{ print_style|safe }}
a { color: #1f4e79; text-decoration: none; }
</style></head>
<body>
<h1>{{ doc.title }}</h1>
<p class="meta">{{ doc.period }} · {{ generated }} {{ doc.generated_at }}</p>
{% for s in doc.sections %}
<section><h2>{{ s.heading }}</h2>
<table><thead><tr>{% for h in s.headers %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for r in s.rows %}<tr>{% for c in r %}<td>
{%- if c.href %}<a href="{{ c.href }}">{{ c.text }}</a>{% else %}{{ c.text }}{% endif -%}
</td>{% endfor %}</tr>
{% else %}<tr><td colspan="{{ s.headers|length }}">{{ none }}</td></tr>{% endfor %}
</tbody></table></section>
{% endfor %}
</body></html>
"""

_ENV = Environment(autoescape=select_autoescape(default=True))


def to_pdf_html(doc: BriefingDocument) -> str:
    return _ENV.from_string(_PDF_TEMPLATE).render(
        doc=doc,
        print_style=PRINT_STYLE,
        generated=translate("briefings.generated", doc.language),
        none=translate("brief.none", doc.language),
    )


def to_pdf(doc: BriefingDocument) -> bytes:
    return html_to_pdf(to_pdf_html(doc))


# --- XLSX ---------------------------------------------------------------------------------------


def _sheet_title(heading: str, taken: set[str]) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\ , unique in the book."""
    title = "".join("_" if ch in "[]:*?/\\" else ch for ch in heading)[:31] or "sheet"
    candidate, n = title, 2
    while candidate in taken:
        candidate, n = f"{title[:28]} {n}", n + 1
    taken.add(candidate)
    return candidate


def to_xlsx(doc: BriefingDocument) -> bytes:
    """One sheet per section; numbers stay numbers, and a linked cell opens its posts."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    taken: set[str] = set()
    for section in doc.sections:
        sheet = book.create_sheet(_sheet_title(section.heading, taken))
        sheet.append([doc.title])
        sheet["A1"].font = Font(bold=True)
        sheet.append([doc.period])
        sheet.append(list(section.headers))
        for cell in sheet[3]:
            cell.font = Font(bold=True)
        for row in section.rows:
            sheet.append([c.number if c.number is not None else c.text for c in row])
            for target, source in zip(sheet[sheet.max_row], row, strict=True):
                if source.number is None:
                    # Text stays text, never a formula: keywords and sources come from public
                    # posts, and a keyword "=HYPERLINK(…)" must not run in the reader's Excel.
                    target.data_type = "s"
                if source.href:
                    target.hyperlink = source.href
                    target.style = "Hyperlink"
                if source.number_format and source.number is not None:
                    target.number_format = source.number_format
        for column, width in zip("ABCDEFG", (28, 14, 14, 14, 14, 14, 18), strict=True):
            sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
