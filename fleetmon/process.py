"""Process-wide settings a fleet-sized service needs from the operating system."""

from __future__ import annotations

import logging
import resource

log = logging.getLogger(__name__)

WANTED_OPEN_FILES = 1 << 20


def raise_open_files_limit(wanted: int = WANTED_OPEN_FILES) -> int:
    """Lift the soft limit on open files towards `wanted`; returns the limit now in force.

    A sweep holds a socket per probe in flight and a simulator a socket per connection it has
    accepted and not yet seen closed: a province outgrows the usual 1,024 (or 20,000) at once.
    Root may also lift the hard limit (up to the kernel's fs.nr_open); others get the hard limit.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for limit in ((wanted, max(hard, wanted)), (min(wanted, hard), hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, limit)
            return limit[0]
        except (ValueError, OSError):
            continue
    log.warning("open files limited to %d", soft)
    return soft
