"""One store, one monitor: a second `fleetmon run` on the same store is refused before it writes.

Two monitors on one store would each log every change (twice over), and a second one started by
mistake would first mark the whole fleet `unknown` ("the monitor was not running"). So `run`
takes a lock on the store before it touches it, and holds it for as long as it runs:

- SQLite: an `flock` on `<database>.monitor.lock` beside the database file. The kernel drops it
  when the process ends however it ends, so a killed monitor never leaves a stale lock.
- PostgreSQL: a session advisory lock, held on a connection of its own. It ends with that
  connection, so a restart of the database drops it: `check`, called with every heartbeat,
  takes it again once the database is back, and tells the monitor to stop if another one
  took the store in between.

Workers sharing a store (`monitor.shared`, which splits the fleet by leases) take the lock
shared, a lone monitor exclusive: any number of shared workers run together, and a lone monitor
never runs beside another monitor of any kind.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from fleetmon.store.engine import create_store_engine

MONITOR_LOCK = 0x666C6D02  # an advisory lock key of fleetmon's own (the migrations use ...01)


class StoreBusy(Exception):
    """Another monitor holds the store; the message says what to do."""


def _refusal(where: str, shared: bool) -> str:
    if shared:
        return (f"a non-shared `fleetmon run` is monitoring {where}: stop it before starting shared workers "
                "(monitor.shared) on the same store")
    return (f"another `fleetmon run` is monitoring {where}: stop it first, give this one its own data_dir or "
            "database_url, or set monitor.shared on every worker to split the fleet")


@dataclass
class MonitorLock:
    """Held from `acquire` until `release` (or the end of the process)."""

    url: str = ""
    shared: bool = False
    _fd: int | None = None
    _conn: Connection | None = None
    _in_session: bool = False  # PostgreSQL: the lock lives as long as `_conn`

    @classmethod
    def acquire(cls, url: str, shared: bool = False) -> MonitorLock:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if not parsed.database or parsed.database == ":memory:":
                return cls()  # a store of this process alone
            return cls(url, shared, _fd=_lock_file(Path(parsed.database), shared))
        if parsed.get_backend_name() == "postgresql":
            return cls(url, shared, _conn=_advisory_lock(url, shared), _in_session=True)
        return cls()

    def check(self) -> bool:
        """Whether the lock is held; a PostgreSQL lock lost with its connection is taken again.

        False while the database is unreachable (nobody else can take the lock then either);
        raises StoreBusy if another monitor took the store while this one's session was gone.
        """
        if not self._in_session:
            return True  # a flock cannot be lost
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                self._conn.commit()
                return True
            except Exception:  # the session is gone, and its lock with it
                self._drop_connection()
        try:
            self._conn = _advisory_lock(self.url, self.shared)
        except StoreBusy:
            raise StoreBusy(f"another `fleetmon run` took {_where(self.url)} while it was unreachable; this one stops") from None
        except Exception:
            return False  # still away: try again at the next heartbeat
        return True

    def release(self) -> None:
        self._in_session = False
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None
        self._drop_connection()

    def _drop_connection(self) -> None:
        if self._conn is not None:
            engine = self._conn.engine
            try:
                self._conn.close()  # ending the session ends its advisory locks
            except Exception:  # already broken
                pass
            engine.dispose()
            self._conn = None


def _where(url: str) -> str:
    """The database named without its credentials."""
    parsed = make_url(url)
    return f"the database {parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database}"


def _lock_file(database: Path, shared: bool) -> int:
    database.parent.mkdir(parents=True, exist_ok=True)
    path = database.with_name(database.name + ".monitor.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        raise StoreBusy(_refusal(f"{database}" + (f" (pid {holder})" if holder.isdigit() else ""), shared)) from None
    except OSError:
        os.close(fd)
        raise
    if not shared:  # the holder's pid, for the message a second one prints
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def _advisory_lock(url: str, shared: bool) -> Connection:
    engine = create_store_engine(url)
    conn = engine.connect()
    try:
        function = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
        taken = conn.execute(text(f"SELECT {function}(:key)"), {"key": MONITOR_LOCK}).scalar_one()
        conn.commit()  # a session lock outlives the transaction that took it
    except Exception:
        conn.close()
        engine.dispose()
        raise
    if not taken:
        conn.close()
        engine.dispose()
        raise StoreBusy(_refusal(_where(url), shared))
    return conn
