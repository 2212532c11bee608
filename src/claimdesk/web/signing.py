"""Values the server hands to a browser and takes back, signed (HMAC-SHA256) so that none can be made up.

A signed value names its purpose and carries an expiry; the key is ``CLAIMDESK_SECRET_KEY``, or when that is
unset a random key made once and kept in the storage folder (every process of a deployment shares that
folder for the evidence files, so they share the key too).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from claimdesk.config import Settings

KEY_FILE = ".web-signing-key"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@functools.cache
def _stored_key(folder: str) -> bytes:
    path = Path(folder) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f"{KEY_FILE}.{secrets.token_hex(8)}")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
        try:
            os.link(temp, path)  # fails if another process made the key meanwhile: theirs is kept
        except FileExistsError:
            pass
        finally:
            temp.unlink()
    return path.read_bytes().strip()


def signing_key(settings: Settings) -> bytes:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode("utf-8")
    return _stored_key(str(Path(settings.storage_dir).resolve()))


def _mac(key: bytes, purpose: str, payload: str) -> str:
    return _b64(hmac.new(key, f"{purpose}\n{payload}".encode(), hashlib.sha256).digest())


def sign(key: bytes, purpose: str, value: dict[str, Any], *, max_age_seconds: int) -> str:
    """``value`` (JSON) as a token for ``purpose``, valid for ``max_age_seconds``."""
    payload = _b64(json.dumps({"v": value, "exp": int(time.time()) + max_age_seconds}, separators=(",", ":")).encode())
    return f"{payload}.{_mac(key, purpose, payload)}"


def unsign(key: bytes, purpose: str, token: str) -> dict[str, Any] | None:
    """The value of a token made by ``sign`` for ``purpose`` and not expired; None for anything else."""
    if not isinstance(token, str) or not token.isascii() or len(token) > 4096 or token.count(".") != 1:
        return None
    payload, mac = token.split(".")
    if not hmac.compare_digest(mac.encode(), _mac(key, purpose, payload).encode()):
        return None
    try:
        data = json.loads(_unb64(payload))
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("exp"), int) or data["exp"] < time.time():
        return None
    value = data.get("v")
    return value if isinstance(value, dict) else None
