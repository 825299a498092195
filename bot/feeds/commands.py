"""The feed commands of the service: `feeds`, `feed add`, `feed remove`, `feed import`, `poll`.

Managing feeds needs ``settings.is_admin(user)`` (everyone when WIREWATCH_ADMINS is empty).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.errors import BadCommand, Forbidden, NotFound
from bot.feeds.fetch import Fetcher, FetchError, check_url
from bot.feeds.parse import NotAFeed, ParsedFeed, parse_feed
from bot.feeds.poller import FetcherLike, Poller, PollReport, iso
from bot.replies import FeedImportReply, FeedReply, FeedsReply, FeedView, PollReply, TextReply
from bot.settings import Settings
from bot.store import Store

MAX_OPML_BYTES = 5 * 1024 * 1024
MAX_IMPORT = 500
OPML_ACCEPT = "text/x-opml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"


feed_view = FeedView.from_row


def poll_reply(report: PollReport) -> PollReply:
    return PollReply(
        feeds=report.feeds,
        new_articles=report.new_articles,
        alerts=list(report.alerts),
        errors=list(report.errors),
        not_modified=report.not_modified,
        article_ids=list(report.new_article_ids),
        notices=[asdict(n) for n in report.notices],
    )


def normalize_feed_url(raw: str) -> str:
    url = raw.strip().strip("<>").split("|", 1)[0].strip()
    if not url:
        raise BadCommand("Which feed? Say `feed add URL`.")
    if "://" not in url and not url.lower().startswith(("file:", "javascript:", "data:")):
        url = "https://" + url
    try:
        check_url(url)
    except FetchError as exc:
        raise BadCommand(f"Cannot use {raw[:200]}: {exc.message}.") from None
    return url


class FeedCommands:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        fetcher: FetcherLike,
        poller: Poller,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.settings = settings
        self.fetcher = fetcher
        self.poller = poller
        self.clock = clock

    def _require_admin(self, user: str | None) -> None:
        if not self.settings.is_admin(user):
            raise Forbidden("Only wirewatch admins (WIREWATCH_ADMINS) can manage feeds.")

    # -- commands -------------------------------------------------------------------------------

    def list(self) -> FeedsReply:
        return FeedsReply(feeds=[feed_view(r) for r in self.store.list_feeds()])

    def poll(self) -> PollReply:
        return poll_reply(self.poller.poll_all(self.clock()))

    def add(self, raw_url: str, *, user: str | None, channel: str | None) -> FeedReply:
        self._require_admin(user)
        url = normalize_feed_url(raw_url)
        now = self.clock()
        existing = self.store.get_feed_by_url(url)
        if existing is not None:
            return self._re_add(existing, user=user, channel=channel)
        result, parsed, feed_url, discovered = self._fetch_feed(url)
        if feed_url != url and (known := self.store.get_feed_by_url(feed_url)) is not None:
            return self._re_add(known, user=user, channel=channel)
        feed_id, _created = self.store.add_feed(
            feed_url, now=iso(now), title=parsed.title, site_url=parsed.site_url,
            channel=channel, added_by=user,
        )
        report = self.poller.apply_fetched(feed_id, result, parsed, now)
        row = self.store.get_feed(feed_id)
        assert row is not None
        message = (
            f"Following {parsed.title or feed_url}: {report.new_articles} article(s) indexed "
            f"from its {len(parsed.entries)} entries (no alerts for these; new ones will alert)."
        )
        if parsed.error:
            message += f" Note: {parsed.error}."
        return FeedReply(
            feed=feed_view(row), created=True, new_articles=report.new_articles,
            discovered_from=url if discovered else None, message=message,
            entries=len(parsed.entries),
        )

    def _re_add(self, row: dict[str, Any], *, user: str | None, channel: str | None) -> FeedReply:
        now = iso(self.clock())
        self.store.add_feed(row["url"], now=now, channel=channel, added_by=user)
        message = f"Already following {row.get('title') or row['url']} (feed {row['id']})."
        if row["status"] == "disabled":
            self.store.update_feed(
                row["id"], status="failing", error_count=0, next_check=now, disabled_at=None
            )
            self.store.clear_feed_notices(row["id"], "disabled")
            message = f"Switched feed {row['id']} back on; it will be checked on the next poll."
        fresh = self.store.get_feed(row["id"])
        assert fresh is not None
        return FeedReply(feed=feed_view(fresh), created=False, message=message)

    def _fetch_feed(self, url: str) -> tuple[Any, ParsedFeed, str, bool]:
        """Fetch and parse ``url``; follow an HTML page's feed link once.  BadCommand if not."""
        try:
            result = self.fetcher.fetch(url)
            if result.not_modified:
                raise BadCommand(f"Could not add {url}: the server sent no content.")
            try:
                return result, self._parse(result, url), url, False
            except NotAFeed as exc:
                if not exc.feed_links:
                    raise BadCommand(
                        f"Could not add {url}: not a feed (no RSS or Atom there, and the page "
                        "links to none)."
                    ) from None
                link = exc.feed_links[0]
                result = self.fetcher.fetch(link)
                return result, self._parse(result, link), link, True
        except FetchError as exc:
            raise BadCommand(f"Could not add {url}: {exc.message}.") from None
        except NotAFeed as exc:
            raise BadCommand(f"Could not add {url}: {exc.message}.") from None

    @staticmethod
    def _parse(result: Any, url: str) -> ParsedFeed:
        parsed = parse_feed(result.content, url=result.url, headers=result.headers)
        if not parsed.entries and parsed.error:
            raise BadCommand(f"Could not add {url}: {parsed.error}.")
        return parsed

    def remove(self, feed_id: int, *, user: str | None) -> TextReply:
        self._require_admin(user)
        row = self.store.get_feed(feed_id)
        if row is None:
            raise NotFound(f"There is no feed {feed_id}. `feeds` lists them.")
        self.store.remove_feed(feed_id)
        return TextReply(
            text=f"Removed feed {feed_id} ({row.get('title') or row['url']}); "
                 f"its {row.get('articles') or 0} article(s) stay indexed."
        )

    def import_opml(
        self, source: str, *, user: str | None, front_end: str, channel: str | None = None
    ) -> FeedImportReply:
        self._require_admin(user)
        source = source.strip().strip("<>").split("|", 1)[0].strip()
        if source.lower().startswith(("http://", "https://")):
            try:
                result = self.fetcher.fetch(source)
            except FetchError as exc:
                raise BadCommand(f"Could not fetch {source}: {exc.message}.") from None
            data = result.content
        else:
            if front_end == "slack":
                raise Forbidden("From Slack, give an OPML URL; files are read only from the "
                                "console.")
            path = Path(source).expanduser()
            if not path.is_file():
                raise NotFound(f"No such file: {source}")
            if path.stat().st_size > MAX_OPML_BYTES:
                raise BadCommand("That OPML file is too large (over 5 MiB).")
            data = path.read_bytes()
        urls = parse_opml(data)
        now = iso(self.clock())
        added: list[FeedView] = []
        already = 0
        skipped: list[str] = []
        for raw in urls[:MAX_IMPORT]:
            try:
                url = normalize_feed_url(raw)
            except BadCommand:
                skipped.append(raw[:200])
                continue
            feed_id, created = self.store.add_feed(url, now=now, channel=channel, added_by=user)
            if created:
                row = self.store.get_feed(feed_id)
                assert row is not None
                added.append(feed_view(row))
            else:
                already += 1
        if len(urls) > MAX_IMPORT:
            skipped.append(f"{len(urls) - MAX_IMPORT} more beyond the first {MAX_IMPORT}")
        return FeedImportReply(added=added, already=already, skipped=skipped)


def parse_opml(data: bytes) -> list[str]:
    """Feed URLs (``xmlUrl``) of every outline in an OPML document, in order, once each."""
    if b"<!ENTITY" in data[:10000].upper():
        raise BadCommand("That OPML file declares entities; wirewatch does not read those.")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise BadCommand(f"That is not an OPML file ({exc}).") from None
    if root.tag.lower() != "opml":
        raise BadCommand("That is not an OPML file (no <opml> element).")
    urls: list[str] = []
    for node in root.iter():
        if node.tag.lower() != "outline":
            continue
        attrs = {k.lower(): v for k, v in node.attrib.items()}
        url = (attrs.get("xmlurl") or "").strip()
        if url and url not in urls:
            urls.append(url)
    if not urls:
        raise BadCommand("That OPML file lists no feeds (no outline with an xmlUrl).")
    return urls


__all__ = ["FeedCommands", "Fetcher", "feed_view", "parse_opml", "poll_reply"]
