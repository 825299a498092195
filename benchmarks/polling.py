"""Polling: 500 feeds (quick: 100) on a local ThreadingHTTPServer on 127.0.0.1.

Two full cycles through the app — one when nothing changed (every feed should answer the
conditional GET with 304; target < 10 s) and one when each feed has 5 new items — against the
baseline of plain sequential httpx GETs of the same URLs.  The app is built as ``serve``
builds it, so new items are analysed (NLP included in the cycle's time), with
``WIREWATCH_ALLOW_PRIVATE_FEEDS`` on so it may reach 127.0.0.1, and with an injected clock
moved a day ahead before each cycle so every feed is due.

``poller_api()`` is the ONE place that knows how the feeds branch is driven (through the
command grammar: ``feed add URL`` and ``poll``); fix it there if that changes.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

from benchmarks.corpus import NewsItem
from benchmarks.harness import Context, Figure, Target, failed, skipped

STAGE = "polling"
FEEDS_FULL, FEEDS_QUICK = 500, 100
INITIAL_ITEMS, NEW_ITEMS, SHOWN_ITEMS = 10, 5, 20
UNCHANGED_TARGET_S = 10.0


# -- the feed server ---------------------------------------------------------------------------


class FeedFarm:
    """Many RSS feeds on one local server, with ETag/Last-Modified and 304s."""

    def __init__(self, n_feeds: int, items: list[NewsItem]) -> None:
        self.n_feeds = n_feeds
        self.items = items or [NewsItem(0, "Nothing", "", "No news today.", None, None, None)]
        self.entries: dict[int, int] = dict.fromkeys(range(n_feeds), INITIAL_ITEMS)
        self.versions: dict[int, int] = dict.fromkeys(range(n_feeds), 1)
        self.stamp: dict[int, datetime] = dict.fromkeys(
            range(n_feeds), datetime(2017, 3, 1, tzinfo=UTC))
        self.status_counts: Counter[int] = Counter()
        self.lock = threading.Lock()
        farm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else keep-alive meets 40 ms delayed ACKs

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                farm.serve(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, feed: int) -> str:
        return f"{self.base}/feeds/{feed}.xml"

    def urls(self) -> list[str]:
        return [self.url(i) for i in range(self.n_feeds)]

    def add_items(self, k: int) -> None:
        with self.lock:
            for f in range(self.n_feeds):
                self.entries[f] += k
                self.versions[f] += 1
                self.stamp[f] += timedelta(hours=1)

    def reset_counts(self) -> Counter[int]:
        with self.lock:
            counts = self.status_counts.copy()
            self.status_counts.clear()
        return counts

    def etag(self, feed: int) -> str:
        return f'"feed{feed}-v{self.versions[feed]}"'

    def render(self, feed: int) -> bytes:
        n = self.entries[feed]
        parts = [
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
            f"<title>Bench feed {feed}</title><link>{self.base}/site/{feed}</link>",
            "<description>wirewatch benchmark feed</description>",
        ]
        for seq in range(n, max(0, n - SHOWN_ITEMS), -1):
            item = self.items[(feed * 31 + seq) % len(self.items)]
            words = item.text.split()[:80]
            body = " ".join(words) + f" (Bench feed {feed}, story {seq}.)"
            when = email.utils.format_datetime(
                datetime(2017, 3, 1, tzinfo=UTC) + timedelta(minutes=seq))
            link = f"{self.base}/story/{feed}/{seq}"
            parts.append(
                f"<item><title>{escape(item.title or 'Untitled')}</title><link>{link}</link>"
                f'<guid isPermaLink="false">feed{feed}-story{seq}</guid>'
                f"<pubDate>{when}</pubDate><description>{escape(body)}</description></item>"
            )
        parts.append("</channel></rss>")
        return "".join(parts).encode("utf-8")

    def serve(self, h: BaseHTTPRequestHandler) -> None:
        try:
            feed = int(h.path.rsplit("/", 1)[-1].split(".")[0])
            assert 0 <= feed < self.n_feeds
        except (ValueError, AssertionError):
            self._send(h, 404, b"not found", {})
            return
        with self.lock:
            etag = self.etag(feed)
            modified = email.utils.format_datetime(self.stamp[feed], usegmt=True)
            body = self.render(feed)
        headers = {"ETag": etag, "Last-Modified": modified}
        if h.headers.get("If-None-Match") == etag or (
            h.headers.get("If-None-Match") is None
            and h.headers.get("If-Modified-Since") == modified
        ):
            self._send(h, 304, b"", headers)
            return
        self._send(h, 200, body, {**headers, "Content-Type": "application/rss+xml"})

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: bytes,
              headers: dict[str, str]) -> None:
        with self.lock:
            self.status_counts[status] += 1
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        if status != 304:
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if body:
            h.wfile.write(body)

    def __enter__(self) -> FeedFarm:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def sequential_gets(urls: list[str]) -> float:
    """Baseline: plain sequential httpx GETs (one client, keep-alive), seconds."""
    import httpx

    t0 = time.perf_counter()
    with httpx.Client(timeout=10) as client:
        for u in urls:
            client.get(u).raise_for_status()
    return time.perf_counter() - t0


# -- adapter (the one place that knows how to drive the feeds branch) ---------------------------


class MovableClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class PollerAPI:
    add_feed: Callable[[str], None]
    poll_cycle: Callable[[], dict[str, Any]]  # one full cycle of every feed; the poll JSON
    close: Callable[[], None]


def poller_api(ctx: Context) -> PollerAPI:
    """Drive ``bot.feeds`` through the service (ImportError → skip)."""
    import bot.feeds  # noqa: F401  (availability probe)
    from bot.replies import ErrorReply
    from bot.service import Context as Ask
    from bot.wiring import build

    settings = ctx.settings(ctx.tmp / "polling.db", allow_private_feeds=True)
    clock = MovableClock()
    app = build(settings, seed=False, clock=clock)
    ask = Ask(channel="C0BENCH", user="U0ADMIN", front_end="console")

    def handle(text: str) -> dict[str, Any]:
        reply = app.service.handle(text, ask)
        if isinstance(reply, ErrorReply):
            if reply.code == "not_available":
                raise ImportError(f"the service does not answer `{text.split()[0]}` yet")
            raise RuntimeError(f"{text!r}: {reply.message}")
        out: dict[str, Any] = reply.to_dict()
        return out

    def add_feed(url: str) -> None:
        handle(f"feed add {url}")

    def poll_cycle() -> dict[str, Any]:
        clock.advance(timedelta(days=1))
        return handle("poll")

    return PollerAPI(add_feed, poll_cycle, app.close)


# -- the stage -----------------------------------------------------------------------------------


def run(ctx: Context) -> list[Figure]:
    n = ctx.size(FEEDS_FULL, FEEDS_QUICK)
    corpus = ctx.corpus()
    figures: list[Figure] = []
    with FeedFarm(n, corpus.items) as farm:
        try:
            api = poller_api(ctx)
        except ImportError as exc:
            plain = sequential_gets(farm.urls())
            farm.add_items(NEW_ITEMS)
            return [
                skipped(STAGE, f"bot.feeds ({exc})", "poll cycle"),
                Figure(STAGE, f"baseline only: {n} sequential plain GETs", plain, "s",
                       higher_is_better=False,
                       note=f"{n / plain:,.0f} feeds/s from the local feed server"),
            ]
        try:
            ctx.log(f"polling: adding {n} feeds")
            t0 = time.perf_counter()
            for url in farm.urls():
                api.add_feed(url)
            add_s = time.perf_counter() - t0
            farm.reset_counts()

            ctx.log("polling: cycle with nothing changed")
            t0 = time.perf_counter()
            unchanged = api.poll_cycle()
            unchanged_s = time.perf_counter() - t0
            codes = farm.reset_counts()
            base_unchanged = sequential_gets(farm.urls())
            farm.reset_counts()
            figures.append(Figure(
                STAGE, f"cycle, {n} feeds, nothing changed", unchanged_s, "s",
                baseline=base_unchanged, baseline_name="sequential plain GETs",
                higher_is_better=False, target=Target("<", UNCHANGED_TARGET_S),
                note=f"server answered {codes.get(304, 0)}×304, {codes.get(200, 0)}×200; "
                     f"poll reply feeds={unchanged.get('feeds')}, "
                     f"new={unchanged.get('new_articles')}; adding the feeds (each with a first "
                     f"poll of {INITIAL_ITEMS} items, analysed) took {add_s:.1f} s",
            ))

            farm.add_items(NEW_ITEMS)
            ctx.log(f"polling: cycle with {NEW_ITEMS} new items per feed")
            t0 = time.perf_counter()
            fresh = api.poll_cycle()
            fresh_s = time.perf_counter() - t0
            codes = farm.reset_counts()
            base_fresh = sequential_gets(farm.urls())
            figures.append(Figure(
                STAGE, f"cycle, {n} feeds × {NEW_ITEMS} new items", fresh_s, "s",
                baseline=base_fresh, baseline_name="sequential plain GETs",
                higher_is_better=False,
                note=f"{codes.get(200, 0)}×200; new articles {fresh.get('new_articles')} "
                     f"(expected {n * NEW_ITEMS}); errors {len(fresh.get('errors') or [])}; "
                     "includes the NLP of every new item: "
                     f"{1000 * fresh_s / max(1, int(fresh.get('new_articles') or 0)):.0f} ms "
                     "per new article",
            ))
        except ImportError as exc:
            figures.append(skipped(STAGE, str(exc), "poll cycle"))
        except Exception as exc:
            figures.append(failed(STAGE, exc, "poll cycle"))
        finally:
            api.close()
    return figures
