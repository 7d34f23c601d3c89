"""Jinja filters that show times, JSON and long text to operators.

Times are always shown in UTC with the zone written out, because the
operators of one Streto installation may sit in several time zones.
"""

import json
from datetime import UTC, datetime
from typing import Any

from flask import Flask

# Response bodies and headers longer than this are cut on the pages; the
# full text stays in the API. About two screens of a 1280-pixel page.
MAX_SHOWN_CHARACTERS = 4000


def format_utc(moment: datetime | None) -> str:
    """Return a time such as ``2026-12-04 18:02:27 UTC``."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_relative(moment: datetime | None, now: datetime | None = None) -> str:
    """Return how long ago or ahead a time is, such as ``5 minutes ago``."""
    if moment is None:
        return ""
    now = now or datetime.now(UTC)
    seconds = int((now - moment).total_seconds())
    ahead = seconds < 0
    seconds = abs(seconds)
    if seconds < 45:
        return "in a few seconds" if ahead else "just now"

    amount, unit = _largest_unit(seconds)
    text = f"{amount} {unit}{'' if amount == 1 else 's'}"
    return f"in {text}" if ahead else f"{text} ago"


def _largest_unit(seconds: int) -> tuple[int, str]:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            return round(seconds / size), unit
    return 1, "minute"


def format_json(value: Any) -> str:
    """Return value as indented JSON, keeping non-ASCII text readable."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def format_body(value: Any) -> str:
    """Return a response body as text: JSON indented, text as it came."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return format_json(value)


def truncate_text(text: str, limit: int = MAX_SHOWN_CHARACTERS) -> str:
    """Cut text to limit characters and say how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n… (cut; {len(text)} characters in all)"


def register_filters(app: Flask) -> None:
    """Make the filters above available to every template."""
    app.jinja_env.filters.update(
        utc=format_utc,
        relative=format_relative,
        json=format_json,
        body=format_body,
        truncate_text=truncate_text,
    )
