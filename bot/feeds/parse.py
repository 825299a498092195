"""Parsing fetched feed bytes into article drafts with stable entry keys.

feedparser reads the bytes together with the response headers (so the declared charset and
the base URL are right).  RSS 0.9x/1.0/2.0 and Atom; a "bozo" feed that still yields entries
is used and its error recorded.  Text comes from ``content`` else ``summary``, as clean text;
links are made absolute; the publication date comes from the entry or stays unknown.

Entry identity (``ParsedEntry.key``): ``guid:…``, else ``link:…``, else ``hash:…`` of title and
text.  When one guid (or link) carries several *different* stories in one document, each
gets its own key (``guid:X#<digest>``) so none is lost; copies of the *same* story collapse.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urljoin, urlsplit

from bot.dates import normalize_date
from bot.htmltext import html_to_doc, html_to_text
from bot.ingest import ArticleDraft
from bot.sanitize import strip_controls

MAX_TEXT_CHARS = 200_000
MAX_TITLE_CHARS = 500
SHORT_TEXT_CHARS = 500


class NotAFeed(Exception):
    """The document is not RSS or Atom (``feed_links``: feeds an HTML page points at)."""

    def __init__(self, message: str, feed_links: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.feed_links = feed_links or []


@dataclass
class ParsedEntry:
    key: str
    draft: ArticleDraft
    base_key: str  # the key before disambiguation (equal to ``key`` when unambiguous)


@dataclass
class ParsedFeed:
    title: str | None
    site_url: str | None
    version: str
    ttl_seconds: int | None
    entries: list[ParsedEntry]
    found: int  # entries feedparser found (copies included)
    error: str | None = None  # bozo error, recorded but not fatal
    skipped: list[str] = field(default_factory=list)  # entries with neither title nor text


def _digest(*parts: str | None) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update((part or "").encode("utf-8", "replace"))
        h.update(b"\x00")
    return h.hexdigest()


def _clean_inline(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    text = html_to_text(value) if ("<" in value or "&" in value) else value
    return " ".join(strip_controls(text).split())[:limit]


def _entry_text(entry: Mapping[str, Any]) -> str:
    best = ""
    for content in entry.get("content") or []:
        value = content.get("value") if isinstance(content, Mapping) else None
        if isinstance(value, str) and len(value) > len(best):
            best = value
    if not best.strip():
        summary = entry.get("summary")
        best = summary if isinstance(summary, str) else ""
    if not best:
        return ""
    text = html_to_text(best) if ("<" in best or "&" in best) else best
    # keep paragraphs, squeeze spaces inside them
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)[:MAX_TEXT_CHARS]


def _entry_date(entry: Mapping[str, Any]) -> tuple[str | None, str | None]:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)
        if isinstance(parsed, time.struct_time):
            try:
                return date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday).isoformat(), "day"
            except ValueError:
                continue
    for key in ("published", "updated", "created"):
        raw = dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)
        if isinstance(raw, str) and raw.strip():
            iso, precision = normalize_date(raw)
            if iso:
                return iso, precision
    return None, None


def _absolute(link: Any, base: str | None) -> str | None:
    if not isinstance(link, str) or not link.strip():
        return None
    link = strip_controls(link).strip()
    absolute = urljoin(base, link) if base else link
    scheme = urlsplit(absolute).scheme.lower()
    return absolute if scheme in ("http", "https") else None


def _ttl_seconds(feed: Mapping[str, Any]) -> int | None:
    raw = feed.get("ttl")
    if isinstance(raw, str) and raw.strip().isdigit():
        minutes = int(raw.strip())
        if 0 < minutes <= 7 * 24 * 60:
            return minutes * 60
    return None


def _bozo_message(exc: Any) -> str:
    name = type(exc).__name__
    text = " ".join(str(exc).split())[:200]
    if "CharacterEncoding" in name:
        return f"the feed's character encoding is wrong or undeclared ({text})"
    if "NonXMLContentType" in name:
        return f"the server does not call it XML ({text})"
    return f"the feed is not well-formed XML ({text})" if text else "the feed is not well-formed"


def discover_feed_links(content: bytes, base_url: str, headers: Mapping[str, str]) -> list[str]:
    """Feeds an HTML page advertises with ``<link rel="alternate" type="…rss/atom…">``."""
    charset = "utf-8"
    ctype = headers.get("content-type", "")
    if "charset=" in ctype:
        charset = ctype.split("charset=", 1)[1].split(";")[0].strip().strip('"') or "utf-8"
    try:
        html = content[:2_000_000].decode(charset, errors="replace")
    except LookupError:
        html = content[:2_000_000].decode("utf-8", errors="replace")
    doc = html_to_doc(html)
    links: list[str] = []
    for href, _kind in doc.feed_links:
        absolute = _absolute(href, base_url)
        if absolute and absolute not in links:
            links.append(absolute)
    return links


def parse_feed(
    content: bytes, *, url: str, headers: Mapping[str, str] | None = None
) -> ParsedFeed:
    """Parse fetched bytes; ``NotAFeed`` when it is neither RSS nor Atom."""
    import feedparser  # lazily: `import bot.service` must not load it

    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    response_headers = {k: v for k, v in hdrs.items() if k in ("content-type", "content-language")}
    response_headers["content-location"] = url
    # A file-like object, never raw bytes: feedparser opens bytes that name a local file, so a
    # server answering "/etc/passwd" would otherwise make it read that file.
    parsed = feedparser.parse(
        io.BytesIO(content), response_headers=response_headers, sanitize_html=True,
        resolve_relative_uris=True,
    )
    feed = parsed.get("feed", {}) or {}
    version = str(parsed.get("version") or "")
    raw_entries = list(parsed.get("entries") or [])
    bozo_exc = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if bozo_exc is not None and type(bozo_exc).__name__ == "NonXMLContentType":
        bozo_exc = None  # a mislabelled Content-Type is the server's slip, not the feed's
    if not version and not raw_entries:
        links: list[str] = []
        head = content[:4096].lstrip().lower()
        if b"<html" in head or b"<!doctype html" in head or "html" in hdrs.get("content-type", ""):
            links = discover_feed_links(content, url, hdrs)
        raise NotAFeed("not a feed (no RSS or Atom found)", links)
    base = url
    site_url = _absolute(feed.get("link"), base)
    source = _clean_inline(feed.get("title"), MAX_TITLE_CHARS) or None
    drafts: list[tuple[str, ArticleDraft]] = []
    skipped: list[str] = []
    for n, entry in enumerate(raw_entries, 1):
        text = _entry_text(entry)
        title = _clean_inline(entry.get("title"), MAX_TITLE_CHARS)
        if not text and not title:
            skipped.append(f"entry {n} has neither title nor text")
            continue
        if not text:
            text = title
        elif title and len(text) < SHORT_TEXT_CHARS and not text.startswith(title):
            # A short summary ("Read more on our site") may be the same for many stories:
            # with the headline in front, distinct stories keep distinct content hashes.
            text = f"{title}\n\n{text}"
        if not title:
            first = text.split("\n", 1)[0]
            title = first[:140].rsplit(" ", 1)[0] + "…" if len(first) > 140 else first
        link = _absolute(entry.get("link"), base)
        guid_raw = entry.get("id")
        guid = " ".join(guid_raw.split())[:1000] if isinstance(guid_raw, str) else ""
        published, precision = _entry_date(entry)
        author = _clean_inline(entry.get("author"), 300) or None
        if guid:
            base_key = f"guid:{guid}"
        elif link:
            base_key = f"link:{link}"
        else:
            base_key = f"hash:{_digest(title, text)[:32]}"
        draft = ArticleDraft(
            title=title,
            text=text,
            url=link,
            guid=guid or None,
            source=source,
            author=author,
            published=published,
            published_precision=precision,
            origin=url[:1000],
        )
        drafts.append((base_key, draft))
    entries = _disambiguate(drafts)
    return ParsedFeed(
        title=source,
        site_url=site_url,
        version=version or "unknown",
        ttl_seconds=_ttl_seconds(feed),
        entries=entries,
        found=len(raw_entries),
        error=_bozo_message(bozo_exc) if bozo_exc is not None else None,
        skipped=skipped,
    )


def _story(draft: ArticleDraft) -> str:
    return _digest(draft.url, draft.title, draft.text)


def _disambiguate(drafts: list[tuple[str, ArticleDraft]]) -> list[ParsedEntry]:
    """Keys unique per story: copies of one story collapse, distinct stories split."""
    groups: dict[str, list[ArticleDraft]] = {}
    for base_key, draft in drafts:
        groups.setdefault(base_key, []).append(draft)
    out: list[ParsedEntry] = []
    emitted: set[str] = set()
    for base_key, draft in drafts:
        group = groups[base_key]
        stories = {_story(d) for d in group}
        if len(stories) == 1:
            key = base_key
        else:
            links = [d.url for d in group]
            if draft.url and links.count(draft.url) == 1:
                sub = _digest(draft.url)[:16]
            else:
                sub = _digest(draft.title, draft.text)[:16]
            key = f"{base_key}#{sub}"
        if key in emitted:
            continue
        emitted.add(key)
        if key != base_key:
            draft.guid = None  # a shared guid must not merge distinct stories in the store
        draft.origin = f"{draft.origin} {key}"[:2000]
        out.append(ParsedEntry(key=key, draft=draft, base_key=base_key))
    return out
