"""Faults on demand: set and clear them on one device or a random share of the fleet.

`FaultControl` holds the semantics the protocol servers rely on; `start_control` puts it behind a
small JSON HTTP API on 127.0.0.1, which `fleetmon simulate fault/clear` and tests talk to. Every
request carries `Authorization: Bearer TOKEN` (a token made per run, kept in a file of mode 0600 that
only its user can read, see `write_token`), and a POST's body is `Content-Type: application/json`:
a web page the tester opens cannot drive the simulator (it knows no token, and a cross-origin
`text/plain` POST is refused).

    GET    /devices[?faulty=true]      [{"id", "kind", "host", "parent", "faults": {name: param}}]
    GET    /devices/{id}               one of those, or 404
    POST   /faults  {"fault", "param"?, "device" | "share"}   -> {"devices": [ids]}
    DELETE /faults[?device=ID][&fault=NAME]                    -> {"cleared": [ids]}

Semantics: REBOOT is a one-off (boot_time := now, nothing kept); PARENT_DOWN is kept on the device
and sets OFFLINE on its parent; DISK_FAILED (param: disk index) and DISK_FULL change the `Disk`
objects, whose originals are kept so clearing restores them exactly. Errors (unknown device,
fault that cannot apply) are `FaultError`, HTTP 400/404.
"""

from __future__ import annotations

import dataclasses
import hmac
import math
import os
import random
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from fleetmon.inventory.model import DeviceKind
from fleetmon.simulator.fleet import Fleet
from fleetmon.simulator.state import DEFAULT_PARAM, Disk, EmulatedDevice, Fault

DISK_FAULTS = frozenset({Fault.DISK_FAILED, Fault.DISK_FULL})
RECORDER_FAULTS = DISK_FAULTS | {Fault.RECORDING_STOPPED}
CAMERA_FAULTS = frozenset({Fault.SNAPSHOT_BLACK, Fault.SNAPSHOT_FROZEN, Fault.SNAPSHOT_BLURRED,
                           Fault.SNAPSHOT_COVERED, Fault.SCENE_MOVED})
# Bounds of a fault's param: a delay or period longer than a day is a hang (a fault of its own), a
# clock off by more than a century breaks date arithmetic; NaN and infinities are never meant.
PARAM_RANGE: dict[Fault, tuple[float, float]] = {
    Fault.SLOW: (0.0, 86_400.0), Fault.REBOOT_LOOP: (1.0, 86_400.0), Fault.FLAPPING: (1.0, 86_400.0),
    Fault.PACKET_LOSS: (0.0, 100.0), Fault.CLOCK_SKEW: (-3.2e9, 3.2e9), Fault.DISK_FAILED: (0.0, 1_000.0),
    Fault.DRIP: (0.001, 3_600.0), Fault.HUGE_REPLY: (0.0, 10_000.0),
}
SPEC = re.compile(r"^(?P<fault>[a-z_]+)(?:=(?P<param>[-+0-9.eE]+))?:(?P<target>[^:]+?)(?P<percent>%)?$")


class FaultError(ValueError):
    """A fault request that cannot be applied; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One fault on one device (`device`) or on `share` percent of the devices it fits."""

    fault: Fault
    param: float | None = None
    device: str | None = None
    share: float | None = None


def parse_fault(name: str) -> Fault:
    try:
        return Fault(name.strip().lower().replace("-", "_"))
    except ValueError:
        raise FaultError(f"unknown fault {name!r}; known: {', '.join(f.value for f in Fault)}") from None


