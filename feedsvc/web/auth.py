"""Who is asking: the token of a request's `Authorization` header, and from where.

API clients send `Authorization: Bearer <token>`. Feed readers rarely let a user
set headers but nearly all support HTTP Basic credentials, so a feed also accepts
the token as the password of Basic authentication (any user name).
"""

from __future__ import annotations

import base64
import binascii

from flask import request

from feedsvc import db
from feedsvc.models import Token
from feedsvc.store.tokens import token_by_secret


def client_address() -> str:
    """The client's address, as the trusted proxies in front (FEEDSVC_PROXY_COUNT) report it."""
    return request.remote_addr or ""


def secret_of(authorization: str) -> str | None:
    scheme, _, credentials = authorization.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return credentials or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def feed_reader_token(authorization: str) -> Token | None:
    secret = secret_of(authorization)
    return token_by_secret(db.session(), secret) if secret else None


def bearer_token() -> Token | None:
    """The token of an `Authorization: Bearer` header, if one is given and valid."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return token_by_secret(db.session(), secret.strip())
