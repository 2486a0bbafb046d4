"""Digest access authentication (RFC 7616, MD5 and SHA-256) for protocols httpx does not speak.

RTSP logs in exactly as HTTP does, so the RTSP probe answers challenges with these functions,
and the simulator checks answers with the same arithmetic. HTTP itself uses httpx's DigestAuth.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

_FIELD = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')
_HASHES = {"md5": "md5", "sha-256": "sha256"}


def challenge_fields(header: str) -> dict[str, str]:
    """The key=value pairs after the scheme of a `WWW-Authenticate` or `Authorization` header."""
    rest = header.split(" ", 1)[1] if " " in header.strip() else ""
    return {m[1].lower(): m[2].replace('\\"', '"') if m[2] is not None else m[3] for m in _FIELD.finditer(rest)}


def digest_response(fields: dict[str, str], password: str, method: str, uri: str,
                    nc: str = "", cnonce: str = "") -> str:
    """The `response` value for `fields` (realm, nonce, username, qop, algorithm) and a request."""
    name = _HASHES.get(fields.get("algorithm", "MD5").lower())
    if name is None:
        raise ValueError(f"digest algorithm {fields.get('algorithm')!r} is not supported")

    def h(text: str) -> str:
        return hashlib.new(name, text.encode()).hexdigest()

    ha1 = h(f"{fields.get('username', '')}:{fields.get('realm', '')}:{password}")
    ha2 = h(f"{method}:{uri}")
    if fields.get("qop"):
        return h(f"{ha1}:{fields.get('nonce', '')}:{nc}:{cnonce}:{fields['qop']}:{ha2}")
    return h(f"{ha1}:{fields.get('nonce', '')}:{ha2}")


def authorization(challenges: list[str], username: str, password: str, method: str, uri: str) -> str | None:
    """The `Authorization` value answering the strongest challenge offered (Digest over Basic), or None."""
    digest = next((c for c in challenges if c.strip().lower().startswith("digest ")), None)
    if digest is not None:
        offered = challenge_fields(digest)
        fields = {"username": username, "realm": offered.get("realm", ""), "nonce": offered.get("nonce", ""),
                  "algorithm": offered.get("algorithm", "MD5")}
        answer = {"username": username, "realm": fields["realm"], "nonce": fields["nonce"], "uri": uri}
        nc = cnonce = ""
        if "auth" in [q.strip() for q in offered.get("qop", "").split(",")]:
            fields["qop"], nc, cnonce = "auth", "00000001", secrets.token_hex(8)
        answer["response"] = digest_response(fields, password, method, uri, nc, cnonce)
        text = "Digest " + ", ".join(f'{key}="{value}"' for key, value in answer.items())
        text += f", algorithm={fields['algorithm']}"
        if "opaque" in offered:
            text += f', opaque="{offered["opaque"]}"'
        if nc:
            text += f', qop=auth, nc={nc}, cnonce="{cnonce}"'
        return text
    if any(c.strip().lower().startswith("basic") for c in challenges):
        return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    return None
