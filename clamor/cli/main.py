"""The `clamor` command. Every error is one line on stderr and a non-zero exit code; `--debug`
shows the traceback instead."""

from __future__ import annotations

import getpass
import os
import sqlite3
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from clamor import __version__
from clamor.accounts import service as accounts
from clamor.audit import service as audit
from clamor.bootstrap import open_database
from clamor.cli import (
    analysis_commands,
    complaints_commands,
    incidents_commands,
    monitoring_commands,
)
from clamor.core.config import Settings, describe_settings, ensure_secret_file, load_settings
from clamor.core.errors import ClamorError, ConfigurationError, ValidationError
from clamor.core.i18n import locale_language
from clamor.core.principal import Principal
from clamor.migrations import current_revision, head_revision, upgrade
from clamor.org import service as org
from clamor.org.document import dump_org_yaml, parse_org_yaml
from clamor.org.models import Group
from clamor.storage.database import Database

app = typer.Typer(
    name="clamor",
    help="Clamor: complaints (信访) and public-opinion (舆情) incident management.",
    pretty_exceptions_enable=False,
    add_completion=False,
)
users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
tokens_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
org_app = typer.Typer(help="Export and import the organisation (YAML).", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(org_app, name="org")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
analysis_commands.register(app)
monitoring_commands.register(app)
complaints_commands.register(app)
incidents_commands.register(app)

console = Console(soft_wrap=True)  # never wrap paths or messages mid-line
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (default: $CLAMOR_DATA_DIR, else ./clamor-data).",
        show_default=False,
    ),
]
DEFAULT_ORG_FILE = Path(__file__).resolve().parent.parent / "org" / "default_org.yaml"


def cli_actor() -> Principal:
    """Whoever runs the CLI has the data directory, so may do everything; audited by OS name."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return Principal(
        user_id=None, username=f"cli:{name}", display_name=name, permissions=frozenset({"*"})
    )


def _database(settings: Settings, *, migrate: bool = True) -> Database:
    return open_database(settings, migrate=migrate)


def _prompt_password(prompt: str) -> str:
    if not sys.stdin.isatty():
        raise ValidationError(
            "no password given: pass --password (or --admin-password)", field="password"
        )
    return typer.prompt(prompt, hide_input=True, confirmation_prompt=True)


# --- init, serve, demo ------------------------------------------------------------------------


def initialise(settings: Settings, admin_user: str | None, admin_password: str | None) -> Database:
    """Data dir, secret, schema, the plan's organisation, the first admin. Safe to repeat."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if ensure_secret_file(settings):
        console.print(f"secret key written to {settings.secret_file} (mode 600)")
    db = _database(settings)
    actor = cli_actor()
    with db.write() as session:
        if session.scalar(select(Group.id).limit(1)) is None:
            org.import_yaml(session, actor, DEFAULT_ORG_FILE.read_text(encoding="utf-8"))
            console.print("organisation of the plan created (4 groups, placeholder people)")
        has_users = bool(accounts.list_users(session))
    if not has_users or admin_user:
        name = admin_user or "admin"
        with db.read() as session:
            exists = name in {u.username for u in accounts.list_users(session)}
        if exists:
            console.print(f"user {name!r} exists already; left unchanged")
        else:
            password = admin_password or _prompt_password(f"Password for {name}")
            with db.write() as session:
                accounts.create_user(
                    session,
                    actor,
                    username=name,
                    password=password,
                    is_admin=True,
                    display_name=name,
                )
            console.print(f"admin user {name!r} created")
    return db


@app.command()
def init(
    data_dir: DataDir = None,
    admin_user: Annotated[str | None, typer.Option(help="Name of the first administrator.")] = None,
    admin_password: Annotated[
        str | None, typer.Option(help="Their password (prompted when omitted).")
    ] = None,
) -> None:
    """Create the data directory, database, secret key, the plan's organisation and an admin."""
    settings = load_settings(data_dir)
    initialise(settings, admin_user, admin_password).dispose()
    console.print(f"ready: clamor serve --data-dir {settings.data_dir}")


def _serve(
    settings: Settings,
    host: str,
    port: int,
    *,
    pipeline: bool = True,
    smtp_port: int | None = None,
) -> None:
    import socket

    import uvicorn

    from clamor.app import create_app

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigurationError(
                f"cannot listen on {host}:{port} ({exc.strerror}); choose --port"
            ) from exc
    application = create_app(settings, pipeline=pipeline)
    console.print(f"Clamor {__version__} at http://{host}:{port}  (Ctrl+C to stop)")
    smtp = complaints_commands.start_smtp(settings, application, host, smtp_port)
    try:
        uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)
    finally:
        if smtp is not None:
            smtp.stop()


