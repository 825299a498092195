"""Resolve date expressions against a reference date, keeping precision.  Pure Python.

``resolve("Saturday", date(2025, 3, 23))`` → ``("2025-03-22", "day")``.  Durations and
frequencies ("30 days", "each week", "recent years") are not dates: they resolve to None.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

Resolved = tuple[str | None, str | None]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)
_MONTH_ABBR = {m[:3]: i + 1 for i, m in enumerate(MONTHS)} | {"sept": 9}
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}
_NUM = r"(?:\d+|" + "|".join(_NUMBER_WORDS) + r"|several|few|a few|many|some)"
_UNIT = r"(?:days?|weeks?|months?|years?|decades?|hours?|minutes?)"
_DURATIONS = (
    re.compile(rf"^(?:the\s+)?(?:last|past|next|first|coming|recent|previous)\s+(?:{_NUM}\s+)?"
               rf"(?:\w+\s+)?{_UNIT}(?:\s+of\s+\w+)?$"),
    re.compile(rf"^(?:about\s+|nearly\s+|almost\s+|over\s+|more than\s+)?{_NUM}[\s-]+{_UNIT}$"),
    re.compile(r"^(?:each|every|per)\s+\w+$|^(?:weekly|monthly|daily|yearly|annually)$"),
    re.compile(rf"^{_UNIT}$|^{_UNIT}-old$|^(?:in\s+)?recent\s+{_UNIT}$|^{_NUM}\s+{_UNIT}$"),
)
_RELATIVE = re.compile(r"^(?:last|next|this|the previous)\s+(?:week|month|year)$")


def is_duration(text: str) -> bool:
    """"30 days", "the last decade", "each week", "recent years": spans, not dates."""
    t = " ".join(text.lower().split())
    if _RELATIVE.match(t):
        return False
    return any(p.match(t) for p in _DURATIONS)


def _shift_month(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, 1)


def _iso(d: date, precision: str) -> Resolved:
    if precision == "day":
        return d.isoformat(), "day"
    if precision == "month":
        return f"{d.year:04d}-{d.month:02d}", "month"
    return f"{d.year:04d}", "year"


def resolve(text: str, ref: date | None, *, future: bool = False) -> Resolved:
    """ISO date and precision for ``text`` relative to ``ref``; (None, None) if not a date."""
    t = " ".join(text.lower().replace("’", "'").split())
    t = re.sub(r"'s$", "", t)
    t = re.sub(r"^(?:on|in|since|by|during|from|until|as of)\s+", "", t)
    t = re.sub(r"\s+(?:morning|evening|night|afternoon)$", "", t)
    if not t or is_duration(t):
        return None, None
    # absolute forms need no reference
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", t):
        try:
            return date(int(m[1]), int(m[2]), int(m[3])).isoformat(), "day"
        except ValueError:
            return None, None
    if m := re.fullmatch(r"(?:early |late |mid-?)?(\d{4})", t):
        whole = int(m[1])
        return (f"{whole:04d}", "year") if 1900 <= whole <= 2100 else (None, None)
    month_day = re.fullmatch(
        r"(?:early |late |mid-?)?([a-z]+)\.?(?:\s+(\d{1,2})(?:st|nd|rd|th)?)?(?:,?\s+(?:of\s+)?"
        r"(\d{4}|this year|last year))?", t
    )
    if (month_day and month_day[1][:4].rstrip(".") in _MONTH_ABBR) or (
        month_day and month_day[1][:3] in _MONTH_ABBR and month_day[1] in MONTHS
    ):
        name = month_day[1]
        month = _MONTH_ABBR.get(name[:4]) or _MONTH_ABBR.get(name[:3])
        if month is None or (name not in MONTHS and name[:3] not in _MONTH_ABBR):
            return None, None
        day = int(month_day[2]) if month_day[2] else None
        year_part = month_day[3]
        if year_part and year_part.isdigit():
            year = int(year_part)
        elif ref is None:
            return None, None
        elif year_part == "last year":
            year = ref.year - 1
        elif year_part == "this year":
            year = ref.year
        else:
            year = ref.year
            if not future and (month, day or 1) > (ref.month, ref.day):
                year -= 1  # news reports the past: "in February" said in March
            if future and (month, day or 31) < (ref.month, ref.day):
                year += 1
        try:
            d = date(year, month, day or 1)
        except ValueError:
            return None, None
        return _iso(d, "day" if day else "month")
    if ref is None:
        return None, None
    # relative forms
    if t in ("today", "tonight", "this morning", "this evening"):
        return _iso(ref, "day")
    if t == "tomorrow":
        return _iso(ref + timedelta(days=1), "day")
    if t == "yesterday":
        return _iso(ref - timedelta(days=1), "day")
    for i, wd in enumerate(WEEKDAYS):
        if t in (wd, f"last {wd}", f"next {wd}", f"this {wd}"):
            delta = (ref.weekday() - i) % 7
            if t.startswith("next") or (future and delta):
                return _iso(ref + timedelta(days=(i - ref.weekday()) % 7 or 7), "day")
            if t.startswith("last") and delta == 0:
                delta = 7
            return _iso(ref - timedelta(days=delta), "day")
    if t in ("last week", "next week", "this week"):
        # a week is not a day: keep its month when the whole week lies in one
        shift = {"last week": -7, "next week": 7, "this week": 0}[t]
        monday = ref + timedelta(days=shift - ref.weekday())
        sunday = monday + timedelta(days=6)
        if (monday.year, monday.month) == (sunday.year, sunday.month):
            return _iso(monday, "month")
        return None, None
    if t in ("last month", "a month ago", "one month ago"):
        return _iso(_shift_month(ref, -1), "month")
    if t in ("this month", "earlier this month"):
        return _iso(ref, "month")
    if t == "next month":
        return _iso(_shift_month(ref, 1), "month")
    if t in ("last year", "a year ago", "the previous year", "previous year"):
        return _iso(date(ref.year - 1, 1, 1), "year")
    if t in ("this year", "earlier this year", "later this year"):
        return _iso(ref, "year")
    if t == "next year":
        return _iso(date(ref.year + 1, 1, 1), "year")
    if m := re.fullmatch(r"(\w+) (day|week|month|year)s? ago", t):
        n = _number(m[1])
        if n is not None:
            return offset(ref, -n, m[2])
    return _with_dateparser(t, ref, future)


_DATEISH = re.compile(
    r"\d|\b(?:" + "|".join(m[:3] for m in MONTHS) + r")[a-z]*\b|\b(?:"
    + "|".join(WEEKDAYS) + r")\b|\b(?:ago|yesterday|tomorrow|today)\b"
)


def _with_dateparser(text: str, ref: date | None, future: bool) -> Resolved:
    """Everything the rules above do not know ("3 March 2025", "two days ago"): dateparser,
    relative to the reference date, with the precision the text actually gives."""
    if ref is None and not re.search(r"\d{4}", text):
        return None, None
    if not _DATEISH.search(text):
        return None, None
    import dateparser  # slow to import; only needed for the unusual forms

    settings: dict[str, object] = {
        "PREFER_DATES_FROM": "future" if future else "past",
        "RETURN_AS_TIMEZONE_AWARE": False,
        "PREFER_DAY_OF_MONTH": "first",
    }
    if ref is not None:
        settings["RELATIVE_BASE"] = datetime(ref.year, ref.month, ref.day)
    try:
        parsed = dateparser.parse(text, languages=["en"], settings=settings)
    except Exception:  # dateparser raises assorted errors on odd input: not a date then
        return None, None
    if parsed is None or not 1900 <= parsed.year <= 2100:
        return None, None
    has_month = bool(re.search(r"\b(?:" + "|".join(m[:3] for m in MONTHS) + r")", text))
    has_day = bool(re.search(r"\b\d{1,2}(?:st|nd|rd|th)?\b", re.sub(r"\d{4}", "", text)))
    relative_day = bool(re.search(r"\b(?:days?|weeks?|yesterday|tomorrow|today)\b", text)) or any(
        w in text for w in WEEKDAYS
    )
    d = parsed.date()
    if re.search(r"\b(?:years?|decades?)\b", text):
        return _iso(d, "year")
    if (has_month and has_day) or relative_day:
        return _iso(d, "day")
    if has_month or re.search(r"\bmonths?\b", text):
        return _iso(d, "month")
    return _iso(d, "year")


def _number(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    return _NUMBER_WORDS.get(word)


def offset(ref: date, n: int, unit: str) -> Resolved:
    unit = unit.rstrip("s")
    if unit == "day":
        return _iso(ref + timedelta(days=n), "day")
    if unit == "week":
        return _iso(ref + timedelta(days=7 * n), "day")
    if unit == "month":
        return _iso(_shift_month(ref, n), "month")
    return _iso(date(ref.year + n, 1, 1), "year")


def parse_offset(text: str) -> tuple[int, str] | None:
    """"one week" → (1, "week"): the size of an offset like "one week after …"."""
    m = re.fullmatch(r"(?:about |nearly |almost )?(\w+)[\s-](day|week|month|year)s?",
                     " ".join(text.lower().split()))
    if not m:
        return None
    n = _number(m[1])
    return (n, m[2]) if n is not None else None


def to_date(iso: str | None) -> date | None:
    if not iso:
        return None
    parts = [int(p) for p in iso.split("-")]
    while len(parts) < 3:
        parts.append(1)
    try:
        return date(parts[0], parts[1], parts[2])
    except ValueError:
        return None


def compatible(a: str | None, b: str | None, *, days: int = 3) -> bool:
    """Two dates can name the same event: unknown matches anything; prefixes match."""
    if not a or not b:
        return True
    if len(a) < 10 or len(b) < 10:
        n = min(len(a), len(b))
        return a[:n] == b[:n]
    da, db = to_date(a), to_date(b)
    return da is not None and db is not None and abs((da - db).days) <= days
