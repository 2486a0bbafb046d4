"""Opening the store: one engine per process, the schema brought up to date on open.

The store's failures a user can cause — a database that is down or refuses the login, a dialect
fleetmon does not speak, a read-only data_dir, a full disk — become `StoreError`, whose message
says what to do, in one place: `store_error()` knows SQLAlchemy's, the drivers' and the file
system's errors; `open_store` and the CLI's error handler call it. Anything else is a bug and
keeps its traceback.

    StoreError          the store cannot be used as asked
    └── StoreReadOnly   it can be read, not written (the CLI then opens it read-only)
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x666C6D01  # an arbitrary advisory lock key of fleetmon's own


class StoreError(Exception):
    """The store cannot be used as asked; the message names the database (password masked) and what to do."""


class StoreReadOnly(StoreError):
    """The store exists but cannot be written here (read-only folder, file or file system)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web console read while the monitor writes; the busy timeout rides out
    # a concurrent writer instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_reader_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def shown(url: URL | str) -> str:
    """The database as it may be printed: password masked, a SQLite store by its file."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        return f"the store {parsed.database or ':memory:'}"
    return f"the database {parsed.render_as_string(hide_password=True).split('?')[0]}"


def _reason(exc: BaseException, url: URL) -> str:
    """The driver's own first line, without anything of the URL's secrets."""
    line = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    for secret in [url.password, *url.query.values()]:
        if isinstance(secret, str) and len(secret) >= 3:
            line = line.replace(secret, "***")
    return line[:200]


def store_error(exc: BaseException, url: URL | str | None) -> StoreError | None:
    """`exc` as fleetmon's own error if a user can cause and cure it; None for anything else (a bug)."""
    if isinstance(exc, StoreError):
        return exc
    parsed = (make_url(url) if isinstance(url, str) else url) or URL.create("sqlite")
    where = shown(parsed) if url is not None else "the store"
    if isinstance(exc, NoSuchModuleError | ArgumentError):
        return StoreError(f"database_url: unknown database dialect {parsed.drivername!r}: use sqlite or postgresql")
    if isinstance(exc, OSError) and not isinstance(exc, DBAPIError):
        if exc.errno == errno.ENOSPC:
            return StoreError(f"no space left on the disk of {exc.filename or where}: free some space, then run the command again")
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            if exc.filename is not None and not _in_store_folder(Path(str(exc.filename)), parsed):
                return StoreError(f"cannot write {exc.filename} ({exc.strerror}): choose a place this user can write")
            return StoreReadOnly(f"cannot write {exc.filename or where} ({exc.strerror}): make data_dir writable for this user; "
                                 "`fleetmon status` and `fleetmon inventory list` read a read-only store")
        return None
    if not isinstance(exc, DBAPIError):
        return None
    reason = _reason(exc, parsed)
    lowered = reason.lower()
    if parsed.get_backend_name() == "sqlite":
        if "disk is full" in lowered or "disk i/o error" in lowered:
            return StoreError(f"{where}: the disk is full ({reason}): free some space, then run the command again")
        if "readonly" in lowered or "read-only" in lowered or ("unable to open" in lowered and _sqlite_read_only(parsed)):
            return StoreReadOnly(f"{where} is read-only here ({reason}): make data_dir and the file writable for this user; "
                                 "`fleetmon status` and `fleetmon inventory list` read a read-only store")
        if "unable to open" in lowered:
            return StoreError(f"cannot open {where} ({reason}): check data_dir or database_url")
        return None
    if "password authentication failed" in lowered or "authentication failed" in lowered or "no password supplied" in lowered:
        return StoreError(f"{where} refused the login ({reason}): check the user and password of database_url")
    if "does not exist" in lowered and "database" in lowered:
        return StoreError(f"{where} does not exist ({reason}): create it (createdb) or correct database_url")
    if "no space left" in lowered or "disk full" in lowered:
        return StoreError(f"{where} has no space left ({reason}): free space on the database server")
    if exc.connection_invalidated or any(word in lowered for word in (
            "connection refused", "could not connect", "connection failed", "timeout", "timed out", "could not translate",
            "name or service not known", "no route", "server closed the connection", "terminating connection")):
        return StoreError(f"cannot reach {where} ({reason}): start it, or correct host and port in database_url")
    if "read-only transaction" in lowered or "permission denied" in lowered:
        return StoreReadOnly(f"{where} cannot be written by this user ({reason}): grant it, or use a read-only command")
    return None


def _in_store_folder(path: Path, url: URL) -> bool:
    """Whether `path` is the SQLite store's folder or lies in it (its lock file, its journal)."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return False
    folder = Path(url.database).resolve().parent
    resolved = path.resolve()
    return resolved == folder or folder in resolved.parents


def _sqlite_read_only(url: URL) -> bool:
    """Whether a SQLite store that exists cannot be written here (its file, its folder, the file system)."""
    if not url.database or url.database == ":memory:":
        return False
    path = Path(url.database)
    return path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def create_store_engine(url: str) -> Engine:
    """An engine for `url` with the dialect's settings; SQLite's folder is created if missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True)


def _create_reader(parsed: URL, immutable: bool) -> Engine:
    """SQLite opened with `mode=ro` (no write, no journal files created); `immutable` if even the WAL index cannot be made."""
    assert parsed.database is not None
    target = f"file:{Path(parsed.database).resolve()}?mode=ro" + ("&immutable=1" if immutable else "")
    engine = create_engine(URL.create("sqlite", database=target, query={"uri": "true"}))
    event.listen(engine, "connect", _sqlite_reader_pragmas)
    return engine


def upgrade(engine: Engine) -> None:
    """Apply every pending migration."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Workers starting together must not run the migrations twice.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def _check_current(engine: Engine, where: str) -> None:
    """A store opened read-only must already have this fleetmon's schema: nothing can migrate it."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current != head:
        raise StoreError(f"{where} is read-only and " + ("holds no fleetmon data yet" if current is None else
                         "was written by an older fleetmon") + ": run any fleetmon command once where it can be written")


def open_store(url: str, *, read_only: bool = False) -> Engine:
    """The store's engine, its schema brought up to date; `read_only`: opened for reading, no migration tried.

    Failures a user can fix raise `StoreError` (see the module docstring).
    """
    parsed = make_url(url)
    engine: Engine | None = None
    try:
        if read_only and parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            engine = _create_reader(parsed, immutable=False)
            try:
                with engine.connect() as connection:
                    connection.exec_driver_sql("SELECT count(*) FROM sqlite_master")  # opening alone reads nothing
            except DBAPIError:  # a WAL store in a read-only folder: its index cannot be created, read the file as it is
                engine.dispose()
                engine = _create_reader(parsed, immutable=True)
            _check_current(engine, shown(parsed))
            return engine
        engine = create_store_engine(url)
        if not read_only:
            upgrade(engine)
        return engine
    except Exception as exc:
        if engine is not None:
            engine.dispose()
        translated = store_error(exc, parsed)
        if translated is None:
            raise
        raise translated from None


def open_store_for_reading(url: str) -> Engine:
    """The store, writable if it can be, else read-only (for commands that only read)."""
    try:
        return open_store(url)
    except StoreReadOnly as exc:
        log.info("%s; reading it read-only", exc)
        return open_store(url, read_only=True)
