"""mrkdwn escaping: every untrusted string (feed and article text, titles, URLs, echoed user
input) goes through ``escape`` before it reaches Slack.

Slack treats ``&``, ``<`` and ``>`` as control characters: ``<!channel>``, ``<@U123>`` and
``<https://evil|innocent>`` only exist if those characters survive.  Escaped to ``&amp;``,
``&lt;``, ``&gt;`` they display as typed and do nothing.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from bot.store import HL_END, HL_START

_ENTITY_TAIL = re.compile(r"&[a-z]{0,3}$")


def escape(text: str | None) -> str:
    """Escape ``&``, ``<`` and ``>`` (in that order) for mrkdwn and the ``text`` field."""
    if not text:
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape_incoming(text: str | None) -> str:
    """Text as the user typed it: Slack sends ``&``, ``<`` and ``>`` typed by a person as
    ``&amp;``, ``&lt;`` and ``&gt;`` (its own markup — ``<@U1>``, ``<#C1|name>``, links —
    stays as it is, for the grammar).  Replies escape everything again on the way out."""
    if not text:
        return ""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def fit(escaped: str, limit: int) -> str:
    """Cut already-escaped text to ``limit`` characters with an ellipsis, never inside an
    entity (``&amp;`` cut to ``&am`` would show garbage) or a bold marker pair."""
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: max(0, limit - 1)]
    cut = _ENTITY_TAIL.sub("", cut)
    if cut.count("*") % 2 and cut.rfind("*") >= len(cut) - 200:
        cut = cut[: cut.rfind("*")]  # do not leave a bold run open at the cut
    return cut.rstrip() + "…"


def safe_cut(escaped: str, limit: int) -> int:
    """The largest index <= ``limit`` at which escaped text can be cut (not inside an entity)."""
    if len(escaped) <= limit:
        return len(escaped)
    m = _ENTITY_TAIL.search(escaped[:limit])
    return m.start() if m and m.start() > 0 else limit


def truncate(text: str | None, limit: int) -> str:
    """Untrusted text for ``plain_text`` objects (headers, buttons), cut to ``limit``.

    Slack does not parse mentions or links in ``plain_text``, and would show entities there
    as typed; angle brackets are still swapped for look-alikes (‹ ›), so no payload we send
    ever holds ``<!channel>`` or ``<@U…>`` built from untrusted text.
    """
    text = " ".join((text or "").split()).replace("<", "‹").replace(">", "›")
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + "…"


def highlight(snippet: str) -> str:
    """Escape a search snippet and turn its highlight markers into bold."""
    out = escape(snippet.replace("*", "∗"))
    return out.replace(HL_START, "*").replace(HL_END, "*")


def safe_url(url: str | None) -> str | None:
    """An http(s) URL made safe to put inside ``<…|…>``; None for anything else."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # Percent-encode what would end the link or start a label; keep the rest as it is.
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")


def link(url: str | None, label: str | None) -> str:
    """``<url|label>`` with both parts made safe; just the escaped label when the URL is not
    a plain web address."""
    text = escape(label or url or "")
    safe = safe_url(url)
    if safe is None:
        return text
    return f"<{escape(safe)}|{text.replace('|', '¦')}>"
