"""Publication dates: parse what a file or feed says into ISO 8601 with its precision.

A date that cannot be read stays unknown (``None``) — never "today".
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

_ISO_DAY = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ][\d:.+\-Z]*)?\s*$")
_ISO_MONTH = re.compile(r"^\s*(\d{4})-(\d{2})\s*$")
_YEAR = re.compile(r"^\s*(\d{4})\s*$")

DatePrecision = tuple[str | None, str | None]


def _valid(y: int, m: int = 1, d: int = 1) -> bool:
    try:
        date(y, m, d)
    except ValueError:
        return False
    return 1800 <= y <= 2200


def normalize_date(value: Any) -> DatePrecision:
    """Return ``(iso, precision)`` for a date-like value, or ``(None, None)``."""
    if value is None:
        return None, None
    if isinstance(value, datetime):
        return value.date().isoformat(), "day"
    if isinstance(value, date):
        return value.isoformat(), "day"
    text = str(value).strip()[:100]
    if not text:
        return None, None
    if m := _ISO_DAY.match(text):
        y, mo, d = (int(g) for g in m.groups())
        return (f"{y:04d}-{mo:02d}-{d:02d}", "day") if _valid(y, mo, d) else (None, None)
    if m := _ISO_MONTH.match(text):
        y, mo = int(m.group(1)), int(m.group(2))
        return (f"{y:04d}-{mo:02d}", "month") if _valid(y, mo) else (None, None)
    if m := _YEAR.match(text):
        y = int(m.group(1))
        return (f"{y:04d}", "year") if _valid(y) else (None, None)
    return _dateparser(text)


def _dateparser(text: str) -> DatePrecision:
    import dateparser  # imported lazily: it is slow to import and rarely needed

    settings = {
        "RETURN_TIME_AS_PERIOD": False,
        "PREFER_DAY_OF_MONTH": "first",
        "REQUIRE_PARTS": ["year"],
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    try:
        parsed = dateparser.parse(text, languages=["en"], settings=settings)
    except Exception:
        return None, None
    if parsed is None or not _valid(parsed.year, parsed.month, parsed.day):
        return None, None
    has_day = bool(re.search(r"\b\d{1,2}(st|nd|rd|th)?\b(?!\d)", re.sub(r"\d{4}", "", text)))
    has_month = bool(
        re.search(
            r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b", text, re.I
        )
    ) or bool(re.search(r"\d{4}[-/]\d{1,2}", text))
    if has_month and has_day:
        return parsed.date().isoformat(), "day"
    if has_month:
        return f"{parsed.year:04d}-{parsed.month:02d}", "month"
    return f"{parsed.year:04d}", "year"
