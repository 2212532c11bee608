"""RFC 3339 timestamps in UTC, the one format every answer uses."""

from __future__ import annotations

import datetime as dt


def rfc3339(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_rfc3339(text: str) -> dt.datetime | None:
    """An aware datetime, or None when ``text`` is not RFC 3339 with a zone."""
    if "T" not in text.upper() or len(text) > 40:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    if value.tzinfo is None:
        return None
    return value.astimezone(dt.UTC)
