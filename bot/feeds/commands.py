"""The feed commands of the service: `feeds`, `feed add`, `feed remove`, `feed import`, `poll`.

Managing feeds needs ``settings.is_admin(user)`` (everyone when WIREWATCH_ADMINS is empty).
``feed add`` and ``feed import`` accept a URL only through ``check_feed_url`` (scheme, host,
and — unless WIREWATCH_ALLOW_PRIVATE_FEEDS — every address it resolves to), and never wait for
a poll round.  ``poll`` is limited to one per ``POLL_COOLDOWN_SECONDS`` per channel (kept in
the database, so a restart does not reset it) and never waits for a running round.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import datetime, timedelta
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
POLL_COOLDOWN_SECONDS = 60  # one manual `poll` per channel per minute
IMPORT_CHECK_THREADS = 8  # name lookups of `feed import` run this many at a time


feed_view = FeedView.from_row


def poll_reply(report: PollReport, message: str | None = None) -> PollReply:
    return PollReply(
        feeds=report.feeds,
        new_articles=report.new_articles,
        alerts=list(report.alerts),
        errors=list(report.errors),
        not_modified=report.not_modified,
        article_ids=list(report.new_article_ids),
        notices=[asdict(n) for n in report.notices],
        skipped=[asdict(s) for s in report.skipped],
        deferred=report.deferred,
        message=message,
    )


def check_feed_url(raw: str, fetcher: FetcherLike | None = None) -> str:
    """The feed URL that ``raw`` names, if wirewatch may fetch it; else ``FetchError`` why not.

    The one check of `feed add` and `feed import`: http(s) only, a host, and (through the
    fetcher's ``check``) every address the host resolves to public, unless private feeds
    are allowed.  A bare ``example.org/rss`` means https.
    """
    url = raw.strip().strip("<>").split("|", 1)[0].strip()
    if "://" not in url and not url.lower().startswith(("file:", "javascript:", "data:")):
        url = "https://" + url
    check = getattr(fetcher, "check", None)
    if callable(check):
        check(url)
    else:
        check_url(url)
    return url


def normalize_feed_url(raw: str, fetcher: FetcherLike | None = None) -> str:
    """``check_feed_url`` for a command: ``BadCommand`` with the reason."""
    if not raw.strip().strip("<>").split("|", 1)[0].strip():
        raise BadCommand("Which feed? Say `feed add URL`.")
    try:
        return check_feed_url(raw, fetcher)
    except FetchError as exc:
        raise BadCommand(f"Cannot use {raw[:200]}: {exc.message}.") from None


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

    def poll(self, *, channel: str | None = None) -> PollReply:
        """Poll the feeds not held by a Retry-After, backoff or slowness window, now.

        At most one per ``POLL_COOLDOWN_SECONDS`` per channel; while a round runs, nothing
        is fetched (and the channel's allowance is not used up).
        """
        now = self.clock()
        key = channel or "console"
        held_by: list[str] = []

        def admit() -> bool:
            last = self.store.claim_manual_poll(
                key, iso(now), iso(now - timedelta(seconds=POLL_COOLDOWN_SECONDS))
            )
            if last is None:
                return True
            held_by.append(last)
            return False

        report = self.poller.poll_manual(now, admit=admit)
        if report.busy_since is not None:
            return poll_reply(report, f"A poll round is running (since {report.busy_since}); "
                                      "nothing more was fetched. Its new articles alert as "
                                      "usual; `feeds` shows each feed's state.")
        if held_by:
            again = datetime.fromisoformat(held_by[0]) + timedelta(seconds=POLL_COOLDOWN_SECONDS)
            return poll_reply(report, f"Polled already at {held_by[0]}: `poll` runs at most "
                                      f"once a minute per channel. Try again after "
                                      f"{iso(again)}; feeds are also checked on their "
                                      "schedule.")
        return poll_reply(report)

    def add(self, raw_url: str, *, user: str | None, channel: str | None) -> FeedReply:
        self._require_admin(user)
        url = normalize_feed_url(raw_url, self.fetcher)
        now = self.clock()
        existing = self.store.get_feed_by_url(url)
        if existing is not None:
            return self._re_add(existing, user=user, channel=channel)
        started = time.monotonic()
        result, parsed, feed_url, discovered = self._fetch_feed(url)
        elapsed = time.monotonic() - started
        if feed_url != url and (known := self.store.get_feed_by_url(feed_url)) is not None:
            return self._re_add(known, user=user, channel=channel)
        feed_id, _created = self.store.add_feed(
            feed_url, now=iso(now), title=parsed.title, site_url=parsed.site_url,
            channel=channel, added_by=user,
        )
        # no poll lock: a running round never makes `feed add` wait (it skips this feed)
        report = self.poller.apply_fetched(feed_id, result, parsed, now, elapsed=elapsed)
        row = self.store.get_feed(feed_id)
        assert row is not None
        if report.feeds:
            message = (
                f"Following {parsed.title or feed_url}: {report.new_articles} article(s) "
                f"indexed from its {len(parsed.entries)} entries (no alerts for these; new "
                "ones will alert)."
            )
        else:  # a poll round took this feed first: it indexes the entries
            message = (
                f"Following {parsed.title or feed_url}: the poll running now is reading its "
                f"{len(parsed.entries)} entries (no alerts for these; new ones will alert)."
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
                row["id"], status="failing", error_count=0, next_check=now, disabled_at=None,
                hold_until=None, slow_count=0,
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
        refused: list[dict[str, str]] = []

        def vet(raw: str) -> tuple[str, str | None, str | None]:
            """(raw, the URL to follow, why not): the same check as `feed add`."""
            try:
                return raw, check_feed_url(raw, self.fetcher), None
            except FetchError as exc:
                return raw, None, exc.message

        with ThreadPoolExecutor(IMPORT_CHECK_THREADS, thread_name_prefix="wirewatch-vet") as pool:
            vetted = list(pool.map(vet, urls[:MAX_IMPORT]))
        for raw, url, why in vetted:
            if url is None:
                skipped.append(raw[:200])
                refused.append({"url": raw[:200], "why": why or "refused"})
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
        return FeedImportReply(added=added, already=already, skipped=skipped, refused=refused)


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


__all__ = [
    "FeedCommands", "Fetcher", "check_feed_url", "feed_view", "parse_opml", "poll_reply",
]
