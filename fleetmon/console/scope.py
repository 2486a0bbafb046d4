"""What a user may see: the whole fleet, or one area subtree. The only place area access is decided.

Every page, JSON answer and export reads devices, tickets and windows through a `Scope`; nothing
filters by area on its own. A device outside the scope does not exist for the user (404), so an
area viewer cannot even learn which ids are taken elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from fleetmon.alerts.tickets import Ticket
from fleetmon.alerts.windows import Window
from fleetmon.inventory.model import AREA_SEPARATOR, Device, split_area_path

T = TypeVar("T", bound=Ticket)


@dataclass(frozen=True, slots=True)
class Scope:
    area: tuple[str, ...] = ()  # () is the whole fleet

    @classmethod
    def of_area(cls, area: str) -> Scope:
        return cls(split_area_path(area))

    @property
    def whole_fleet(self) -> bool:
        return not self.area

    @property
    def label(self) -> str:
        return AREA_SEPARATOR.join(self.area)

    def covers(self, area: str | tuple[str, ...]) -> bool:
        path = split_area_path(area) if isinstance(area, str) else area
        return path[: len(self.area)] == self.area

    def devices(self, every: Mapping[str, Device]) -> dict[str, Device]:
        if self.whole_fleet:
            return {k: d for k, d in every.items() if d.active}
        covered = {area: self.covers(area) for area in {d.area for d in every.values()}}  # each area's text split once
        return {k: d for k, d in every.items() if d.active and covered[d.area]}

    def device(self, every: Mapping[str, Device], device_id: str) -> Device | None:
        found = every.get(device_id)
        return found if found is not None and found.active and self.covers(found.area_path) else None

    def tickets(self, found: Iterable[T]) -> list[T]:
        return [t for t in found if self.whole_fleet or (t.area and self.covers(t.area))]

    def windows(self, found: Iterable[Window], every: Mapping[str, Device]) -> list[Window]:
        if self.whole_fleet:
            return list(found)
        shown = []
        for w in found:
            if w.scope == "device":
                ok = self.device(every, w.target) is not None
            elif w.scope == "site":
                ok = bool(w.target.rpartition("|")[0]) and self.covers(w.target.rpartition("|")[0])
            else:
                ok = self.covers(w.target)
            if ok:
                shown.append(w)
        return shown
