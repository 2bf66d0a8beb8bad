"""Hotline and online-platform logs as CSV or XLSX: decode, map columns, check every row.

CSV files may be UTF-8, UTF-8 with a byte-order mark, or GBK/GB18030 (what Excel on a Chinese
Windows writes); the encoding is detected, never guessed silently — a file that is none of them
is refused naming the byte. Columns are mapped to complaint fields by a mapping given by the
user (`text=投诉内容,phone=电话`) or guessed from common header names in both languages.

Each row becomes a `ComplaintIn` or a `RowError` naming its row number and field: nothing is
half-read. Rows without an id column get a stable id from their content, so importing the same
file twice never doubles a case.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from clamor.core.clock import LOCAL_ZONE
from clamor.core.errors import ClamorError, ValidationError
from clamor.intake.connectors.base import ComplaintIn

FIELDS = ("external_id", "text", "title", "name", "phone", "email", "id_number", "received_at")
REQUIRED = ("text",)
MAX_ROWS = 100_000
MAX_FILE_BYTES = 50_000_000

# Header names seen in real exports, lower-cased.
KNOWN_HEADERS: dict[str, tuple[str, ...]] = {
    "external_id": (
        "external_id",
        "id",
        "ticket",
        "ticket_id",
        "工单号",
        "工单编号",
        "编号",
        "单号",
    ),
    "text": ("text", "content", "complaint", "description", "投诉内容", "内容", "问题描述", "描述"),
    "title": ("title", "subject", "标题", "主题"),
    "name": ("name", "customer", "customer_name", "姓名", "客户姓名", "客户"),
    "phone": ("phone", "mobile", "tel", "电话", "手机", "手机号", "联系电话", "来电号码"),
    "email": ("email", "e-mail", "mail", "邮箱", "电子邮箱"),
    "id_number": ("id_number", "身份证", "身份证号"),
    "received_at": (
        "received_at",
        "time",
        "date",
        "created",
        "时间",
        "来电时间",
        "日期",
        "受理时间",
    ),
}


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based line of the file, the header being row 1
    field: str
    message: str  # English, for the CLI and the API
    error: ClamorError | None = None  # the refusal itself, for a page in the reader's language

    def text(self, language: str) -> str:
        return self.error.text(language) if self.error is not None else self.message


@dataclass
class ParsedFile:
    headers: list[str]
    mapping: dict[str, str]
    good: list[tuple[int, ComplaintIn]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    preview: list[dict[str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.good) + len(self.errors)


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise ValidationError.keyed(
                "error.intake.file_encoding", field="file", byte=utf8_error.start
            ) from None


def is_xlsx(data: bytes, filename: str) -> bool:
    return filename.lower().endswith(".xlsx") or data[:2] == b"PK"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(data: bytes, filename: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Headers and (row number, cells) of a CSV or XLSX file."""
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError.keyed(
            "error.intake.file_too_large", field="file", mb=MAX_FILE_BYTES // 1_000_000
        )
    if not data.strip():
        raise ValidationError.keyed("error.intake.file_empty", field="file")
    rows = _xlsx_rows(data) if is_xlsx(data, filename) else _csv_rows(decode(data))
    if not rows:
        raise ValidationError.keyed("error.intake.file_no_header", field="file")
    headers = [h.strip() for h in rows[0][1]]
    if len(rows) - 1 > MAX_ROWS:
        raise ValidationError.keyed("error.intake.file_too_many_rows", field="file", max=MAX_ROWS)
    return headers, rows[1:]


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise ValidationError.keyed(
            "error.intake.csv_malformed", field="file", line=reader.line_num, detail=str(exc)
        ) from exc
    return rows


