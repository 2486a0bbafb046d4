"""SOAP 1.2 for the simulator, by hand: parse a request with lxml, build answers from strings.

zeep on the server side would cost milliseconds per request; the simulator must answer several
times faster than fleetmon probes, so envelopes are f-strings and the request is read with a
parser that loads no DTD, expands no entity and fetches nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from lxml import etree

ENV = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
NAMESPACES = {
    "env": ENV,
    "tt": "http://www.onvif.org/ver10/schema",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tse": "http://www.onvif.org/ver10/search/wsdl",
    "ter": "http://www.onvif.org/ver10/error",
}
_DECLARATIONS = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NAMESPACES.items())
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
CONTENT_TYPE = "application/soap+xml"


class SoapError(Exception):
    """A request answered with a SOAP fault: `code` (Sender/Receiver), ONVIF `subcode`, HTTP status."""

    def __init__(self, subcode: str, reason: str, *, code: str = "Sender", status: int = 400) -> None:
        super().__init__(reason)
        self.code, self.subcode, self.reason, self.status = code, subcode, reason, status


@dataclass(frozen=True, slots=True)
class UsernameToken:
    username: str
    password: str
    digest: bool
    nonce: bytes
    created: str


@dataclass(frozen=True, slots=True)
class Request:
    operation: str  # local name of the Body's first child
    body: etree._Element
    token: UsernameToken | None

    def text(self, path: str) -> str | None:
        """Text of the first element at `path` (local names joined by "/") under the operation."""
        found = self.body.find("/".join(f"{{*}}{part}" for part in path.split("/")))
        return found.text.strip() if found is not None and found.text else None

    def texts(self, name: str) -> list[str]:
        return [e.text.strip() for e in self.body.iter(f"{{*}}{name}") if e.text]


def parse_request(data: bytes) -> Request:
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise SoapError("ter:InvalidArgVal", "DTDs are not accepted")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SoapError("ter:WellFormed", f"malformed XML: {exc}") from None
    body = root.find(f"{{{ENV}}}Body")
    operation = body[0] if body is not None and len(body) else None
    if operation is None:
        raise SoapError("ter:InvalidArgVal", "no SOAP 1.2 Body with an operation")
    return Request(etree.QName(operation).localname, operation, _token(root))


def _token(root: etree._Element) -> UsernameToken | None:
    token = root.find(f"{{{ENV}}}Header/{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    if token is None:
        return None
    password = token.find(f"{{{WSSE}}}Password")
    nonce = token.findtext(f"{{{WSSE}}}Nonce") or ""
    try:
        nonce_bytes = base64.b64decode(nonce, validate=True)
    except ValueError:
        nonce_bytes = b""
    return UsernameToken(
        username=(token.findtext(f"{{{WSSE}}}Username") or "").strip(),
        password=(password.text or "") if password is not None else "",
        digest=password is not None and (password.get("Type") or "").endswith("#PasswordDigest"),
        nonce=nonce_bytes,
        created=(token.findtext(f"{{{WSU}}}Created") or "").strip(),
    )


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """WS-Security UsernameToken digest: Base64(SHA-1(nonce + created + password))."""
    return base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()


def token_matches(token: UsernameToken, username: str, password: str) -> bool:
    if not hmac.compare_digest(token.username.encode(), username.encode()):
        return False
    expected = password_digest(token.nonce, token.created, password) if token.digest else password
    return hmac.compare_digest(token.password.encode(), expected.encode())


def parse_time(text: str) -> datetime | None:
    """An xs:dateTime as an aware UTC datetime, or None when it is not one."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def xs_datetime(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<env:Envelope {_DECLARATIONS}>'
            f"<env:Body>{body}</env:Body></env:Envelope>").encode()


def fault_envelope(error: SoapError) -> bytes:
    return envelope(
        f"<env:Fault><env:Code><env:Value>env:{error.code}</env:Value>"
        f"<env:Subcode><env:Value>{error.subcode}</env:Value></env:Subcode></env:Code>"
        f'<env:Reason><env:Text xml:lang="en">{escape(error.reason)}</env:Text></env:Reason></env:Fault>')


def text(value: object) -> str:
    """A value as XML character data."""
    return escape(str(value))
