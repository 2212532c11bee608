"""Passwords of staff and reseller users: argon2id (argon2-cffi's RFC 9106 "low memory" profile).

Hashes made before argon2 (scrypt, ``scrypt$n$r$p$salt$digest``) still verify; the caller stores a fresh
argon2 hash when ``Verified.needs_rehash`` says so, which sign-in does.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
# Verified against when the e-mail is unknown, so that a wrong e-mail costs the same time as a wrong
# password and sign-in does not tell which e-mails exist.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class Verified:
    ok: bool
    needs_rehash: bool = False


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def new_password() -> str:
    """A random password of 16 URL-safe characters (96 bits), for people created on the command line."""
    return secrets.token_urlsafe(12)


def _check_scrypt(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        computed = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), maxmem=128 * 1024 * 1024
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed.hex(), digest)


def verify_password(password: str, stored: str | None) -> Verified:
    """Whether ``password`` matches ``stored`` (None: no such person, checked against a dummy hash)."""
    if stored is None:
        _verify_argon2(password, _DUMMY_HASH)
        return Verified(ok=False)
    if stored.startswith("scrypt$"):
        return Verified(ok=True, needs_rehash=True) if _check_scrypt(password, stored) else Verified(ok=False)
    if not _verify_argon2(password, stored):
        return Verified(ok=False)
    return Verified(ok=True, needs_rehash=_HASHER.check_needs_rehash(stored))


def _verify_argon2(password: str, stored: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