@app.command()
def serve(
    data_dir: DataDir = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    no_pipeline: Annotated[
        bool,
        typer.Option("--no-pipeline", help="Web only; the pipeline runs in `clamor worker`s."),
    ] = False,
    smtp_port: Annotated[
        int | None,
        typer.Option(help="Also receive complaint e-mail by SMTP on this port (e.g. 2525)."),
    ] = None,
) -> None:
    """Run the web app and the pipeline (worker loop and scheduler) in one process."""
    settings = load_settings(data_dir)
    _database(settings).dispose()  # migrate before serving
    _serve(settings, host, port, pipeline=not no_pipeline, smtp_port=smtp_port)


DEMO_PASSWORD = "clamor-demo"
DEMO_USERS = (
    # (username, display name, person key in the default organisation)
    ("gm", "总经理 王总", "gm"),
    ("cs_manager", "客服部经理 李敏", "cs_manager"),
    ("cs_rep", "客服代表 张伟", "cs_rep"),
    ("pr_manager", "公关部经理 陈静", "pr_manager"),
    ("analyst", "舆情分析师 刘洋", "opinion_analyst"),
    ("legal", "法务部负责人 赵律", "legal_head"),
    ("it", "技术支持 孙工", "tech_head"),
)


def load_demo_people(db: Database) -> None:
    """A login for each role of the plan, linked to the organisation's people."""
    actor = cli_actor()
    with db.write() as session:
        existing = {u.username for u in accounts.list_users(session)}
        for username, display_name, person_key in DEMO_USERS:
            if username in existing:
                continue
            accounts.create_user(
                session, actor, username=username, password=DEMO_PASSWORD, display_name=display_name
            )
            person_name = display_name.split(" ", 1)[1]
            org.update_person(
                session,
                actor,
                person_key,
                name=person_name,
                email=f"{username}@example.com",
                phone=None,
                username=username,
            )


@app.command()
def demo(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Where the demo keeps its data.")
    ] = Path("./clamor-demo"),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Set up a demo installation with a login for each role of the plan, and serve it."""
    settings = load_settings(data_dir)
    db = initialise(settings, "admin", DEMO_PASSWORD)
    load_demo_people(db)
    complaints_commands.load_demo(db)
    db.dispose()
    console.print(
        f"\n[bold]Demo login[/bold]: user [bold]admin[/bold], password [bold]{DEMO_PASSWORD}[/bold]"
        f"\nRole logins (same password): {', '.join(u for u, _, _ in DEMO_USERS)}\n"
    )
    monitoring_commands.start_demo_stream(settings)
    _serve(settings, host, port)


@app.command("config")
def show_config(data_dir: DataDir = None) -> None:
    """Print every setting, its current value and what it does."""
    table = Table("variable", "value", "description")
    for name, value, description in describe_settings(load_settings(data_dir)):
        table.add_row(name, value, description)
    console.print(table)


# --- users and tokens -------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    username: str,
    data_dir: DataDir = None,
    display_name: Annotated[str | None, typer.Option(help="Name shown in the UI.")] = None,
    email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Make an administrator.")] = False,
    password: Annotated[str | None, typer.Option(help="Password (prompted when omitted).")] = None,
) -> None:
    """Add a user."""
    db = _database(load_settings(data_dir))
    secret = password or _prompt_password(f"Password for {username}")
    with db.write() as session:
        accounts.create_user(
            session,
            cli_actor(),
            username=username,
            password=secret,
            display_name=display_name,
            email=email,
            is_admin=admin,
        )
    console.print(f"user {username!r} added")


@users_app.command("list")
def users_list(data_dir: DataDir = None) -> None:
    """List users."""
    db = _database(load_settings(data_dir))
    table = Table("user", "name", "admin", "active", "language")
    with db.read() as session:
        for user in accounts.list_users(session):
            table.add_row(
                user.username,
                user.display_name,
                "yes" if user.is_admin else "",
                "yes" if user.is_active else "no",
                user.language,
            )
    console.print(table)


@users_app.command("disable")
def users_disable(username: str, data_dir: DataDir = None) -> None:
    """Disable a user (ends their sessions)."""
    with _database(load_settings(data_dir)).write() as session:
        accounts.set_active(session, cli_actor(), username, False)
    console.print(f"user {username!r} disabled")


@users_app.command("enable")
def users_enable(username: str, data_dir: DataDir = None) -> None:
    """Enable a disabled user."""
    with _database(load_settings(data_dir)).write() as session:
        accounts.set_active(session, cli_actor(), username, True)
    console.print(f"user {username!r} enabled")


@users_app.command("set-password")
def users_set_password(
    username: str,
    data_dir: DataDir = None,
    password: Annotated[
        str | None, typer.Option(help="New password (prompted when omitted).")
    ] = None,
) -> None:
    """Set a user's password (ends their sessions)."""
    db = _database(load_settings(data_dir))
    secret = password or _prompt_password(f"New password for {username}")
    with db.write() as session:
        accounts.set_password(session, cli_actor(), username, secret)
    console.print(f"password of {username!r} changed")


