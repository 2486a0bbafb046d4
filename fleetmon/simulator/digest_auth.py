"""The login of an emulated device's web and RTSP servers: Digest (RFC 7616, MD5), and Basic if allowed.

Cameras and recorders answer an unauthenticated request with 401 and a Digest challenge; the
client repeats it with `Authorization: Digest ...`. Nonces are stateless (a timestamp and its
HMAC under a per-process key), so 100,000 devices keep no per-client state, and an expired nonce
earns a challenge with `stale=true`. Both `qop=auth` (HTTP clients) and the RFC 2069 form without
qop (many RTSP clients) are accepted; the `uri` a client signed must be the one it requested.
A device with WRONG_PASSWORD set rejects every login, as after someone changed its password.
The digest arithmetic is the probes' own (`fleetmon.probes.http.digest`), so both ends agree by construction.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import SecretStr

from fleetmon.probes.http.digest import challenge_fields, digest_response
from fleetmon.simulator.state import EmulatedDevice, Fault

NONCE_LIFETIME = 300.0


class Verdict(enum.Enum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"  # no credentials, wrong ones, or a forged nonce
    STALE = "stale"  # right password, expired nonce: the client retries without asking the user


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison that also takes the non-ASCII text a hostile client may send."""
    return hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True, slots=True)
class DeviceLogin:
    """One account, as every emulated device of the fleet has it (the fleet shares a password)."""

    username: str
    password: SecretStr
    realm: str = "IP Camera"
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(16), repr=False)

    def challenge(self, *, stale: bool = False, qop: bool = True, now: float | None = None) -> str:
        stamp = f"{int(time.time() if now is None else now):x}"
        nonce = f"{stamp}{self._sign(stamp)}"
        text = f'Digest realm="{self.realm}", nonce="{nonce}", algorithm=MD5'
        if qop:
            text += ', qop="auth"'
        return text + (", stale=true" if stale else "")

    def check(self, header: str, method: str, uri: str, *, allow_basic: bool = False,
              now: float | None = None) -> Verdict:
        """Whether `Authorization: header` on `method uri` logs in (Basic only where `allow_basic`)."""
        scheme = header.split(" ", 1)[0].lower()
        if scheme == "basic" and allow_basic:
            return self._check_basic(header)
        if scheme != "digest":
            return Verdict.REJECTED
        fields = challenge_fields(header)
        nonce = fields.get("nonce", "")
        stamp, signature = nonce[:-16], nonce[-16:]
        if (fields.get("username") != self.username or fields.get("uri") != uri or not stamp
                or not _same(signature, self._sign(stamp)) or fields.get("qop", "auth") != "auth"
                or fields.get("algorithm", "MD5").upper() != "MD5"):
            return Verdict.REJECTED
        expected = digest_response({**fields, "realm": self.realm}, self.password.get_secret_value(), method, uri,
                                   fields.get("nc", ""), fields.get("cnonce", ""))
        if not _same(fields.get("response", ""), expected):
            return Verdict.REJECTED
        try:
            issued = int(stamp, 16)
        except ValueError:
            return Verdict.REJECTED
        age = (time.time() if now is None else now) - issued
        return Verdict.ACCEPTED if 0 <= age <= NONCE_LIFETIME else Verdict.STALE

    def _check_basic(self, header: str) -> Verdict:
        try:
            user, _, password = base64.b64decode(header.split(" ", 1)[1], validate=True).decode().partition(":")
        except (IndexError, binascii.Error, UnicodeDecodeError):
            return Verdict.REJECTED
        good = user == self.username and _same(password, self.password.get_secret_value())
        return Verdict.ACCEPTED if good else Verdict.REJECTED

    def _sign(self, stamp: str) -> str:
        return hmac.new(self._key, stamp.encode(), hashlib.sha256).hexdigest()[:16]


def device_verdict(device: EmulatedDevice, login: DeviceLogin, header: str, method: str, uri: str, *,
                   allow_basic: bool = False) -> Verdict:
    """`login.check`, except that a device whose password was changed (WRONG_PASSWORD) rejects all."""
    if Fault.WRONG_PASSWORD in device.faults:
        return Verdict.REJECTED
    return login.check(header, method, uri, allow_basic=allow_basic)


def refusal(request: web.Request, device: EmulatedDevice, login: DeviceLogin, *,
            allow_basic: bool = False) -> web.Response | None:
    """None when an HTTP request carries a valid login, else the 401 to answer with."""
    verdict = device_verdict(device, login, request.headers.get("Authorization", ""), request.method,
                             request.path_qs, allow_basic=allow_basic)
    if verdict is Verdict.ACCEPTED:
        return None
    return web.Response(status=401, text="401 Unauthorized\n",
                        headers={"WWW-Authenticate": login.challenge(stale=verdict is Verdict.STALE)})
