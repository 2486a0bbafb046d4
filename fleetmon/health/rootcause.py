"""Root cause across devices: a switch failure is one fault, not forty.

Run after each sweep over the devices a worker holds. Devices that are down behind a parent
(NVR or uplink) that is down become `unreachable`; a device left `unreachable` after its
parents came back is down on its own account. When every device of a site is offline at once,
the outage is the site's (its power or its uplink), and its devices' outages say so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from fleetmon.health.machine import Policy, change_state
from fleetmon.health.model import Cause, DeviceStatus, Health, Transition
from fleetmon.inventory.model import Device

OFFLINE = (Health.DOWN, Health.UNREACHABLE)


def _offline_ancestor(device_id: str, devices: Mapping[str, Device], statuses: Mapping[str, DeviceStatus]) -> str | None:
    """The nearest offline device `device_id` is behind; None for a device on a parent cycle.

    The import refuses cycles, but one in the store must not make every member "unreachable
    behind the other" with nobody down: a member of a cycle is judged as a device on its own.
    """
    ancestors: list[str] = []
    seen = {device_id}
    parent = devices[device_id].parent if device_id in devices else ""
    while parent and parent not in seen:
        seen.add(parent)
        ancestors.append(parent)
        parent = devices[parent].parent if parent in devices else ""
    if parent == device_id:
        return None
    for ancestor in ancestors:
        status = statuses.get(ancestor)
        if status is not None and status.state in OFFLINE:
            return ancestor
    return None


def _whole_site_offline(devices: Mapping[str, Device], statuses: Mapping[str, DeviceStatus]) -> set[tuple[str, str]]:
    members: dict[tuple[str, str], list[str]] = defaultdict(list)
    for device_id in statuses:
        device = devices.get(device_id)
        if device is not None and device.site:
            members[(device.area, device.site)].append(device_id)
    return {
        site
        for site, ids in members.items()
        if len(ids) > 1 and all(statuses[i].state in OFFLINE for i in ids)
    }


def resolve(
    devices: Mapping[str, Device], statuses: dict[str, DeviceStatus], at: float, policy: Policy
) -> list[Transition]:
    transitions = []
    for device_id, status in statuses.items():
        if status.state not in OFFLINE:
            continue
        ancestor = _offline_ancestor(device_id, devices, statuses)
        if status.state is Health.DOWN and ancestor is not None:
            reason = f"behind {ancestor}, which is offline"
            transitions.append(change_state(status, device_id, at, Health.UNREACHABLE, reason, Cause.NETWORK, policy))
        elif status.state is Health.UNREACHABLE and ancestor is None and status.fail_streak >= policy.down_after:
            reason = "still not answering after its parent came back"
            transitions.append(change_state(status, device_id, at, Health.DOWN, reason, Cause.DEVICE, policy))
    sites = _whole_site_offline(devices, statuses)
    for device_id, status in statuses.items():
        device = devices.get(device_id)
        if device is not None and (device.area, device.site) in sites and status.state is Health.DOWN and status.cause is Cause.DEVICE:
            reason = f"the whole site {device.site} is offline (power or its uplink)"
            transitions.append(change_state(status, device_id, at, Health.DOWN, reason, Cause.NETWORK, policy))
    return transitions
