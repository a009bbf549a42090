"""Signed storage URLs: one object, one operation, an expiry, an HMAC. No other credential is needed to use one."""

from __future__ import annotations

import re
import time

import jwt

from ...errors import ForbiddenError

_AUDIENCE = "ngc-registry-storage"
# Exactly what `sign` produces: three unpadded base64url parts. (PyJWT also accepts padding: `<token>=`.)
_CANONICAL = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def sign(secret: str, operation: str, obj: dict, ttl: int) -> str:
    claims = {"aud": _AUDIENCE, "op": operation, "obj": obj, "exp": int(time.time()) + ttl}
    return jwt.encode(claims, secret, algorithm="HS256")


def verify(secret: str, token: str, operation: str) -> dict:
    """The signed object, or 403 when the URL is tampered with, expired or meant for another operation."""
    if not _CANONICAL.fullmatch(token):
        raise ForbiddenError("Invalid storage URL signature.")
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience=_AUDIENCE, options={"require": ["exp"]})
    except jwt.ExpiredSignatureError:
        raise ForbiddenError("This storage URL has expired.") from None
    except jwt.PyJWTError:
        raise ForbiddenError("Invalid storage URL signature.") from None
    if claims.get("op") != operation:
        raise ForbiddenError(f"This storage URL does not allow {operation}.")
    return claims["obj"]
