"""Console users: argon2 password hashes, a role each, and an area for area viewers.

Roles:
    administrator   everything: users, inventory import, tickets, windows
    technician      works tickets and maintenance windows, sees the whole fleet
    area_viewer     police of an area: sees only its area subtree, changes nothing
    budget_officer  sees the whole fleet (or, given an area, that subtree) with its tickets and repair
                    costs, changes nothing; with an email address, gets that area's report every month
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, func, insert, select, update

from fleetmon.inventory.model import AREA_SEPARATOR, split_area_path
from fleetmon.store.schema import console_users, utcnow

MIN_PASSWORD = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_hasher = PasswordHasher()
# Verified when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class Role(enum.StrEnum):
    ADMINISTRATOR = "administrator"
    TECHNICIAN = "technician"
    AREA_VIEWER = "area_viewer"
    BUDGET_OFFICER = "budget_officer"


class UserError(Exception):
    """A user change that cannot be made; the message says why."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: Role
    area: str
    language: str
    active: bool
    session_epoch: int
    email: str = ""

    @property
    def can_work_tickets(self) -> bool:
        return self.role in (Role.ADMINISTRATOR, Role.TECHNICIAN)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMINISTRATOR


def _user(row: object) -> User:
    r = row._mapping  # type: ignore[attr-defined]
    return User(id=r["id"], name=r["name"], role=Role(r["role"]), area=r["area"], language=r["language"], active=r["active"],
                session_epoch=r["session_epoch"], email=r["email"])


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")


def _normal_area(role: Role, area: str) -> str:
    path = split_area_path(area)
    if role is Role.AREA_VIEWER and not path:
        raise UserError("an area viewer needs an area (e.g. 'Thanh Hóa / Thọ Xuân')")
    return AREA_SEPARATOR.join(path) if role in (Role.AREA_VIEWER, Role.BUDGET_OFFICER) else ""


def _normal_email(email: str) -> str:
    email = email.strip()
    if email and (len(email) > 254 or not _EMAIL.match(email)):
        raise UserError(f"{email!r} is not an email address")
    return email


def add(conn: Connection, name: str, password: str, role: Role, area: str = "", language: str = "", email: str = "") -> User:
    name = name.strip()
    if not name or len(name) > 100 or any(c.isspace() for c in name):
        raise UserError("a user name is 1 to 100 characters without spaces")
    _check_password(password)
    if conn.execute(select(console_users.c.id).where(func.lower(console_users.c.name) == name.lower())).first():
        raise UserError(f"user {name!r} exists")
    now = utcnow()
    conn.execute(insert(console_users).values(name=name, password_hash=_hasher.hash(password), role=role.value,
                                              area=_normal_area(role, area), language=language, active=True, session_epoch=0,
                                              email=_normal_email(email),
                                              created_at=now, updated_at=now))
    found = by_name(conn, name)
    assert found is not None
    return found


def by_name(conn: Connection, name: str) -> User | None:
    row = conn.execute(select(console_users).where(console_users.c.name == name)).first()
    return _user(row) if row else None


def by_id(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(console_users).where(console_users.c.id == user_id)).first()
    return _user(row) if row else None


def all_users(conn: Connection) -> list[User]:
    return [_user(r) for r in conn.execute(select(console_users).order_by(console_users.c.name))]


def _change(conn: Connection, name: str, **values: object) -> User:
    user = by_name(conn, name)
    if user is None:
        raise UserError(f"no user {name!r}")
    conn.execute(update(console_users).where(console_users.c.id == user.id).values(updated_at=utcnow(), **values))
    found = by_id(conn, user.id)
    assert found is not None
    return found


def set_password(conn: Connection, name: str, password: str) -> User:
    """New password; sessions signed before it end."""
    _check_password(password)
    return _change(conn, name, password_hash=_hasher.hash(password), session_epoch=console_users.c.session_epoch + 1)


def set_active(conn: Connection, name: str, active: bool) -> User:
    """Disable (ending the user's sessions) or enable again. Users are never deleted: the audit log names them."""
    return _change(conn, name, active=active, session_epoch=console_users.c.session_epoch + 1)


def set_language(conn: Connection, name: str, language: str) -> User:
    return _change(conn, name, language=language)


def set_email(conn: Connection, name: str, email: str) -> User:
    """The address the monthly report goes to ("" : none)."""
    return _change(conn, name, email=_normal_email(email))


def authenticate(conn: Connection, name: str, password: str) -> User | None:
    """The active user with this name and password, or None (same work either way)."""
    row = conn.execute(select(console_users).where(console_users.c.name == name)).first()
    stored = row._mapping["password_hash"] if row else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    user = _user(row)
    if not user.active:
        return None
    if _hasher.check_needs_rehash(stored):
        conn.execute(update(console_users).where(console_users.c.id == user.id).values(password_hash=_hasher.hash(password)))
    return user
