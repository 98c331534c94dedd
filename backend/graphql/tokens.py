"""Admin access tokens: JWT, HS256 only, 24-hour expiry, a jti for sign-out.

The algorithm is pinned on decode, so a token claiming `alg: none` or RS256
is refused whatever its signature; `exp`, `sub`, `role` and `jti` are required.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from backend.domain.errors import Unauthenticated
from backend.domain.models import Admin, AdminRole

ALGORITHM = "HS256"
LIFETIME = timedelta(hours=24)
ISSUER = "dvorik"


@dataclass(frozen=True)
class Claims:
    admin_id: int
    role: AdminRole
    jti: str
    expires_at: datetime


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


def issue(admin: Admin, *, secret: str, now: datetime) -> IssuedToken:
    expires_at = now + LIFETIME
    payload = {
        "sub": str(admin.id),
        "role": admin.role.value,
        "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "iss": ISSUER,
    }
    return IssuedToken(jwt.encode(payload, secret, algorithm=ALGORITHM), expires_at)


def decode(token: str, *, secret: str, now: datetime) -> Claims:
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "role", "jti", "iss"], "verify_iat": False},
            leeway=0,
        )
        claims = Claims(
            admin_id=_admin_id(payload["sub"]),
            role=AdminRole(payload["role"]),
            jti=str(payload["jti"]),
            expires_at=datetime.fromtimestamp(int(payload["exp"]), tz=now.tzinfo),
        )
    # OverflowError/OSError: an `exp` past what a datetime holds (only a key holder can sign one).
    except (jwt.PyJWTError, ValueError, KeyError, OverflowError, OSError) as error:
        raise Unauthenticated(f"invalid access token: {error}") from None
    if claims.expires_at <= now:
        raise Unauthenticated("access token has expired")
    return claims


def _admin_id(subject: object) -> int:
    """`sub` as an admin id the database can look up (ValueError otherwise)."""
    admin_id = int(str(subject))
    if not 1 <= admin_id < 2**63:
        raise ValueError("subject is not an admin id")
    return admin_id


def bearer(header: str | None) -> str | None:
    """The token from an `Authorization: Bearer …` header; None for any other scheme."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if value and scheme.lower() == "bearer":
        return value.strip()
    return None
