"""Tickets and passes: `v1.<payload>.<mac>`, payload base64url JSON, mac
base64url HMAC-SHA256 over "v1." + payload. One fixed algorithm, so none of
JWT's algorithm confusion; compared with `hmac.compare_digest`.

A ticket (kind "t") says which entry a shopper holds and, once known, its rank:
with it a poll of the public state is enough to know one's position. A pass
(kind "p") admits its shopper to order the product until its expiry. Neither is
ever the other: the kind is inside the signed payload.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any, NamedTuple

TICKET = "t"
PASS = "p"


class BadToken(ValueError):
    """Not a token this room signed (or not of the kind asked for)."""


class Token(NamedTuple):
    kind: str
    product_id: str
    shopper: str
    entry_id: str
    rank: int | None
    expires: int | None = None  # epoch seconds (passes)

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "k": self.kind,
            "p": self.product_id,
            "s": self.shopper,
            "e": self.entry_id,
        }
        if self.rank is not None:
            body["r"] = self.rank
        if self.expires is not None:
            body["x"] = self.expires
        return body


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, token: Token) -> str:
    """The token's text."""
    body = _b64(json.dumps(token.payload(), separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(key, f"v1.{body}".encode(), hashlib.sha256).digest()
    return f"v1.{body}.{_b64(mac)}"


def read(key: bytes, text: str, kind: str) -> Token:
    """The token `text` carries, if this key signed it and it is of `kind`."""
    parts = text.split(".")
    if len(parts) != 3 or parts[0] != "v1":
        raise BadToken("not a v1 token")
    try:
        mac = _unb64(parts[2])
        expected = hmac.new(key, f"v1.{parts[1]}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            raise BadToken("signature does not match")
        data = json.loads(_unb64(parts[1]))
        token = Token(
            kind=str(data["k"]),
            product_id=str(data["p"]),
            shopper=str(data["s"]),
            entry_id=str(data["e"]),
            rank=None if data.get("r") is None else int(data["r"]),
            expires=None if data.get("x") is None else int(data["x"]),
        )
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, BadToken):
            raise
        raise BadToken("malformed token") from exc
    if token.kind != kind:
        raise BadToken(
            f"a {'pass' if token.kind == PASS else 'ticket'}, not a "
            f"{'pass' if kind == PASS else 'ticket'}"
        )
    return token
