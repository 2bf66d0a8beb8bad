"""The `clamor` command as a user runs it: a real process, a real data directory (SQLite)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

MALFORMED_ORG = (
    "groups:\n  - key: g\n    name: G\n    members:\n      - {person: ghost, role: leader}\n"
)


def clamor(
    *args: str, data_dir: Path, stdin: str | None = None, lang: str = "C.UTF-8"
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLAMOR_DATA_DIR": str(data_dir), "LANG": lang}
    for name in ("CLAMOR_DATABASE_URL", "LC_ALL", "LC_MESSAGES"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "clamor", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=120,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("cli") / "data"
    result = clamor("init", "--admin-password", "first-password", data_dir=directory)
    assert result.returncode == 0, result.stderr
    return directory


def test_init_creates_everything_and_is_safe_to_repeat(data_dir: Path) -> None:
    assert (data_dir / "clamor.db").exists()
    assert oct((data_dir / "secret.key").stat().st_mode & 0o777) == "0o600"
    again = clamor("init", data_dir=data_dir)
    assert again.returncode == 0 and "organisation of the plan created" not in again.stdout
    listing = clamor("users", "list", data_dir=data_dir)
    assert "admin" in listing.stdout


def test_errors_are_one_line_with_a_nonzero_exit(data_dir: Path) -> None:
    duplicate = clamor("users", "add", "admin", "--password", "long enough", data_dir=data_dir)
    assert duplicate.returncode == 2
    assert duplicate.stderr.strip() == "error: a user named 'admin' already exists"
    short = clamor("users", "add", "bob", "--password", "short", data_dir=data_dir)
    assert (
        short.returncode == 2
        and short.stderr.strip() == "error: password must be at least 8 characters"
    )
    no_password = clamor("users", "add", "carol", data_dir=data_dir, stdin="")
    assert no_password.returncode == 2 and "--password" in no_password.stderr
    assert "Traceback" not in duplicate.stderr + short.stderr + no_password.stderr


def test_errors_follow_the_shell_s_language(data_dir: Path) -> None:
    args = ("users", "add", "admin", "--password", "long enough")
    chinese = clamor(*args, data_dir=data_dir, lang="zh_CN.UTF-8")
    assert chinese.returncode == 2 and chinese.stderr.strip() == "error: 用户名 “admin” 已存在。"


def test_malformed_org_yaml_names_the_line_and_changes_nothing(
    data_dir: Path, tmp_path: Path
) -> None:
    before = tmp_path / "before.yaml"
    assert clamor("org", "export", str(before), data_dir=data_dir).returncode == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text(MALFORMED_ORG, encoding="utf-8")
    result = clamor("org", "import", str(broken), data_dir=data_dir)
    assert result.returncode == 2
    assert result.stderr.strip().endswith("line 5: groups[0].members[0].person: no person 'ghost'")
    after = tmp_path / "after.yaml"
    clamor("org", "export", str(after), data_dir=data_dir)
    assert after.read_text(encoding="utf-8") == before.read_text(encoding="utf-8")


def test_org_round_trip_and_dry_run(data_dir: Path, tmp_path: Path) -> None:
    exported = tmp_path / "org.yaml"
    clamor("org", "export", str(exported), data_dir=data_dir)
    text = exported.read_text(encoding="utf-8")
    assert "信访处理小组" in text
    exported.write_text(text.replace("总经理（待命名）", "王总"), encoding="utf-8")
    dry = clamor("org", "import", str(exported), "--dry-run", data_dir=data_dir)
    assert dry.returncode == 0 and "is valid" in dry.stdout
    assert clamor("org", "import", str(exported), data_dir=data_dir).returncode == 0
    again = tmp_path / "again.yaml"
    clamor("org", "export", str(again), data_dir=data_dir)
    assert "王总" in again.read_text(encoding="utf-8")


def test_audit_verify_names_an_edited_row(tmp_path: Path) -> None:
    directory = tmp_path / "d"
    assert clamor("init", "--admin-password", "first-password", data_dir=directory).returncode == 0
    clamor("users", "add", "dave", "--password", "long enough", data_dir=directory)
    intact = clamor("audit", "verify", data_dir=directory)
    assert intact.returncode == 0 and "audit log intact: 3 rows verified" in intact.stdout
    with sqlite3.connect(directory / "clamor.db") as connection:
        connection.execute("UPDATE audit_log SET action = 'users.nothing' WHERE id = 2")
    broken = clamor("audit", "verify", data_dir=directory)
    assert broken.returncode == 1
    assert broken.stderr.strip() == "audit log broken: row 2 was changed after it was written"


def test_backup_and_restore(data_dir: Path, tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot.db"
    assert clamor("backup", str(snapshot), data_dir=data_dir).returncode == 0
    clamor("users", "add", "erin", "--password", "long enough", data_dir=data_dir)
    assert clamor("backup", str(snapshot), data_dir=data_dir).returncode == 2  # never overwrite
    restored = clamor("restore", str(snapshot), "--yes", data_dir=data_dir)
    assert restored.returncode == 0, restored.stderr
    assert "erin" not in clamor("users", "list", data_dir=data_dir).stdout
    not_a_backup = tmp_path / "junk.db"
    not_a_backup.write_bytes(b"junk" * 100)
    refused = clamor("restore", str(not_a_backup), "--yes", data_dir=data_dir)
    assert refused.returncode == 2 and "is not a Clamor backup" in refused.stderr


def test_commands_without_init_say_what_to_do(tmp_path: Path) -> None:
    result = clamor("users", "list", data_dir=tmp_path / "empty")
    assert result.returncode == 2 and "run `clamor init" in result.stderr


def test_tokens_and_config(data_dir: Path) -> None:
    token = clamor(
        "tokens", "create", "admin", "--name", "ci", "--scope", "org:read", data_dir=data_dir
    )
    assert token.returncode == 0 and token.stdout.startswith("clm_")
    bad = clamor("tokens", "create", "admin", "--name", "ci", "--scope", "root", data_dir=data_dir)
    assert bad.returncode == 2 and "unknown scope(s): root" in bad.stderr
    config = clamor("config", data_dir=data_dir)
    assert "CLAMOR_DATABASE_URL" in config.stdout and "CLAMOR_REDIS_URL" in config.stdout


def test_db_current_is_at_head(data_dir: Path) -> None:
    result = clamor("db", "current", data_dir=data_dir)
    assert result.returncode == 0
    current, head = result.stdout.split("current: ")[1].split("  head: ")
    assert current.strip() == head.strip()
