"""The quarterly summary (plan §4, issue item 9) as a table in the reader's language, and as
CSV (UTF-8 with BOM, so that Excel opens Chinese correctly) or XLSX. The figures come from
`workflow.incidents.metrics`; this module only lays them out."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Font

from clamor.core.i18n import translate
from clamor.workflow.incidents.metrics import ALL, STEPS, MetricRow, QuarterlySummary


@dataclass(frozen=True)
class Sheet:
    title: str
    facts: list[tuple[str, str | int]]  # label, value
    header: list[str]
    rows: list[list[str | int | float | None]]


def _label(value: str, prefix: str, language: str) -> str:
    if value == ALL:
        return translate("summary.all", language)
    if prefix == "level":
        return value
    return translate(f"incidents.cat.{value}", language)


def _cells(row: MetricRow, language: str) -> list[str | int | float | None]:
    cells: list[str | int | float | None] = [
        _label(row.level, "level", language),
        _label(row.category, "category", language),
        row.incidents,
    ]
    for step in STEPS:
        figure = row.steps[step]
        cells += [figure.count, figure.mean, figure.median]
    return cells


def sheet(summary: QuarterlySummary, language: str) -> Sheet:
    def t(key: str, **params: object) -> str:
        return translate(key, language, **params)

    quarter = summary.quarter
    facts: list[tuple[str, str | int]] = [
        (t("summary.period"), f"{quarter.first_day.isoformat()} – {quarter.last_day.isoformat()}"),
        (t("summary.opened"), summary.opened),
        (t("summary.resolved"), summary.resolved),
        (t("summary.closed"), summary.closed),
        (t("summary.cancelled"), summary.cancelled),
        (t("summary.drills_left_out"), summary.drills_left_out),
    ]
    facts += [(f"{t('incidents.level')} {level}", n) for level, n in summary.by_level.items()]
    facts += [(t(f"incidents.cat.{category}"), n) for category, n in summary.by_category.items()]
    header = [t("incidents.level"), t("incidents.category"), t("incidents.count")]
    for step in STEPS:
        name = t(f"incidents.metric.{step}")
        header += [
            f"{name} · {t('summary.reached')}",
            f"{name} · {t('summary.mean_hours')}",
            f"{name} · {t('summary.median_hours')}",
        ]
    return Sheet(
        title=t("summary.heading", quarter=quarter.label),
        facts=facts,
        header=header,
        rows=[_cells(row, language) for row in summary.rows],
    )


def to_csv(summary: QuarterlySummary, language: str) -> bytes:
    """The summary as CSV: UTF-8 with a BOM; the facts first, a blank line, then the table."""
    laid_out = sheet(summary, language)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([laid_out.title])
    for label, value in laid_out.facts:
        writer.writerow([label, value])
    writer.writerow([])
    writer.writerow(laid_out.header)
    for row in laid_out.rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(summary: QuarterlySummary, language: str) -> bytes:
    """The summary as a workbook: a sheet of facts and a sheet of response times."""
    laid_out = sheet(summary, language)
    book = Workbook()
    facts = book.active
    facts.title = translate("summary.sheet_facts", language)
    facts.append([laid_out.title])
    facts["A1"].font = Font(bold=True)
    for label, value in laid_out.facts:
        facts.append([label, value])
    times = book.create_sheet(translate("summary.sheet_times", language))
    times.append(laid_out.header)
    for cell in times[1]:
        cell.font = Font(bold=True)
    for row in laid_out.rows:
        times.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
