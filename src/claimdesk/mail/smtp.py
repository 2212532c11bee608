"""Sending through the SMTP server named by ``CLAIMDESK_SMTP_URL``.

``smtp://[user:password@]host[:port]`` (port 25; ``?starttls=true`` upgrades the connection) or
``smtps://...`` (TLS from the start, port 465).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

TIMEOUT_SECONDS = 30


class SmtpUrlError(ValueError):
    pass


def send(smtp_url: str, message: EmailMessage) -> None:
    """Raises ``OSError`` or ``smtplib.SMTPException`` when the server cannot take the message."""
    parts = urlsplit(smtp_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise SmtpUrlError(f"CLAIMDESK_SMTP_URL must be smtp://host[:port] or smtps://host[:port], not {smtp_url!r}")
    options = parse_qs(parts.query)
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if parts.scheme == "smtps":
        client = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, timeout=TIMEOUT_SECONDS, context=context)
    else:
        client = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=TIMEOUT_SECONDS)
    with client:
        if parts.scheme == "smtp" and options.get("starttls", ["false"])[0].lower() in ("1", "true", "yes"):
            client.starttls(context=context)
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)
