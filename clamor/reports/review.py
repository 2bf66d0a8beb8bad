"""The incident review report (plan §4.6) as HTML, PDF and DOCX.

`build` reads the incident's record once (`incidents.service.record`: the same figures the
incident page shows) into a `ReviewDocument` of plain strings; the three renderers only lay it
out. PDF goes through WeasyPrint with a CJK font named in the body *and* in the `@page` margin
boxes (headers and page numbers), DOCX through python-docx with the East-Asian font set on
every run, so Chinese renders on machines without Office fonts.

Outputs read state; they never change it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime

from jinja2 import Environment, select_autoescape
from sqlalchemy.orm import Session

from clamor.core import clock
from clamor.core.clock import LOCAL_ZONE
from clamor.core.i18n import pick, translate
from clamor.workflow.incidents import service

CJK_FONT = "WenQuanYi Micro Hei"
FONT_STACK = f'"{CJK_FONT}", "Noto Sans CJK SC", "Source Han Sans SC", sans-serif'


@dataclass(frozen=True)
class Section:
    heading: str
    headers: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    text: str = ""


@dataclass(frozen=True)
class ReviewDocument:
    title: str
    subtitle: str
    language: str
    generated_at: str
    sections: tuple[Section, ...] = field(default_factory=tuple)


def _fmt(moment: datetime | None) -> str:
    """A moment in Beijing time, the time the report's readers (the leadership group) keep."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M (UTC+8)")


def _duration(hours: float | None) -> str:
    return "—" if hours is None else f"{hours:.1f} h"


def build(session: Session, incident_id: int, language: str) -> ReviewDocument:
    def t(key: str, **params: object) -> str:
        return translate(key, language, **params)

    rec = service.record(session, incident_id)
    incident = rec.incident
    level = incident.level or "—"
    facts = (
        (t("incidents.number"), f"#{incident.id}"),
        (t("incidents.category"), t(f"incidents.cat.{incident.category}")),
        (t("incidents.level"), level),
        (t("incidents.state"), t(f"incidents.state.{incident.state}")),
        (t("incidents.opened_at"), _fmt(incident.opened_at)),
        (t("incidents.resolved_at"), _fmt(incident.resolved_at)),
        (t("incidents.linked_complaints"), str(len(rec.complaints))),
        (t("incidents.uncontacted"), str(len(rec.uncontacted))),
        (t("incidents.tasks_total"), str(rec.task_figures.total)),
        (t("incidents.tasks_on_time"), str(rec.task_figures.done_on_time)),
        (t("incidents.tasks_late"), str(rec.task_figures.late)),
        (t("incidents.statements_published"), str(rec.published)),
    )
    steps = tuple(
        (
            t(f"incidents.step.{s.step.value}"),
            _fmt(s.due_at),
            _fmt(s.done_at),
            _duration(s.taken.total_seconds() / 3600 if s.taken is not None else None),
            _duration(s.allowed.total_seconds() / 3600),
            t("incidents.late") if s.late else t("incidents.on_time"),
        )
        for s in rec.steps
    )
    timeline = tuple(
        (_fmt(e.at), e.actor, t(f"incidents.audit.{e.action}"), e.reason or "")
        for e in rec.timeline
    )
    tasks = tuple(
        (
            task.title,
            pick(rec.group_names.get(task.group_id), language),
            rec.usernames.get(task.assignee_user_id or 0, "—"),
            _fmt(task.due_at),
            _fmt(task.completed_at),
            t(f"incidents.task_state.{task.state}"),
        )
        for task in rec.tasks
    )
    review = rec.review
    improvements = tuple(
        (
            a.text,
            rec.usernames.get(a.owner_user_id, "—"),
            a.due_on.isoformat(),
            _fmt(a.done_at) if a.done_at else t("incidents.open_item"),
        )
        for a in rec.improvements
    )
    sections = (
        Section(t("incidents.report.facts"), rows=facts),
        Section(
            t("incidents.report.summary"),
            text=(review.summary if review else "")
            or incident.resolution_summary
            or incident.summary,
        ),
        Section(
            t("incidents.report.steps"),
            headers=(
                t("incidents.step"),
                t("incidents.due"),
                t("incidents.done_at"),
                t("incidents.taken"),
                t("incidents.allowed"),
                t("incidents.verdict"),
            ),
            rows=steps,
        ),
        Section(
            t("incidents.report.tasks"),
            headers=(
                t("incidents.task"),
                t("incidents.group"),
                t("incidents.assignee"),
                t("incidents.due"),
                t("incidents.done_at"),
                t("incidents.state"),
            ),
            rows=tasks,
        ),
        Section(
            t("incidents.report.timeline"),
            headers=(
                t("incidents.when"),
                t("incidents.who"),
                t("incidents.what"),
                t("incidents.reason"),
            ),
            rows=timeline,
        ),
        Section(t("incidents.report.causes"), text=review.causes if review else ""),
        Section(t("incidents.report.improvements"), text=review.improvements if review else ""),
        Section(
            t("incidents.report.actions"),
            headers=(
                t("incidents.action_text"),
                t("incidents.owner"),
                t("incidents.due_on"),
                t("incidents.state"),
            ),
            rows=improvements,
        ),
    )
    return ReviewDocument(
        title=t("incidents.report.title", id=incident.id),
        subtitle=incident.title,
        language=language,
        generated_at=_fmt(clock.now()),
        sections=sections,
    )


