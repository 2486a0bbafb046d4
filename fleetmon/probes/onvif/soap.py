"""The steady-state ONVIF calls without zeep: fixed envelopes out, one closed lxml parse in.

A sweep asks a camera two small questions (GetSystemDateAndTime, GetDeviceInformation) and a
recorder its recordings (FindRecordings, GetRecordingSearchResults, EndSearch). Through zeep each
call cost ~1.2 ms of CPU, nearly all of it (de)serialising a few hundred bytes; here a request is
a template with the WS-UsernameToken filled in (nonce, Created, SHA-1 digest: once per call) and
the answer is parsed once and read by element names. zeep still does everything else (services,
profiles, stream and snapshot addresses, clock setting).

Answers are read as zeep reads them in its lenient mode: the envelope must be SOAP 1.2 and its
body's first element the answer asked for (namespace included); below it, elements are matched
by local name whatever their namespace or prefix; a value that does not parse is None. zeep also
drops fields that arrive out of schema order or after an unknown element; these readers keep them.
A Fault anywhere in the body raises `SoapFault`, as zeep's `Fault` would, with the same code,
subcodes and reason, so both are classified the same way (`fleetmon.probes.onvif.client.classify`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from typing import NamedTuple
from xml.sax.saxutils import escape

from lxml import etree

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP_ENVELOPES = frozenset({SOAP12, "http://schemas.xmlsoap.org/soap/envelope/"})
DEVICE = "http://www.onvif.org/ver10/device/wsdl"
SEARCH = "http://www.onvif.org/ver10/search/wsdl"
SCHEMA = "http://www.onvif.org/ver10/schema"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
BASE64 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"

# Strict, and as closed as zeep's own settings: no DTD, no entity, no network, lxml's size limits.
STRICT_PARSER = etree.XMLParser(recover=False, resolve_entities=False, no_network=True, huge_tree=False,
                                load_dtd=False, dtd_validation=False, remove_comments=True)

_ENVELOPE = (f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP12}">{{header}}<s:Body>{{body}}'
             "</s:Body></s:Envelope>")
_SECURITY = (f'<s:Header><wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}"><wsse:UsernameToken>'
             f'<wsse:Username>{{username}}</wsse:Username><wsse:Password Type="{DIGEST}">{{digest}}</wsse:Password>'
             f'<wsse:Nonce EncodingType="{BASE64}">{{nonce}}</wsse:Nonce><wsu:Created>{{created}}</wsu:Created>'
             "</wsse:UsernameToken></wsse:Security></s:Header>")


class NotXml(Exception):
    """The reply does not parse as XML."""


class NotTheAnswer(Exception):
    """Well-formed XML, but no SOAP envelope or the answer to another operation."""


class SoapFault(Exception):
    """A SOAP 1.2 Fault, read as zeep reads one: reason, code, subcodes' local names."""

    def __init__(self, message: str | None, code: str | None, subcodes: list[str]) -> None:
        super().__init__(message)
        self.message, self.code, self.subcodes = message, code, subcodes


class UsernameToken(NamedTuple):
    nonce: str  # base64
    created: str
    digest: str  # base64(SHA-1(nonce + created + password))


def username_token(password: str, device_time: float) -> UsernameToken:
    """A fresh PasswordDigest token, Created in the device's own clock (logins are checked against it)."""
    nonce = os.urandom(16)
    created = dt.datetime.fromtimestamp(device_time, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    digest = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest())
    return UsernameToken(base64.b64encode(nonce).decode(), created, digest.decode())


def security_header(username: str, password: str, device_time: float) -> str:
    token = username_token(password, device_time)
    return _SECURITY.format(username=escape(username), digest=token.digest, nonce=token.nonce, created=token.created)


@dataclass(frozen=True, slots=True)
class Request:
    """One operation's request element and what its answer must be called."""

    operation: str
    namespace: str
    params: str = ""  # child elements, already XML

    @property
    def answer(self) -> etree.QName:
        return etree.QName(self.namespace, f"{self.operation}Response")

    @property
    def content_type(self) -> str:
        return f'application/soap+xml; charset=utf-8; action="{self.namespace}/{self.operation}"'

    def envelope(self, header: str = "") -> bytes:
        body = f'<{self.operation} xmlns="{self.namespace}">{self.params}</{self.operation}>'
        return _ENVELOPE.format(header=header, body=body).encode()


