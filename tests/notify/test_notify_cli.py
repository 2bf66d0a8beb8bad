"""`clamor notify …` and `clamor incidents …` as a user runs them (real process, SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import clamor

PLAYBOOK = """name: privacy III
category: data_privacy
level: III
tasks:
  - type: it_support
    title_zh: 封堵接口
    title_en: Close the hole
    group: logistics_support
    due_hours: 2
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("notify-cli") / "data"
    result = clamor("init", "--admin-password", "first-password", data_dir=directory)
    assert result.returncode == 0, result.stderr
    return directory


def test_webhooks_delivery_and_attempts(data_dir: Path) -> None:
    added = clamor(
        "notify",
        "add-webhook",
        "ops",
        "http://127.0.0.1:9/hook",
        "--kind",
        "dingtalk",
        data_dir=data_dir,
    )
    assert added.returncode == 0, added.stderr
    again = clamor("notify", "add-webhook", "ops", "http://127.0.0.1:9/x", data_dir=data_dir)
    assert again.returncode == 2 and again.stderr.strip() == (
        "error: a webhook named 'ops' exists already"
    )
    bad = clamor("notify", "add-webhook", "x", "ftp://h", data_dir=data_dir)
    assert bad.returncode == 2 and "url must start with" in bad.stderr
    run = clamor("notify", "deliver", data_dir=data_dir)
    assert run.returncode == 0 and "0 deliveries planned" in run.stdout


def test_playbook_file_checked_and_metrics(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(PLAYBOOK.replace("it_support", "teleport"), encoding="utf-8")
    refused = clamor("incidents", "playbook", str(bad), data_dir=data_dir)
    assert refused.returncode == 2 and "unknown task type 'teleport'" in refused.stderr
    good = tmp_path / "good.yaml"
    good.write_text(PLAYBOOK, encoding="utf-8")
    saved = clamor("incidents", "playbook", str(good), data_dir=data_dir)
    assert saved.returncode == 0 and "playbook 'privacy III' saved" in saved.stdout
    table = clamor("incidents", "metrics", data_dir=data_dir)
    assert table.returncode == 0 and table.stdout.startswith("level\tcategory\tincidents")
    escalated = clamor("incidents", "escalate-overdue", data_dir=data_dir)
    assert (
        escalated.returncode == 0
        and "0 reminders queued, 0 overdue tasks escalated" in escalated.stdout
    )


def test_briefing_is_queued_once_per_period(data_dir: Path) -> None:
    first = clamor("notify", "briefing", "--period", "weekly", data_dir=data_dir)
    assert first.returncode == 0 and first.stdout.strip().endswith("queued"), first.stderr
    again = clamor("notify", "briefing", "--period", "weekly", data_dir=data_dir)
    assert again.returncode == 0 and "was queued before" in again.stdout
    bad = clamor("notify", "briefing", "--period", "hourly", data_dir=data_dir)
    assert bad.returncode == 2 and "period must be daily or weekly" in bad.stderr
