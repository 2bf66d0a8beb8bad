"""Scoring predictions against labels: accuracy, macro-F1, per-class P/R/F1, confusion matrix.

Plain Python (no sklearn) so that `clamor eval` works wherever the package does. Also the
readers for labelled files (CSV, TSV, JSONL) and the label vocabularies they may use.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from clamor.core.errors import ValidationError

SENTIMENT_ALIASES = {
    "0": "negative",
    "1": "positive",
    "-1": "negative",
    "neg": "negative",
    "pos": "positive",
    "neu": "neutral",
    "negative": "negative",
    "neutral": "neutral",
    "positive": "positive",
}


@dataclass(frozen=True, slots=True)
class ClassScore:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class Report:
    labels: list[str]
    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassScore]
    confusion: list[list[int]]  # rows: true label, columns: predicted, in `labels` order
    n: int
    items_per_second: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "per_class": {
                k: {
                    "precision": round(v.precision, 4),
                    "recall": round(v.recall, 4),
                    "f1": round(v.f1, 4),
                    "support": v.support,
                }
                for k, v in self.per_class.items()
            },
            "labels": self.labels,
            "confusion": self.confusion,
            "items_per_second": round(self.items_per_second, 1),
            **self.extra,
        }


def score(
    truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str] | None = None
) -> Report:
    """Compare two equally long label sequences. Macro-F1 averages over the classes present
    in `truth` (a class nobody labelled cannot be scored)."""
    if len(truth) != len(predicted):
        raise ValidationError("truth and predictions differ in length", field="predicted")
    order = list(labels) if labels else sorted(set(truth) | set(predicted))
    index = {label: i for i, label in enumerate(order)}
    matrix = [[0] * len(order) for _ in order]
    for t, p in zip(truth, predicted, strict=True):
        if t in index and p in index:
            matrix[index[t]][index[p]] += 1
    per_class: dict[str, ClassScore] = {}
    for label, i in index.items():
        tp = matrix[i][i]
        predicted_n = sum(row[i] for row in matrix)
        support = sum(matrix[i])
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = ClassScore(precision, recall, f1, support)
    present = [c for c in order if per_class[c].support > 0]
    macro = sum(per_class[c].f1 for c in present) / len(present) if present else 0.0
    correct = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p)
    return Report(
        labels=order,
        accuracy=correct / len(truth) if truth else 0.0,
        macro_f1=macro,
        per_class=per_class,
        confusion=matrix,
        n=len(truth),
    )


def normalise_sentiment_label(value: str) -> str:
    label = SENTIMENT_ALIASES.get(str(value).strip().lower())
    if label is None:
        raise ValidationError(
            f"unknown sentiment label {value!r}: use negative|neutral|positive or 0|1",
            field="label",
        )
    return label


def read_labelled(path: Path, text_col: str = "text", label_col: str = "label") -> list[dict]:
    """Rows of a CSV, TSV or JSONL file as dicts with at least `text_col` and `label_col`."""
    if not path.exists():
        raise ValidationError(f"file not found: {path}", field="file")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        rows = _read_jsonl(path)
    elif suffix in (".csv", ".tsv", ".txt"):
        rows = _read_delimited(path, "\t" if suffix == ".tsv" else ",")
    else:
        raise ValidationError(f"unsupported file type {suffix!r}: use .csv, .tsv or .jsonl")
    if not rows:
        raise ValidationError(f"{path} has no rows", field="file")
    for column in (text_col, label_col):
        if column not in rows[0]:
            found = ", ".join(sorted(rows[0])) or "none"
            raise ValidationError(
                f"column {column!r} not in {path.name} (columns: {found}); "
                f"pass --text-col/--label-col",
                field=column,
            )
    return rows


def _read_delimited(path: Path, delimiter: str) -> list[dict]:
    csv.field_size_limit(sys.maxsize)
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return list(csv.DictReader(fh, delimiter=delimiter, quoting=quoting))
    except UnicodeDecodeError:
        raise ValidationError(f"{path.name} is not UTF-8 text", field="file") from None


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise ValidationError(f"{path.name} line {number} is not JSON") from None
            if not isinstance(row, dict):
                raise ValidationError(f"{path.name} line {number} is not a JSON object")
            rows.append({k: "" if v is None else str(v) for k, v in row.items()})
    return rows
