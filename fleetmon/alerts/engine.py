"""The ticket engine: health changes in, tickets and outbox messages out. It never probes.

Source: the state-change log. The engine keeps a cursor (`ticket_cursor.last_change_id`) in the
store and reads the changes after it; each step turns them into faults (`faults.classify`),
checks the timers (rule delays, confirmation of a clear, reopening, SLA, maintenance windows)
and moves the cursor, all in ONE transaction with the tickets and messages it writes. So:

- nothing is lost or done twice across restarts: a step that dies rolls back whole, cursor
  included, and the next step (of this process or another) redoes it;
- several workers may run engines on one store: a step begins by updating the cursor row, which
  locks it (PostgreSQL row lock, SQLite write lock) until commit, so steps run one at a time and
  each sees the cursor the previous one left; an engine whose memory is behind the stored cursor
  reloads it from the log;
- the monitor stays unaware of tickets (it only writes its log), and a ticket engine that was
  down catches up from where it stopped.

PostgreSQL hands out ids before commit, so a change may become visible after a higher id. A
missing id after the cursor therefore stops the step (later rows wait) until it appears, or for
`GAP_WAIT_SECONDS` at most: then it is taken for a rolled-back write and skipped.

Timers are checked only once the engine has caught up with the log, so a backlog of history does
not open tickets for faults that cleared later in that same backlog.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from fleetmon.alerts import outbox, plans, windows
from fleetmon.alerts.faults import AVAILABILITY, FaultKind, Seen, classify, site_subject
from fleetmon.alerts.messages import KIND_LABELS
from fleetmon.alerts.tickets import ACTIVE, CLOSED, OPEN, RESOLVED, Ticket, change, close_if_healthy, open_key, record
from fleetmon.config import DEFAULT_TICKET_RULES, OWNER_TEAM, Config
from fleetmon.health.model import Cause, Health
from fleetmon.inventory.model import Device
from fleetmon.store.inventory import DeviceCache
from fleetmon.store.schema import state_changes, ticket_cursor, ticket_faults, tickets

log = logging.getLogger(__name__)

BATCH = 5000
GAP_WAIT_SECONDS = 30.0
INVENTORY_REFRESH_SECONDS = 60.0
LOOK_UP: Any = object()  # _set_fault: the fault's row is not known yet


@dataclass(frozen=True, slots=True)
class StepResult:
    changes: int
    caught_up: bool
    opened: int = 0
    resolved: int = 0


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min"


def _where(subject: str, device: Device | None) -> tuple[str, str]:
    if subject.startswith("site:"):
        area, _, site = subject.removeprefix("site:").rpartition("|")
        return area, site
    return (device.area, device.site) if device else ("", "")


def take_turn(conn: Connection, owner: str, now: datetime) -> None:
    """Lock the cursor row until commit: whoever changes faults and tickets does so one at a time."""
    conn.execute(update(ticket_cursor).where(ticket_cursor.c.id == 1).values(owner=owner, updated_at=now))


def _load_ticket(conn: Connection, ticket_id: int) -> Ticket:
    return Ticket.from_row(conn.execute(select(tickets).where(tickets.c.id == ticket_id)).mappings().one())


def set_fault(conn: Connection, subject: str, kind: FaultKind, device_id: str | None, detail: str | None, at: datetime,
              row: Any = LOOK_UP) -> None:
    """Record that `kind` is seen on `subject` (with `detail`) or gone (None), and tell its ticket."""
    c = ticket_faults.c
    if row is LOOK_UP:
        row = conn.execute(select(ticket_faults).where(c.subject == subject, c.kind == kind.value)).mappings().first()
    ticket = _load_ticket(conn, row["ticket_id"]) if row is not None and row["ticket_id"] is not None else None
    live_ticket = ticket is not None and ticket.state != CLOSED
    if detail is not None:
        if row is None:
            conn.execute(insert(ticket_faults).values(subject=subject, kind=kind.value, device_id=device_id, present=True, since=at,
                                                      detail=detail[:4000]))
            return
        values: dict[str, Any] = {"detail": detail[:4000]}
        if not row["present"]:
            values.update(present=True, cleared_at=None)
            if ticket is None or ticket.state not in ACTIVE:
                values["since"] = at  # a new episode: it must last its rule's delay again
            if ticket is not None and ticket.state == CLOSED:
                values["ticket_id"] = None
        conn.execute(update(ticket_faults).where(c.id == row["id"]).values(**values))
        if live_ticket and ticket is not None:
            updates: dict[str, Any] = {"fault_cleared_at": None}
            if ticket.state in ACTIVE:
                updates["detail"] = detail[:4000]
            change(conn, ticket.id, **updates)
            if not row["present"]:
                record(conn, ticket.id, at, "fault seen again", "fleetmon", detail)
        return
    if row is None or not row["present"]:
        return
    if ticket is None:
        conn.execute(delete(ticket_faults).where(c.id == row["id"]))  # never became a ticket: forget it
        return
    conn.execute(update(ticket_faults).where(c.id == row["id"]).values(present=False, cleared_at=at))
    if live_ticket:
        change(conn, ticket.id, fault_cleared_at=at)
        record(conn, ticket.id, at, "fault cleared", "fleetmon", "monitoring no longer sees it")


class TicketEngine:
    def __init__(self, config: Config, engine: Engine, owner: str = "fleetmon", clock: Callable[[], float] = time.time,
                 inventory: DeviceCache | None = None) -> None:
        self.config, self.engine, self.owner, self.clock = config, engine, owner, clock
        self.inventory = inventory or DeviceCache()  # the monitor's own in `fleetmon run`: one copy of the fleet
        self._seen: dict[str, Seen] = {}
        self._cursor: int | None = None  # the stored cursor our memory matches
        self._devices: Mapping[str, Device] = {}
        self._sites: dict[tuple[str, str], list[str]] = {}
        self._devices_loaded = -1e18
        self._opened = self._resolved = 0
        self._notices: list[outbox.Notice] = []  # told at the end of the step, in its transaction
        self._behind: dict[str, list[str]] = {}

    # -- one step ------------------------------------------------------------------------------

    def step(self) -> StepResult:
        """Read new changes, update faults, check timers; one transaction. Runs in a thread, not on the loop."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        self._opened = self._resolved = 0
        self._notices = []
        try:
            with self.engine.begin() as conn:
                take_turn(conn, self.owner, now)
                cursor = conn.execute(select(ticket_cursor).where(ticket_cursor.c.id == 1)).mappings().one()
                if time.monotonic() - self._devices_loaded > INVENTORY_REFRESH_SECONDS:
                    self._load_devices(conn)
                last = int(cursor["last_change_id"])
                if self._cursor != last:
                    self._reload(conn, last)
                rows = conn.execute(select(state_changes).where(state_changes.c.id > last).order_by(state_changes.c.id).limit(BATCH)).all()
                taken, gap_since = self._contiguous(rows, last, cursor["gap_since"], now)
                for row in taken:
                    self._apply(conn, row)
                new_last = taken[-1].id if taken else last
                caught_up = len(taken) == len(rows) < BATCH
                if caught_up:
                    self._tick(conn, now)
                outbox.enqueue(conn, self.config, self._notices, now)  # with the changes they tell of
                conn.execute(update(ticket_cursor).where(ticket_cursor.c.id == 1).values(last_change_id=new_last, gap_since=gap_since))
        except BaseException:
            self._cursor = None  # our memory may hold what the rollback undid: reload next time
            raise
        self._cursor = new_last
        return StepResult(changes=len(taken), caught_up=caught_up, opened=self._opened, resolved=self._resolved)

    def run_until_caught_up(self) -> None:
        """Steps until the log is read (or a missing id holds it back for now)."""
        while True:
            result = self.step()
            if result.caught_up or result.changes == 0:
                return

    def _contiguous(self, rows: Sequence[Any], last: int, gap_since: datetime | None, now: datetime) -> tuple[list[Any], datetime | None]:
        taken: list[Any] = []
        expected = last + 1
        for row in rows:
            if row.id != expected:
                if gap_since is None:
                    return taken, now
                if (now - gap_since).total_seconds() < GAP_WAIT_SECONDS:
                    return taken, gap_since
                log.warning("state-change ids %d..%d never appeared (rolled back?): skipped", expected, row.id - 1)
            taken.append(row)
            expected, gap_since = row.id + 1, None
        return taken, None

    def _load_devices(self, conn: Connection) -> None:
        """Retired devices too: their tickets' notices still name the unit, its site and place."""
        self._devices_loaded = time.monotonic()
        devices = self.inventory.read(conn, include_retired=True)
        if devices is self._devices:
            return
        self._devices = devices
        sites: dict[tuple[str, str], list[str]] = defaultdict(list)
        for device in devices.values():
            if device.site and device.active:
                sites[(device.area, device.site)].append(device.id)
        self._sites = dict(sites)

    def _reload(self, conn: Connection, last: int) -> None:
        newest = (select(state_changes.c.device_id, func.max(state_changes.c.id).label("id"))
                  .where(state_changes.c.id <= last).group_by(state_changes.c.device_id).subquery())
        rows = conn.execute(select(state_changes.c.device_id, state_changes.c.state, state_changes.c.reason, state_changes.c.cause)
                            .join(newest, newest.c.id == state_changes.c.id))
        self._seen = {r.device_id: classify(Health(r.state), r.reason, Cause(r.cause)) for r in rows}

    # -- faults from changes ---------------------------------------------------------------------

    def _apply(self, conn: Connection, row: Any) -> None:
        seen = classify(Health(row.state), row.reason, Cause(row.cause))
        before = self._seen.get(row.device_id)
        self._seen[row.device_id] = seen
        c = ticket_faults.c
        known = {f["kind"]: f for f in conn.execute(select(ticket_faults).where(c.subject == row.device_id)).mappings()}
        for kind in seen.judged - {FaultKind.SITE_OFFLINE}:
            detail = seen.faults.get(kind)
            if detail is not None or known.get(kind.value) is not None:  # nothing to do for a fault neither seen nor known
                set_fault(conn, row.device_id, kind, row.device_id, detail, row.at, known.get(kind.value))
        device = self._devices.get(row.device_id)
        if device is not None and device.site and (seen.site_down or (before is not None and before.site_down)):
            members = self._sites.get((device.area, device.site), [row.device_id])
            down = [i for i in members if (s := self._seen.get(i)) is not None and s.site_down]
            detail = f"the whole site {device.site} is offline (power or its uplink): {len(members)} units" if down else None
            set_fault(conn, site_subject(device.area, device.site), FaultKind.SITE_OFFLINE, None, detail, row.at)
        if seen.power and device is not None and device.site:
            self._note_power(conn, site_subject(device.area, device.site), row.at)

    def _note_power(self, conn: Connection, subject: str, at: datetime) -> None:
        row = conn.execute(select(ticket_faults.c.ticket_id).where(ticket_faults.c.subject == subject,
                                                                    ticket_faults.c.kind == FaultKind.SITE_OFFLINE.value)).first()
        if row is not None and row.ticket_id is not None:
            record(conn, row.ticket_id, at, "power cut", "fleetmon", "units came back with reset uptimes: the site lost power")

    @staticmethod
    def _ticket(conn: Connection, ticket_id: int) -> Ticket:
        return _load_ticket(conn, ticket_id)

    @staticmethod
    def _tickets(conn: Connection, ids: Sequence[int]) -> dict[int, Ticket]:
        found: dict[int, Ticket] = {}
        for start in range(0, len(ids), 1000):
            rows = conn.execute(select(tickets).where(tickets.c.id.in_(ids[start : start + 1000]))).mappings()
            found.update((r["id"], Ticket.from_row(r)) for r in rows)
        return found

    # -- timers -----------------------------------------------------------------------------------

    def _tick(self, conn: Connection, now: datetime) -> None:
        rules = self.config.tickets
        active_windows = [w for w in windows.load(conn) if w.active(now)]
        faults = conn.execute(select(ticket_faults).order_by(ticket_faults.c.id)).mappings().all()
        flapping = {f["subject"] for f in faults if f["kind"] == FaultKind.FLAPPING.value and f["present"]}
        linked = self._tickets(conn, [f["ticket_id"] for f in faults if f["ticket_id"] is not None])
        self._behind = self._behind_index()
        for fault in faults:
            ticket = linked.get(fault["ticket_id"]) if fault["ticket_id"] is not None else None
            device = self._devices.get(fault["device_id"] or "")
            if not fault["present"]:
                cleared = fault["cleared_at"]
                if ticket is not None and ticket.state in ACTIVE:
                    if (now - cleared).total_seconds() >= rules.confirm_clear:
                        self._resolve(conn, ticket, now, device)
                elif ticket is None or ticket.state == CLOSED or (now - cleared).total_seconds() > rules.reopen_within:
                    conn.execute(delete(ticket_faults).where(ticket_faults.c.id == fault["id"]))
                continue
            if ticket is not None and ticket.state in ACTIVE:
                continue
            rule = rules.rule(fault["kind"])
            if not rule.enabled:
                continue
            area, site = _where(fault["subject"], device)
            if any(w.covers(device, area, site) for w in active_windows):
                conn.execute(update(ticket_faults).where(ticket_faults.c.id == fault["id"]).values(held_until=now))
                continue
            start = max(fault["since"], fault["held_until"] or fault["since"])
            if (now - start).total_seconds() < rule.after:
                continue
            if fault["kind"] == FaultKind.DEVICE_DOWN.value and fault["subject"] in flapping:
                continue  # the flapping ticket is the one to work
            if ticket is not None and ticket.state == RESOLVED and ticket.resolved_at is not None \
                    and (now - ticket.resolved_at).total_seconds() <= rules.reopen_within:
                self._reopen(conn, ticket, fault, now, device)
            else:
                self._open(conn, fault, now, device, area, site)
        self._refresh_affected(conn)
        self._open_planned(conn, now)
        self._check_sla(conn, now)
        self._close_repaired(conn, now)

    def _behind_index(self) -> dict[str, list[str]]:
        """Units offline behind each parent, from one pass over the fleet (per timer check, not per ticket)."""
        index: dict[str, list[str]] = defaultdict(list)
        for device_id, seen in self._seen.items():
            if seen.behind:
                index[seen.behind].append(device_id)
        return index

    def _affected(self, subject: str, kind: str, device_id: str | None, behind: dict[str, list[str]]) -> list[str]:
        if kind == FaultKind.SITE_OFFLINE.value:
            area, site = _where(subject, None)
            return sorted(i for i in self._sites.get((area, site), []) if (s := self._seen.get(i)) is not None and s.offline)
        if kind == FaultKind.DEVICE_DOWN.value and device_id:
            return sorted(behind.get(device_id, ()))
        return []

    def _title(self, kind: str, subject: str, device: Device | None, affected: Sequence[str], detail: str = "") -> str:
        language = self.config.notifications.language
        label = KIND_LABELS[language].get(kind, kind)
        if kind == FaultKind.EXTERNAL.value:  # an Alertmanager alert: its own words
            return f"{subject.removeprefix('am:')}: {detail.split(' — ')[-1] or label}"
        site = _where(subject, device)[1]
        name = subject if not subject.startswith("site:") else (f"điểm {site}" if language == "vi" else f"site {site}")
        if kind == FaultKind.DEVICE_DOWN.value and affected:
            more = f"{len(affected)} thiết bị phía sau mất liên lạc" if language == "vi" else f"{len(affected)} units behind it unreachable"
            return f"{name}: {label}; {more}"
        return f"{name}: {label}"

    def _open(self, conn: Connection, fault: Any, now: datetime, device: Device | None, area: str, site: str) -> None:
        rule = self.config.tickets.rule(fault["kind"])
        affected = self._affected(fault["subject"], fault["kind"], fault["device_id"], self._behind)
        key = open_key(fault["subject"], fault["kind"])
        existing = conn.execute(select(tickets.c.id).where(tickets.c.open_key == key)).scalar_one_or_none()
        if existing is not None:  # one open ticket per device and fault, whatever else happened
            conn.execute(update(ticket_faults).where(ticket_faults.c.id == fault["id"]).values(ticket_id=existing))
            return
        owner = self._owner_first(fault["kind"], device)
        result = conn.execute(insert(tickets).values(
            subject=fault["subject"], kind=fault["kind"], open_key=key, state=OPEN, severity=rule.severity,
            team=OWNER_TEAM if owner else rule.team, device_id=fault["device_id"], area=area, site=site,
            title=self._title(fault["kind"], fault["subject"], device, affected, fault["detail"]), detail=fault["detail"],
            affected="\n".join(affected),
            assignee=owner, fault_since=fault["since"], opened_at=now, sla_from=now,
            reopened=0, repair_cause="", repair_action="", repair_parts="", repaired_by=""))
        ticket_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        conn.execute(update(ticket_faults).where(ticket_faults.c.id == fault["id"]).values(ticket_id=ticket_id))
        record(conn, ticket_id, now, "opened", "fleetmon", fault["detail"])
        ticket = self._ticket(conn, ticket_id)
        self._notices.append(outbox.Notice(ticket, "ask_owner" if owner else "opened", device))
        if owner:
            record(conn, ticket_id, now, "owner asked", "fleetmon", f"asked {owner} to check power and router first")
        self._opened += 1
        log.info("ticket #%d opened: %s", ticket_id, ticket.title)

    def _reopen(self, conn: Connection, ticket: Ticket, fault: Any, now: datetime, device: Device | None) -> None:
        change(conn, ticket.id, state=OPEN, open_key=open_key(ticket.subject, ticket.kind), reopened=ticket.reopened + 1, resolved_at=None,
               acknowledged_at=None, started_at=None, escalated_at=None, repair_overdue_at=None, close_requested_at=None,
               fault_cleared_at=None, sla_from=now, detail=fault["detail"])
        record(conn, ticket.id, now, "reopened", "fleetmon", fault["detail"])
        self._notices.append(outbox.Notice(self._ticket(conn, ticket.id), "reopened", device))
        self._opened += 1
        log.info("ticket #%d reopened: %s", ticket.id, ticket.title)

    def _resolve(self, conn: Connection, ticket: Ticket, now: datetime, device: Device | None) -> None:
        change(conn, ticket.id, state=RESOLVED, resolved_at=now, open_key=None)
        record(conn, ticket.id, now, "resolved", "fleetmon", "the fault stayed away for the confirmation period")
        self._notices.append(outbox.Notice(self._ticket(conn, ticket.id), "resolved", device))
        self._resolved += 1
        log.info("ticket #%d resolved: %s", ticket.id, ticket.title)

    def _open_planned(self, conn: Connection, now: datetime) -> None:
        language = self.config.notifications.language
        for name, plan, site in plans.due(conn, self.config.tickets.plans, self._sites, self._devices, now):
            label = KIND_LABELS[language][plans.KIND]
            ticket_id = plans.open_ticket(conn, name, plan, site, now, f"{label} ({name}): {site.site}")
            self._notices.append(outbox.Notice(self._ticket(conn, ticket_id), "opened"))
            self._opened += 1

    def _refresh_affected(self, conn: Connection) -> None:
        kinds = [k.value for k in AVAILABILITY]
        for row in conn.execute(select(tickets.c.id, tickets.c.subject, tickets.c.kind, tickets.c.device_id, tickets.c.affected)
                                .where(tickets.c.state.in_(ACTIVE), tickets.c.kind.in_(kinds))).all():
            known = [a for a in row.affected.split("\n") if a]
            now_seen = self._affected(row.subject, row.kind, row.device_id, self._behind)
            merged = sorted(set(known) | set(now_seen))
            if merged != sorted(known):
                change(conn, row.id, affected="\n".join(merged))

    def _owner_first(self, kind: str, device: Device | None) -> str:
        """The owner to ask first, for a household camera's fault the config says owners can check; else ""."""
        first = self.config.tickets.owner_first
        if first is None or device is None or not device.owner_contact or kind not in first.kinds:
            return ""
        return device.owner_contact if device.funding is not None and device.funding.value in first.funding else ""

    def _owner_to_technician(self, conn: Connection, ticket: Ticket, now: datetime) -> Ticket:
        first = self.config.tickets.owner_first
        if first is None or ticket.team != OWNER_TEAM or (now - ticket.opened_at).total_seconds() < first.wait:
            return ticket
        team = self.config.tickets.rule(ticket.kind).team if ticket.kind in DEFAULT_TICKET_RULES else "field"
        change(conn, ticket.id, team=team, assignee="", sla_from=now)
        note = f"the owner ({ticket.assignee}) was asked {_minutes(first.wait)} ago; the fault is still seen"
        record(conn, ticket.id, now, "to technician", "fleetmon", note)
        moved = self._ticket(conn, ticket.id)
        self._notices.append(outbox.Notice(moved, "opened", self._devices.get(ticket.device_id or ""), note=note))
        return moved

    def _check_sla(self, conn: Connection, now: datetime) -> None:
        for row in conn.execute(select(tickets).where(tickets.c.state.in_(ACTIVE))).mappings().all():
            ticket = self._owner_to_technician(conn, Ticket.from_row(row), now)
            if ticket.team == OWNER_TEAM:
                continue  # the owner's turn: the technicians' clock has not started
            sla = self.config.tickets.sla_for(ticket.severity)
            age = (now - ticket.sla_from).total_seconds()
            device = self._devices.get(ticket.device_id or "")
            if ticket.state == OPEN and ticket.escalated_at is None and age > sla.acknowledge:
                change(conn, ticket.id, escalated_at=now)
                record(conn, ticket.id, now, "escalated", "fleetmon", f"not acknowledged within {sla.acknowledge / 60:g} min")
                escalated = self._ticket(conn, ticket.id)
                self._notices.append(outbox.Notice(escalated, "escalated", device, to_lead=True))
                if not outbox.route(self.config, escalated, to_lead=True):
                    log.warning("ticket #%d not acknowledged in time, and no lead is configured for %r", ticket.id, ticket.area)
            if ticket.repair_overdue_at is None and age > sla.repair:
                change(conn, ticket.id, repair_overdue_at=now)
                record(conn, ticket.id, now, "repair overdue", "fleetmon", f"not repaired within {sla.repair / 3600:g} h")
                self._notices.append(outbox.Notice(self._ticket(conn, ticket.id), "repair_overdue", device))

    def _close_repaired(self, conn: Connection, now: datetime) -> None:
        pending = select(tickets).where(tickets.c.close_requested_at.is_not(None), tickets.c.state != CLOSED)
        for row in conn.execute(pending).mappings().all():
            closed = close_if_healthy(conn, Ticket.from_row(row), now, self.config)
            if closed is not None:
                self._notices.append(outbox.Notice(closed, "closed", self._devices.get(closed.device_id or "")))
