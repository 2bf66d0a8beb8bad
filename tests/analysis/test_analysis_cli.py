"""The analysis commands through typer, as the `clamor` CLI will run them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from clamor.analysis.registry import MODEL_DIR
from clamor.cli.analysis_commands import register

FIXTURES = Path(__file__).parent / "fixtures"
needs_models = pytest.mark.skipif(
    not (MODEL_DIR / "sentiment_zh.npz").exists(), reason="models not trained yet"
)


@pytest.fixture()
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:  # a callback keeps typer in multi-command mode
        pass

    return app


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@needs_models
def test_analyze_one_text(app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(app, ["analyze", "服务太差了，我要投诉", "--meta", '{"reposts": 5}'])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["sentiment"]["label"] == "negative"
    assert any(r["factor"] == "reach" for r in body["severity"]["reasons"])


@needs_models
def test_analyze_stdin_lines_to_jsonl(app: typer.Typer, runner: CliRunner) -> None:
    result = runner.invoke(app, ["analyze", "-"], input="很好\n\nterrible service\n")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["language"] for line in lines] == ["zh", "en"]


@needs_models
def test_eval_sentiment_prints_json_last(app: typer.Typer, runner: CliRunner) -> None:
    path = FIXTURES / "sentiment_small.csv"
    result = runner.invoke(app, ["eval", str(path), "--task", "sentiment", "--binary", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output.strip().splitlines()[-1])
    assert body["n"] == 6 and body["accuracy"] >= 5 / 6
    assert body["labels"] == ["negative", "positive"]
    assert sum(map(sum, body["confusion"])) == 6


@needs_models
def test_eval_category_jsonl(app: typer.Typer, runner: CliRunner) -> None:
    path = FIXTURES / "category_small.jsonl"
    result = runner.invoke(app, ["eval", str(path), "--task", "category", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output.strip().splitlines()[-1])
    assert body["n"] == 4 and len(body["confusion"]) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eval", "nope.csv", "--task", "sentiment"], "file not found"),
        (["eval", str(FIXTURES / "sentiment_small.csv"), "--task", "mood"], "--task"),
        (
            ["eval", str(FIXTURES / "sentiment_small.csv"), "--task", "sentiment", "--lang", "fr"],
            "--lang",
        ),
        (
            [
                "eval",
                str(FIXTURES / "sentiment_small.csv"),
                "--task",
                "sentiment",
                "--text-col",
                "x",
            ],
            "--text-col",
        ),
        (["eval", str(FIXTURES / "sentiment_small.csv"), "--task", "category"], "unknown category"),
        (["analyze", "hi", "--meta", "{oops"], "--meta"),
        (["analyze", "hi", "--meta", '{"likes": "many"}'], "likes"),
        (["train", "--data-dir", "/nonexistent/data"], "--data-dir"),
        (["train", "--data-dir", ".", "--only", "magic"], "--only"),
    ],
)
def test_errors_are_one_line_and_exit_2(
    app: typer.Typer, runner: CliRunner, args: list[str], message: str
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in result.output
