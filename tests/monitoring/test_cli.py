"""`clamor watch`, `clamor replay` and `clamor worker --drain` as a user runs them."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from clamor.worker.logs import JsonFormatter
from tests.cli.test_cli import clamor


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("monitoring-cli") / "data"
    result = clamor("init", "--admin-password", "first-password", data_dir=directory)
    assert result.returncode == 0, result.stderr
    return directory


def test_watch_queries_from_the_command_line(data_dir: Path) -> None:
    bad = clamor("watch", "add", "brand", "(nova AND phone", data_dir=data_dir)
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: ") and "position" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    good = clamor("watch", "add", "brand", "nova OR 诺瓦", "--kind", "brand", data_dir=data_dir)
    assert good.returncode == 0, good.stderr
    listing = clamor("watch", "list", data_dir=data_dir)
    assert "brand\tbrand\tnova OR 诺瓦" in listing.stdout


def test_replay_reports_bad_lines_and_plays_the_rest(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text(
        '{"platform": "weibo", "id": 1, "text": "诺瓦手机", "created_at": "2026-03-10T00:00:00Z"}\n'
        "{oops\n"
        '{"platform": "weibo", "id": 2, "text": "b", "created_at": "2026-03-10T00:00:05Z"}\n',
        encoding="utf-8",
    )
    result = clamor("replay", str(path), "--speed", "0", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "skipped posts.jsonl:2: bad JSON" in result.stderr
    assert "played 2 posts" in result.stderr
    missing = clamor("replay", str(tmp_path / "none.jsonl"), data_dir=data_dir)
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_json_log_lines_carry_the_job_fields() -> None:
    record = logging.LogRecord("clamor.worker", logging.WARNING, "f", 1, "job failed", None, None)
    record.job_id = "17"
    record.kind = "analyse"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "job failed" and line["level"] == "warning"
    assert (line["job_id"], line["kind"]) == ("17", "analyse")