def _xlsx_rows(data: bytes) -> list[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ValidationError.keyed(
            "error.intake.xlsx_unreadable", field="file", detail=str(exc)
        ) from exc
    sheet = book.worksheets[0]
    rows = []
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = [_cell(v) for v in values]
        if any(cells):
            rows.append((number, cells))
    book.close()
    return rows


def parse_mapping(spec: str) -> dict[str, str]:
    """`text=投诉内容,phone=电话` → {"text": "投诉内容", "phone": "电话"}."""
    mapping: dict[str, str] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        name, sep, column = part.partition("=")
        name = name.strip()
        if not sep or not column.strip():
            raise ValidationError.keyed("error.intake.mapping_syntax", field="mapping", part=part)
        if name not in FIELDS:
            raise ValidationError.keyed(
                "error.intake.mapping_unknown_field",
                field="mapping",
                name=name,
                fields=", ".join(FIELDS),
            )
        mapping[name] = column.strip()
    return mapping


def guess_mapping(headers: list[str]) -> dict[str, str]:
    lowered = {h.strip().lower(): h for h in headers}
    mapping = {}
    for name, candidates in KNOWN_HEADERS.items():
        for candidate in candidates:
            if candidate in lowered:
                mapping[name] = lowered[candidate]
                break
    return mapping


def _check_mapping(mapping: dict[str, str], headers: list[str]) -> None:
    for name, column in mapping.items():
        if column not in headers:
            raise ValidationError.keyed(
                "error.intake.mapping_no_column",
                field="mapping",
                column=column,
                name=name,
                columns=", ".join(headers),
            )
    for name in REQUIRED:
        if name not in mapping:
            raise ValidationError.keyed("error.intake.mapping_missing", field="mapping", name=name)


def parse_time(value: str) -> datetime:
    """ISO 8601 or `YYYY-MM-DD HH:MM[:SS]` / `YYYY/MM/DD …`; no zone means China time."""
    text = value.strip().replace("/", "-")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError.keyed(
            "error.intake.not_a_time", field="received_at", value=value
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_ZONE)


def _row_id(cells: dict[str, str]) -> str:
    content = "\x1f".join(cells.get(name, "") for name in FIELDS)
    return "row:" + hashlib.sha256(content.encode("utf-8")).hexdigest()[:32]


def _complaint(channel: str, cells: dict[str, str]) -> ComplaintIn:
    received = cells.get("received_at", "")
    return ComplaintIn(
        channel=channel,
        external_id=cells.get("external_id") or _row_id(cells),
        text=cells.get("text", ""),
        title=cells.get("title") or None,
        name=cells.get("name") or None,
        phone=cells.get("phone") or None,
        email=cells.get("email") or None,
        id_number=cells.get("id_number") or None,
        received_at=parse_time(received) if received else None,
    )


def parse(
    data: bytes,
    filename: str,
    channel: str,
    mapping: dict[str, str] | None = None,
    check: Callable[[ComplaintIn], object] | None = None,
) -> ParsedFile:
    """Every row as a complaint or an error; `check` validates a complaint (raising
    ValidationError naming the field) beyond what the file format can tell."""
    headers, rows = read_table(data, filename)
    chosen = mapping if mapping else guess_mapping(headers)
    _check_mapping(chosen, headers)
    position = {name: headers.index(column) for name, column in chosen.items()}
    parsed = ParsedFile(headers=headers, mapping=chosen)
    for number, cells in rows:
        if len(cells) != len(headers):
            wrong = ValidationError.keyed(
                "error.intake.row_cells", field="row", cells=len(cells), columns=len(headers)
            )
            parsed.errors.append(RowError(number, "row", wrong.message, wrong))
            continue
        values = {name: cells[index].strip() for name, index in position.items()}
        if len(parsed.preview) < 5:
            parsed.preview.append(values)
        try:
            complaint = _complaint(channel, values)
            if check is not None:
                check(complaint)
        except ClamorError as exc:
            parsed.errors.append(RowError(number, exc.field or "row", exc.message, exc))
            continue
        parsed.good.append((number, complaint))
    return parsed