@tokens_app.command("create")
def tokens_create(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for.")],
    scope: Annotated[list[str], typer.Option(help="A scope such as org:read; repeat for more.")],
    data_dir: DataDir = None,
) -> None:
    """Create an API token for a user; it is printed once."""
    with _database(load_settings(data_dir)).write() as session:
        created = accounts.create_token(session, cli_actor(), username, name, scope)
    print(created.secret)


# --- organisation -----------------------------------------------------------------------------


@org_app.command("export")
def org_export(file: Path, data_dir: DataDir = None) -> None:
    """Write the organisation to a YAML file."""
    with _database(load_settings(data_dir)).read() as session:
        text = dump_org_yaml(org.export_document(session))
    file.write_text(text, encoding="utf-8")
    console.print(f"organisation written to {file}")


@org_app.command("import")
def org_import(
    file: Path,
    data_dir: DataDir = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only.")] = False,
) -> None:
    """Replace the organisation with a YAML file's, validated first, in one transaction."""
    try:
        source = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ValidationError(f"{file}: no such file", field="file") from exc
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{file}: not UTF-8 text", field="file") from exc
    try:
        document = parse_org_yaml(source)
    except ValidationError as exc:
        raise ValidationError(f"{file}: {exc.message}", field=exc.field) from exc
    if dry_run:
        console.print(
            f"{file} is valid: {len(document.groups)} groups, {len(document.people)} people"
        )
        return
    with _database(load_settings(data_dir)).write() as session:
        org.import_document(session, cli_actor(), document)
    console.print(f"organisation imported from {file}")


# --- database, backup, audit ------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Migrate the database to the newest schema."""
    db = _database(load_settings(data_dir), migrate=False)
    upgrade(db.engine)
    console.print(f"database at revision {current_revision(db.engine)}")


@db_app.command("current")
def db_current(data_dir: DataDir = None) -> None:
    """Show the database's schema revision and the newest one."""
    db = _database(load_settings(data_dir), migrate=False)
    console.print(
        f"current: {current_revision(db.engine) or '(empty)'}  head: {head_revision(db.engine)}"
    )


def _sqlite_path(settings: Settings) -> Path:
    if not settings.is_sqlite:
        raise ConfigurationError(
            "backup/restore copy the embedded SQLite database; for PostgreSQL use "
            "pg_dump --format=custom and pg_restore"
        )
    return Path(settings.resolved_database_url.removeprefix("sqlite:///"))


@app.command()
def backup(file: Path, data_dir: DataDir = None) -> None:
    """Write a consistent snapshot of the database to FILE (safe while serving)."""
    source_path = _sqlite_path(load_settings(data_dir))
    if not source_path.exists():
        raise ConfigurationError(f"no database at {source_path}: run `clamor init` first")
    if file.exists():
        raise ValidationError(f"{file} exists; choose a new file name", field="file")
    with sqlite3.connect(source_path) as source, sqlite3.connect(file) as target:
        source.backup(target)
    console.print(f"backup written to {file}")


@app.command()
def restore(
    file: Path,
    data_dir: DataDir = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before replacing.")] = False,
) -> None:
    """Replace the database with a backup FILE. Stop `clamor serve` first."""
    settings = load_settings(data_dir)
    target_path = _sqlite_path(settings)
    if not file.exists():
        raise ValidationError(f"{file}: no such file", field="file")
    try:
        with sqlite3.connect(f"file:{file}?mode=ro", uri=True) as check:
            check.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise ValidationError(f"{file} is not a Clamor backup ({exc})", field="file") from exc
    if not yes and not typer.confirm(f"Replace {target_path} with {file}?"):
        raise typer.Exit(1)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(file) as source, sqlite3.connect(target_path) as target:
        source.backup(target)
    _database(settings).dispose()  # bring an older backup up to the current schema
    console.print(f"database restored from {file}")


@audit_app.command("verify")
def audit_verify(data_dir: DataDir = None) -> None:
    """Check the audit log's hash chain; name the first row that was tampered with."""
    with _database(load_settings(data_dir), migrate=False).read() as session:
        result = audit.verify(session)
    if result.ok:
        console.print(f"audit log intact: {result.rows_checked} rows verified")
        return
    for problem in result.problems:
        where = f"row {problem.row_id}" if problem.row_id is not None else "the log"
        print(f"audit log broken: {where} {problem.problem}", file=sys.stderr)
    raise typer.Exit(1)


@app.callback(invoke_without_command=True)
def main(
    context: typer.Context,
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        print(__version__)
        raise typer.Exit()
    if context.invoked_subcommand is None:
        print(context.get_help())
        raise typer.Exit()


def run() -> None:
    """Console entry point: one line per error, exit 2 for what the user can fix."""
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    try:
        app(prog_name="clamor")
    except ClamorError as exc:
        if debug:
            raise
        print(f"error: {exc.text(locale_language(os.environ))}", file=sys.stderr)
        sys.exit(2)
    except OperationalError as exc:
        if debug:
            raise
        print(f"error: database unreachable or unusable: {exc.orig}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the last resort: still one line, with how to see more
        if debug:
            raise
        print(f"error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        sys.exit(1)
