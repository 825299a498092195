"""``wirewatch demo``: replay feeds on 127.0.0.1, a ready watch, alerts in the console.

- ``DemoFeedServer`` serves one RSS 2.0 feed (full text) per outlet at ``/feeds/<slug>.xml`` and
  releases one more article every ``interval`` seconds, counted from its first request: the
  seed stories, near misses, off-topic news and another outlet's copy of a seed story
  (``bot.demo_articles``).  What is out at the first poll is the feeds' back catalogue and
  must not alert.  The server stops by itself after ``lifetime`` seconds.
- ``add_demo_feeds`` subscribes the app to those feeds; the real ``Poller`` (``bot.feeds``)
  fetches them and hands new articles to the alert pipeline, exactly as in production.
- ``run_demo_loop`` polls and delivers every second.  It needs only a ``FeedSource``
  (``poll_once() -> list[dict]``), which ``Poller`` is.
"""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from bot.alerts import AlertPipeline, ConsoleSender
from bot.demo_articles import COLOMBIA, DIPLOMACY, FOOTBALL, HONDURAS, OIL, SYNDICATED, WEATHER
from bot.ingest import bundled_corpus_files, read_file
from bot.store import Store

DEMO_QUERY = "deportation flights to Venezuela"


@dataclass(frozen=True)
class FeedItem:
    guid: str
    title: str
    text: str
    source: str | None
    date: str | None  # YYYY-MM-DD
    kind: str  # "seed" | "near-miss" | "off-topic" | "duplicate"


def demo_items() -> list[FeedItem]:
    """The replay, in release order; the first item is the back catalogue."""
    seeds = []
    for path in bundled_corpus_files():
        draft = read_file(path)[0][0]
        seeds.append(FeedItem(
            guid=f"seed-{path.stem}", title=draft.title, text=draft.text, source=draft.source,
            date=draft.published, kind="seed",
        ))

    def extra(article: tuple[str, str, str, str, str], n: int) -> FeedItem:
        kind, title, source, date, text = article
        return FeedItem(guid=f"extra-{n}", title=title, text=text, source=source, date=date,
                        kind=kind)

    return [
        extra(FOOTBALL, 1), seeds[0], extra(COLOMBIA, 2), seeds[1], extra(SYNDICATED, 3),
        extra(OIL, 4), seeds[2], extra(HONDURAS, 5), seeds[3], extra(DIPLOMACY, 6),
        extra(WEATHER, 7), seeds[4],
    ]


DEFAULT_OUTLET = "Regional Newswire"


def outlet_of(item: FeedItem) -> str:
    return item.source or DEFAULT_OUTLET


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "feed"


def rss(items: list[FeedItem], base_url: str, title: str = "wirewatch demo replay") -> bytes:
    def esc(text: str) -> str:
        return html.escape(text, quote=True)

    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
        f"<channel><title>{esc(title)}</title>",
        f"<link>{esc(base_url)}/</link><description>Seed stories and near misses</description>",
    ]
    for item in reversed(items):  # newest first, like real feeds
        body = "".join(f"<p>{esc(p)}</p>" for p in item.text.split("\n\n"))
        parts.append("<item>")
        parts.append(f"<title>{esc(item.title)}</title>")
        parts.append(f"<link>{esc(base_url)}/articles/{esc(item.guid)}</link>")
        parts.append(f'<guid isPermaLink="false">{esc(item.guid)}</guid>')
        if item.source:
            parts.append(f'<source url="{esc(base_url)}/">{esc(item.source)}</source>')
        if item.date:
            when = datetime.fromisoformat(item.date).replace(hour=12, tzinfo=UTC)
            parts.append(f"<pubDate>{format_datetime(when)}</pubDate>")
        parts.append(f"<content:encoded>{esc(body)}</content:encoded>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


class DemoFeedServer:
    """The replay feed.  ``interval=None`` releases only on ``release()`` (for tests)."""

    def __init__(
        self, items: list[FeedItem] | None = None, *, interval: float | None = 5.0,
        initial: int = 1, lifetime: float = 3600.0, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.items = items if items is not None else demo_items()
        self.interval = interval
        self.initial = initial
        self.lifetime = lifetime
        self.clock = clock
        self.started: float | None = None
        self.manual = initial
        self.requests = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._timer: threading.Timer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def outlets(self) -> dict[str, str]:
        """slug → outlet name, one feed each."""
        return {slug(outlet_of(i)): outlet_of(i) for i in self.items}

    def feed_urls(self) -> list[str]:
        return [f"{self.base_url}/feeds/{s}.xml" for s in self.outlets()]

    def released(self) -> int:
        with self._lock:
            if self.interval is None or self.started is None:
                return min(len(self.items), self.manual)
            steps = int((self.clock() - self.started) / self.interval)
            return min(len(self.items), self.initial + steps)

    def release(self, n: int = 1) -> None:
        with self._lock:
            self.manual = min(len(self.items), self.manual + n)

    def _body(self, outlet_slug: str) -> bytes | None:
        outlets = self.outlets()
        if outlet_slug not in outlets:
            return None
        with self._lock:
            self.requests += 1
            if self.started is None:
                self.started = self.clock()
        out = [i for i in self.items[: self.released()] if slug(outlet_of(i)) == outlet_slug]
        return rss(out, self.base_url, outlets[outlet_slug])

    def start(self) -> str:
        demo = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                body = None
                if path.startswith("/feeds/") and path.endswith(".xml"):
                    body = demo._body(path[len("/feeds/"):-len(".xml")])
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="demo-feed",
                         daemon=True).start()
        self._timer = threading.Timer(self.lifetime, self.stop)  # stops by itself
        self._timer.daemon = True
        self._timer.start()
        return self.base_url

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()


class FeedSource(Protocol):
    """What the demo loop needs from a poller: fetch, ingest, call the alert callback."""

    def poll_once(self) -> list[dict[str, Any]]: ...


def add_demo_feeds(store: Store, server: DemoFeedServer, now: str,
                   channel: str = "console") -> list[int]:
    """Subscribe to the replay feeds (the real poller then fetches them)."""
    return [store.add_feed(url, now=now, channel=channel, added_by="demo")[0]
            for url in server.feed_urls()]


def run_demo_loop(
    source: FeedSource, pipeline: AlertPipeline, sender: ConsoleSender,
    stop: threading.Event, *, every: float = 2.0,
    on_error: Callable[[Exception], None] | None = None,
) -> None:
    """Poll, then deliver, every ``every`` seconds until ``stop`` is set."""
    while not stop.is_set():
        try:
            source.poll_once()
            pipeline.deliver_pending(sender)
        except Exception as exc:  # reported, and the demo goes on
            if on_error is None:
                raise
            on_error(exc)
        stop.wait(every)