def element(name: str, value: str) -> str:
    """One parameter of a request, its text escaped."""
    return f"<{name}>{escape(value)}</{name}>"


def _envelope_answer(content: bytes) -> tuple[str, etree._Element, etree._Element]:
    """The envelope's namespace, its body and the body's first element; raises if any is missing.

    Trailing NULs and whitespace, which some firmwares append, are tolerated.
    """
    try:
        root = etree.fromstring(content.rstrip(b"\x00 \t\r\n"), STRICT_PARSER)
    except etree.XMLSyntaxError as exc:
        raise NotXml(f"reply is not well-formed XML ({str(exc)[:120]})") from None
    if root is None or not isinstance(root.tag, str):
        raise NotTheAnswer("reply is not a SOAP envelope")
    tag = etree.QName(root)
    if tag.localname != "Envelope" or tag.namespace not in SOAP_ENVELOPES:
        raise NotTheAnswer("reply is not a SOAP envelope")
    body = root.find(f"{{{tag.namespace}}}Body")
    first = next((child for child in body if isinstance(child.tag, str)), None) if body is not None else None
    if body is None or first is None:
        raise NotTheAnswer("reply has an empty SOAP body")
    return tag.namespace, body, first


def _expect(answer: etree._Element, expected: etree.QName) -> None:
    tag = etree.QName(answer)
    if (tag.namespace, tag.localname) != (expected.namespace, expected.localname):
        raise NotTheAnswer(f"reply answers with <{tag.localname}>, not <{expected.localname}>")


def check_reply(content: bytes, expected: etree.QName | None) -> None:
    """Refuse what zeep would recover from: broken XML, no envelope, the answer to another question.

    A SOAP Fault passes (zeep turns it into its typed exception).
    """
    _, _, first = _envelope_answer(content)
    if expected is not None and etree.QName(first).localname != "Fault":
        _expect(first, expected)


def answer_of(content: bytes, status: int, expected: etree.QName) -> etree._Element:
    """The answer element of a reply, or the exception zeep's reading of it would end in."""
    namespace, body, first = _envelope_answer(content)
    if etree.QName(first).localname != "Fault":
        _expect(first, expected)
    if namespace != SOAP12:
        raise NotTheAnswer("reply is a SOAP 1.1 envelope; ONVIF answers in SOAP 1.2")
    fault = body.find(f"{{{SOAP12}}}Fault")
    if fault is not None:
        raise _fault(fault)
    if status != 200:
        raise SoapFault("Unknown fault occured", None, [])
    return first


def _fault(node: etree._Element) -> SoapFault:
    subcodes = []
    subcode = node.find(f"{{{SOAP12}}}Code/{{{SOAP12}}}Subcode")
    while subcode is not None:
        value = subcode.find(f"{{{SOAP12}}}Value")
        if value is None or value.text is None or value.text.count(":") > 1 \
                or (":" in value.text and value.text.split(":")[0] not in value.nsmap):
            raise NotTheAnswer("reply holds a SOAP fault with an unreadable subcode")
        subcodes.append(value.text.rsplit(":", 1)[-1])
        subcode = subcode.find(f"{{{SOAP12}}}Subcode")
    return SoapFault(node.findtext(f"{{{SOAP12}}}Reason/{{{SOAP12}}}Text"),
                     node.findtext(f"{{{SOAP12}}}Code/{{{SOAP12}}}Value"), subcodes)


# -- reading an answer: by local name, any namespace ----------------------------------------------

def child(node: etree._Element | None, *path: str) -> etree._Element | None:
    """The first element of that local name at each step of `path`, None once one is missing."""
    for name in path:
        if node is None:
            return None
        node = node.find(f"{{*}}{name}")
    return node


def children(node: etree._Element | None, name: str) -> list[etree._Element]:
    return [] if node is None else node.findall(f"{{*}}{name}")


def text(node: etree._Element | None) -> str | None:
    return None if node is None else node.text


def integer(node: etree._Element | None) -> int | None:
    value = text(node)
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def date_time(node: etree._Element | None) -> dt.datetime | None:
    """An xs:dateTime (zone kept; none when the device sends none); None when absent or impossible."""
    value = text(node)
    if value is None:
        return None
    if len(value) > 10 and value[10] == "t":
        value = value.replace("t", "T", 1)
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None