# --- HTML / PDF ---------------------------------------------------------------------------------

# The house style of every PDF report: A4, the title in the page header and the page number in
# the footer, the CJK font named in the body *and* in the margin boxes (WeasyPrint does not
# inherit it there).
PRINT_STYLE = f"""
@page {{
  size: A4; margin: 20mm 16mm 20mm 16mm;
  @top-center {{ content: string(doctitle); font-family: {FONT_STACK};
                font-size: 9pt; color: #555; }}
  @bottom-right {{ content: counter(page) " / " counter(pages); font-family: {FONT_STACK};
                  font-size: 9pt; color: #555; }}
}}
body {{ font-family: {FONT_STACK}; font-size: 10.5pt; line-height: 1.5; color: #111; }}
h1 {{ font-size: 18pt; margin: 0 0 2mm; string-set: doctitle content(); }}
h2 {{ font-size: 13pt; margin: 6mm 0 2mm; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border: 1px solid #999;
  padding: 1.5mm 2mm; text-align: left; vertical-align: top; font-size: 9.5pt; }}
th {{ background: #eee; }} .meta {{ color: #555; }}
"""


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML  # heavy import (pango); only when a PDF is asked for

    return bytes(HTML(string=html).write_pdf())


_TEMPLATE = """<!doctype html>
<html lang="{{ doc.language }}"><head><meta charset="utf-8">
<title>{{ doc.title }}</title>
<style>
{{ print_style|safe }}
.text { white-space: pre-wrap; }
</style></head>
<body>
<h1>{{ doc.title }}</h1>
<p class="meta">{{ doc.subtitle }} · {{ doc.generated_at }}</p>
{% for s in doc.sections %}
<section><h2>{{ s.heading }}</h2>
{% if s.headers %}
<table><thead><tr>{% for h in s.headers %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for r in s.rows %}<tr>{% for c in r %}<td>{{ c }}</td>{% endfor %}</tr>
{% else %}<tr><td colspan="{{ s.headers|length }}">—</td></tr>{% endfor %}</tbody></table>
{% elif s.rows %}
<table><tbody>{% for k, v in s.rows %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}
</tbody></table>
{% else %}<p class="text">{{ s.text or "—" }}</p>{% endif %}
</section>
{% endfor %}
</body></html>
"""

_ENV = Environment(autoescape=select_autoescape(default=True))


def to_html(doc: ReviewDocument) -> str:
    return _ENV.from_string(_TEMPLATE).render(doc=doc, print_style=PRINT_STYLE)


def to_pdf(doc: ReviewDocument) -> bytes:
    return html_to_pdf(to_html(doc))


# --- DOCX ---------------------------------------------------------------------------------------


def _set_fonts(run: object) -> None:
    from docx.oxml.ns import qn

    run.font.name = CJK_FONT  # type: ignore[attr-defined]
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()  # type: ignore[attr-defined]
    for attribute in ("w:eastAsia", "w:ascii", "w:hAnsi"):
        fonts.set(qn(attribute), CJK_FONT)


def to_docx(doc: ReviewDocument) -> bytes:
    from docx import Document
    from docx.oxml.ns import qn

    document = Document()
    normal = document.styles["Normal"]
    normal.font.name = CJK_FONT
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), CJK_FONT)
    for style_name in ("Title", "Heading 1", "Heading 2"):
        style = document.styles[style_name]
        style.font.name = CJK_FONT
        style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), CJK_FONT)
    heading = document.add_heading(level=0)
    _set_fonts(heading.add_run(doc.title))
    _set_fonts(document.add_paragraph().add_run(f"{doc.subtitle} · {doc.generated_at}"))
    for section in doc.sections:
        _set_fonts(document.add_heading(level=1).add_run(section.heading))
        if section.headers or section.rows:
            columns = len(section.headers) if section.headers else 2
            table = document.add_table(rows=0, cols=columns)
            table.style = "Table Grid"
            if section.headers:
                cells = table.add_row().cells
                for cell, text in zip(cells, section.headers, strict=True):
                    run = cell.paragraphs[0].add_run(text)
                    run.bold = True
                    _set_fonts(run)
            for row in section.rows or (("—",) * columns,):
                cells = table.add_row().cells
                for cell, text in zip(cells, row, strict=True):
                    _set_fonts(cell.paragraphs[0].add_run(text))
        else:
            for line in (section.text or "—").splitlines() or ["—"]:
                _set_fonts(document.add_paragraph().add_run(line))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
