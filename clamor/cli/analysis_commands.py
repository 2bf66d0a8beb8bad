"""`clamor train`, `clamor eval` and `clamor analyze`: the text-analysis commands.

`register(app)` adds them to the main typer app. Errors are one line on stderr and exit code 2.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import typer

from clamor.core.errors import ClamorError

TASKS = ("sentiment", "category")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def register(app: typer.Typer) -> None:
    app.command("train", help="Train the shipped text models from the public datasets.")(train)
    app.command("eval", help="Score sentiment or category on a labelled CSV/TSV/JSONL file.")(
        evaluate_file
    )
    app.command("analyze", help='Analyse one text ("-" reads lines from stdin, prints JSONL).')(
        analyze_text
    )


# ---- train ------------------------------------------------------------------------------
def train(
    data_dir: Path = typer.Option(Path("../shared/data"), help="Folder with the public datasets."),
    datasets_dir: Path = typer.Option(
        Path("datasets"), help="Folder with the hand-labelled category CSVs (datasets/category)."
    ),
    out_dir: Path | None = typer.Option(None, help="Where to write the models (default: package)."),
    only: str | None = typer.Option(None, help="sentiment_zh, sentiment_en or category."),
    json_out: bool = typer.Option(False, "--json", help="Print the figures as JSON last."),
) -> None:
    from clamor.analysis import recipes, registry

    if not data_dir.is_dir():
        raise _fail(f"data folder {data_dir} not found: pass --data-dir")
    jobs = {
        "sentiment_zh": lambda: recipes.train_sentiment_zh(data_dir),
        "sentiment_en": lambda: recipes.train_sentiment_en(data_dir),
        "category": lambda: recipes.train_category(data_dir, datasets_dir),
    }
    if only is not None and only not in jobs:
        raise _fail(f"--only must be one of {', '.join(jobs)}")
    target = out_dir or registry.MODEL_DIR
    target.mkdir(parents=True, exist_ok=True)
    figures: dict[str, object] = {}
    try:
        for name, job in jobs.items():
            if only and name != only:
                continue
            started = time.perf_counter()
            trained = job()
            trained.model.save(registry.model_path(name, target))
            figures[name] = {
                "version": trained.model.version,
                "features": trained.model.n_features,
                "temperature": round(trained.model.temperature, 3),
                "train_seconds": round(time.perf_counter() - started, 1),
                **trained.data,
                "held_out": {k: r.to_dict() for k, r in trained.reports.items()},
            }
            _print_reports(name, trained.reports)
        _write_splits(data_dir, datasets_dir)
    except ClamorError as exc:
        raise _fail(exc.message) from None
    _merge_metrics(target / "metrics.json", figures)
    registry.clear_cache()
    if json_out:
        typer.echo(json.dumps(figures, ensure_ascii=False))


def _write_splits(data_dir: Path, datasets_dir: Path) -> None:
    from clamor.analysis import recipes

    folder = datasets_dir / "splits"
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in recipes.held_out_rows(data_dir).items():
        text = "\n".join(str(r) for r in rows) + "\n"
        (folder / f"{name}.test_rows.txt").write_text(text, encoding="utf-8")


def _merge_metrics(path: Path, figures: dict[str, object]) -> None:
    current = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    current.update(figures)
    path.write_text(json.dumps(current, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _print_reports(name: str, reports: dict) -> None:  # type: ignore[type-arg]
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{name}: held-out figures")
    for column in ("test set", "n", "accuracy", "macro-F1"):
        table.add_column(column)
    for test, report in reports.items():
        table.add_row(test, str(report.n), f"{report.accuracy:.4f}", f"{report.macro_f1:.4f}")
    Console(stderr=True).print(table)


# ---- eval -------------------------------------------------------------------------------
def evaluate_file(
    file: Path = typer.Argument(..., help="Labelled CSV, TSV or JSONL file."),
    task: str = typer.Option(..., help="sentiment or category."),
    lang: str | None = typer.Option(None, help="zh or en (default: detect per text)."),
    binary: bool = typer.Option(False, help="Score only negative vs positive."),
    text_col: str = typer.Option("text", help="Column holding the text."),
    label_col: str = typer.Option("label", help="Column holding the label."),
    json_out: bool = typer.Option(False, "--json", help="Print the figures as JSON last."),
    model_dir: Path | None = typer.Option(
        None,
        help="Score sentiment with your own local transformer (ONNX) model directory "
        "instead of CLAMOR_SENTIMENT_MODEL_DIR or the shipped model; see docs/analysis.md.",
    ),
) -> None:
    from clamor.analysis import registry
    from clamor.analysis.evaluate import read_labelled

    if task not in TASKS:
        raise _fail(f"--task must be sentiment or category, not {task!r}")
    if lang is not None and lang not in ("zh", "en"):
        raise _fail(f"--lang must be zh or en, not {lang!r}")
    try:
        if model_dir is not None:
            registry.use_transformer(model_dir)
        rows = read_labelled(file, text_col, label_col)
        if task == "sentiment":
            report = _eval_sentiment(rows, text_col, label_col, lang, binary)
        else:
            report = _eval_category(rows, text_col, label_col)
    except ClamorError as exc:
        raise _fail(exc.message) from None
    _print_report(report)
    if json_out:
        typer.echo(json.dumps({"file": str(file), "task": task, **report.to_dict()}))


def _eval_sentiment(rows: list[dict], text_col: str, label_col: str, lang, binary: bool):  # type: ignore[no-untyped-def]
    from clamor.analysis.emotes import read_emotes
    from clamor.analysis.evaluate import normalise_sentiment_label, score
    from clamor.analysis.explain import searchable
    from clamor.analysis.language import detect
    from clamor.analysis.normalize import normalize
    from clamor.analysis.sentiment import NEGATIVE, NEUTRAL, POSITIVE, classify

    truth, predicted = [], []
    start = time.perf_counter()
    for row in rows:
        label = normalise_sentiment_label(row[label_col])
        if binary and label == NEUTRAL:
            continue
        text = row[text_col]
        language = lang or detect(text).code
        norm = normalize(text)  # as analyze() reads it: emoticons count too
        emotes = read_emotes(norm.emoticons, norm.emoji)
        result = classify(norm.text, language, searchable(text), emotes=emotes)
        if binary:
            p = result.probabilities
            guess = POSITIVE if p[POSITIVE] >= p[NEGATIVE] else NEGATIVE
        else:
            guess = result.label
        truth.append(label)
        predicted.append(guess)
    rate = len(truth) / max(time.perf_counter() - start, 1e-9)
    labels = [NEGATIVE, POSITIVE] if binary else [NEGATIVE, NEUTRAL, POSITIVE]
    report = score(truth, predicted, labels)
    return replace(report, items_per_second=rate)


def _eval_category(rows: list[dict], text_col: str, label_col: str):  # type: ignore[no-untyped-def]
    from clamor.analysis.category import CATEGORIES, classify
    from clamor.analysis.evaluate import score
    from clamor.analysis.normalize import model_text
    from clamor.core.errors import ValidationError

    truth, predicted = [], []
    start = time.perf_counter()
    for row in rows:
        label = row[label_col].strip()
        if label not in CATEGORIES:
            raise ValidationError(
                f"unknown category {label!r}: use one of {', '.join(CATEGORIES)}", field="label"
            )
        truth.append(label)
        predicted.append(classify(model_text(row[text_col])).label)
    rate = len(truth) / max(time.perf_counter() - start, 1e-9)
    report = score(truth, predicted, list(CATEGORIES))
    return replace(report, items_per_second=rate)


def _print_report(report) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"n={report.n}  accuracy={report.accuracy:.4f}  macro-F1={report.macro_f1:.4f}  "
        f"items/s={report.items_per_second:,.0f}"
    )
    table = Table(title="per class")
    for column in ("class", "precision", "recall", "F1", "support"):
        table.add_column(column)
    for label, s in report.per_class.items():
        table.add_row(label, f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}", str(s.support))
    console.print(table)
    matrix = Table(title="confusion (rows: true, columns: predicted)")
    matrix.add_column("")
    for label in report.labels:
        matrix.add_column(label[:12])
    for label, row in zip(report.labels, report.confusion, strict=True):
        matrix.add_row(label[:12], *[str(v) for v in row])
    console.print(matrix)


# ---- analyze ----------------------------------------------------------------------------
def analyze_text(
    text: str = typer.Argument(..., help='The text, or "-" to read one text per stdin line.'),
    meta: str | None = typer.Option(
        None, help='Reach and source as JSON, e.g. \'{"followers": 1200, "reposts": 40}\'.'
    ),
) -> None:
    from clamor.analysis.pipeline import analyze

    try:
        meta_dict = json.loads(meta) if meta else None
    except json.JSONDecodeError:
        raise _fail("--meta is not valid JSON") from None
    if meta_dict is not None and not isinstance(meta_dict, dict):
        raise _fail("--meta must be a JSON object")
    try:
        if text == "-":
            for line in sys.stdin:
                line = line.rstrip("\n")
                if line.strip():
                    result = analyze(line, meta_dict).to_dict()
                    typer.echo(json.dumps(result, ensure_ascii=False))
        else:
            result = analyze(text, meta_dict).to_dict()
            typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
    except ClamorError as exc:
        raise _fail(exc.message) from None