def parse_spec(text: str) -> FaultSpec:
    """`offline:cam-000012`, `slow=3:nvr-0001-1`, `packet_loss=5:10%` (a random 10 % of the fleet)."""
    match = SPEC.match(text.strip())
    if match is None:
        raise FaultError(f"fault spec {text!r} is not FAULT[=PARAM]:DEVICE or FAULT[=PARAM]:PERCENT%")
    param = float(match["param"]) if match["param"] else None
    fault = parse_fault(match["fault"])
    if not match["percent"]:
        return FaultSpec(fault, param, device=match["target"])
    try:
        share = float(match["target"])
    except ValueError:
        raise FaultError(f"fault spec {text!r}: {match['target']!r} is not a percentage") from None
    if not 0 < share <= 100:
        raise FaultError(f"fault spec {text!r}: the share must be in (0, 100] %")
    return FaultSpec(fault, param, share=share)


def check_spec(spec: FaultSpec) -> None:
    """Refuse what no tester means: NaN, infinite or out-of-range params and shares."""
    if (spec.device is None) == (spec.share is None):
        raise FaultError("give exactly one of device and share")
    if spec.share is not None and not (math.isfinite(spec.share) and 0 < spec.share <= 100):
        raise FaultError(f"share {spec.share!r}: must be a percentage in (0, 100]")
    if spec.param is not None:
        low, high = PARAM_RANGE.get(spec.fault, (0.0, math.inf))
        if not (math.isfinite(spec.param) and low <= spec.param <= high):
            raise FaultError(f"{spec.fault.value}: param {spec.param!r} must be a finite number in [{low:g}, {high:g}]")


def fits(device: EmulatedDevice, fault: Fault) -> bool:
    """Whether `fault` means anything for `device` (disks for recorders, images for cameras)."""
    if fault in RECORDER_FAULTS:
        return bool(device.disks)
    if fault in CAMERA_FAULTS:
        return device.device.kind is DeviceKind.CAMERA
    if fault is Fault.PARENT_DOWN:
        return device.parent is not None
    return True


@dataclass(slots=True)
class FaultControl:
    fleet: Fleet
    rng: random.Random = field(default_factory=random.Random)
    _original_disks: dict[str, list[Disk]] = field(default_factory=dict)

    def device(self, device_id: str) -> EmulatedDevice:
        found = self.fleet.devices.get(device_id)
        if found is None:
            raise FaultError(f"no device {device_id!r} in the simulated fleet", status=404)
        return found

    def apply(self, spec: FaultSpec) -> list[str]:
        """Set the fault; the ids of the devices it was set on."""
        check_spec(spec)
        if spec.device is not None:
            targets = [self.device(spec.device)]
        else:
            eligible = [d for d in self.fleet.devices.values() if fits(d, spec.fault)]
            count = round(len(eligible) * (spec.share or 0) / 100)
            targets = self.rng.sample(eligible, k=max(count, 1 if eligible else 0))
        for target in targets:
            self.set(target, spec.fault, spec.param)
        return [t.device.id for t in targets]

    def set(self, device: EmulatedDevice, fault: Fault, param: float | None = None) -> None:
        if not fits(device, fault):
            raise FaultError(f"{fault.value} does not apply to {device.device.kind.value} {device.device.id}")
        value = DEFAULT_PARAM.get(fault, 0.0) if param is None else param
        if fault is Fault.REBOOT:
            device.boot_time = time.time()
            return
        if fault is Fault.DISK_FAILED and not 0 <= int(value) < len(device.disks):
            raise FaultError(f"{device.device.id} has disks 0..{len(device.disks) - 1}, not {int(value)}")
        if fault is Fault.PARENT_DOWN:
            assert device.parent is not None
            device.parent.faults[Fault.OFFLINE] = 0.0
        device.faults[fault] = value
        self._render_disks(device)

    def clear(self, device: EmulatedDevice, fault: Fault | None = None) -> bool:
        """Clear one fault (or all) of `device`; whether anything was set."""
        clearing = [fault] if fault is not None else list(device.faults)
        present = [f for f in clearing if f in device.faults]
        for item in present:
            del device.faults[item]
            if item is Fault.PARENT_DOWN and device.parent is not None:
                device.parent.faults.pop(Fault.OFFLINE, None)
        self._render_disks(device)
        return bool(present)

    def clear_all(self, fault: Fault | None = None) -> list[str]:
        return [d.device.id for d in self.fleet.devices.values() if d.faults and self.clear(d, fault)]

    def _render_disks(self, device: EmulatedDevice) -> None:
        """Disks as the original ones changed by the disk faults now set, originals kept aside."""
        if not device.disks:
            return
        original = self._original_disks.setdefault(device.device.id, [dataclasses.replace(d) for d in device.disks])
        for disk, pristine in zip(device.disks, original, strict=True):
            disk.used_bytes, disk.failed = pristine.used_bytes, pristine.failed
            if Fault.DISK_FULL in device.faults:
                disk.used_bytes = disk.capacity_bytes
        if Fault.DISK_FAILED in device.faults:
            device.disks[int(device.faults[Fault.DISK_FAILED])].failed = True
        if not device.faults.keys() & DISK_FAULTS:
            del self._original_disks[device.device.id]


