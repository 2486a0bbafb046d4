"""Login throttling: failed sign-ins pause further attempts, per account and per client address.

After `attempts` failures for an account (four times that from one address, which may be a whole
police station behind one NAT) the next attempt must wait `pause`, doubling with each further
failure up to `pause_max`. A success clears the account's count. Kept in memory: a restart
forgets it, which costs an attacker a restart of the service they cannot cause.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Record:
    failures: int = 0
    last: float = 0.0
    blocked_until: float = 0.0


class LoginThrottle:
    def __init__(self, attempts: int = 5, pause: float = 30.0, pause_max: float = 900.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.attempts = attempts
        self.pause = pause
        self.pause_max = pause_max
        self.clock = clock
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    def _keys(self, name: str, address: str) -> list[tuple[str, int]]:
        return [(f"user:{name.lower()}", self.attempts), (f"addr:{address}", self.attempts * 4)]

    def wait_seconds(self, name: str, address: str) -> float:
        """How long this account or address must still wait before trying again (0: go ahead)."""
        now = self.clock()
        with self._lock:
            return max([0.0] + [r.blocked_until - now for key, _ in self._keys(name, address) if (r := self._records.get(key))])

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for key, limit in self._keys(name, address):
                record = self._records.setdefault(key, _Record())
                if now - record.last > self.pause_max * 2:  # a quiet spell forgives old failures
                    record.failures = 0
                record.failures += 1
                record.last = now
                if record.failures >= limit:
                    record.blocked_until = now + min(self.pause * 2 ** (record.failures - limit), self.pause_max)
            if len(self._records) > 100_000:  # bounded memory under a spray of names
                self._records = {k: r for k, r in self._records.items() if r.blocked_until > now}

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._records.pop(f"user:{name.lower()}", None)