def describe(device: EmulatedDevice) -> dict[str, Any]:
    return {"id": device.device.id, "kind": device.device.kind.value, "host": device.device.host,
            "parent": device.device.parent, "faults": {f.value: p for f, p in device.faults.items()}}


def _app(control: FaultControl, token: str) -> web.Application:
    async def devices(request: web.Request) -> web.Response:
        faulty = request.query.get("faulty", "").lower() in ("1", "true", "yes")
        return web.json_response([describe(d) for d in control.fleet.devices.values() if d.faults or not faulty])

    async def one(request: web.Request) -> web.Response:
        return web.json_response(describe(control.device(request.match_info["id"])))

    async def set_fault(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            spec = FaultSpec(parse_fault(str(body["fault"])),
                             None if body.get("param") is None else float(body["param"]),
                             device=body.get("device"), share=None if body.get("share") is None else float(body["share"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise FaultError(f"expected JSON {{fault, param?, device | share}}: {exc}") from None
        return web.json_response({"devices": control.apply(spec)})

    async def clear(request: web.Request) -> web.Response:
        fault = parse_fault(request.query["fault"]) if "fault" in request.query else None
        if "device" in request.query:
            device = control.device(request.query["device"])
            return web.json_response({"cleared": [device.device.id] if control.clear(device, fault) else []})
        return web.json_response({"cleared": control.clear_all(fault)})

    @web.middleware
    async def errors(request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
        except FaultError as exc:
            return web.json_response({"error": str(exc)}, status=exc.status)
        return response

    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return web.json_response({"error": "missing or wrong token (Authorization: Bearer TOKEN, from the token file "
                                               "`fleetmon simulate` wrote)"}, status=401)
        if request.method == "POST" and request.content_type != "application/json":
            return web.json_response({"error": "the body must be Content-Type: application/json"}, status=415)
        response: web.StreamResponse = await handler(request)
        return response

    app = web.Application(middlewares=[guard, errors], client_max_size=64 * 1024)
    app.add_routes([web.get("/devices", devices), web.get("/devices/{id}", one),
                    web.post("/faults", set_fault), web.delete("/faults", clear)])
    return app


def new_token() -> str:
    return secrets.token_urlsafe(24)


def default_token_file(port: int) -> Path:
    """Where `fleetmon simulate` keeps the token of the simulator whose control API is on `port`."""
    base = os.environ.get("XDG_RUNTIME_DIR") or str(Path.home() / ".cache")
    return Path(base) / "fleetmon" / f"simulator-{port}.token"


def write_token(path: Path, token: str) -> None:
    """Write `token` to `path`, readable by this user only (mode 0600, its folder 0700 if made here)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # not through a link someone left there, and not keeping an old file's mode
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(token + "\n")


def read_token(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


async def start_control(control: FaultControl, port: int, token: str, host: str = "127.0.0.1") -> web.AppRunner:
    """Serve the control API to holders of `token`; `await runner.cleanup()` stops it."""
    runner = web.AppRunner(_app(control, token), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
