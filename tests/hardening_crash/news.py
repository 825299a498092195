"""On-topic articles for the watch "deportation flights to Venezuela", each one different
enough not to be threaded as another outlet's copy of an earlier one, and a local RSS feed
on 127.0.0.1 that publishes new ones at every request (slowly, when asked)."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

TOPIC = "deportation flights to Venezuela"

_TEXT = (
    "harbor council budget river election museum winter school bridge festival harvest "
    "railway stadium orchestra library garden hospital factory market vineyard airport "
    "mountain lake forest village cathedral university clinic highway ferry tunnel castle "
    "orchard meadow canyon glacier valley island peninsula desert prairie lagoon reef "
    "copper silver timber cotton wheat coffee cocoa sugar rubber tobacco textile ceramic "
    "engineer teacher farmer nurse pilot sailor miner baker painter poet lawyer banker "
    "morning evening weekend holiday summer autumn spring season decade century moment "
    "quietly slowly rapidly gently sharply broadly firmly loosely openly deeply briefly "
    "reform program survey report review ledger archive census statute charter permit "
)
_WORDS = _TEXT.split()


@dataclass
class Item:
    n: int
    guid: str
    title: str
    text: str
    published: datetime


def topic_item(n: int, seed: int = 0) -> Item:
    rng = random.Random(seed * 100003 + n)
    filler = [" ".join(rng.choice(_WORDS) for _ in range(12)) + "." for _ in range(6)]
    title = (f"Deportation flight {n} to Venezuela lands in Caracas "
             f"({rng.choice(_WORDS)} {rng.choice(_WORDS)})")
    text = (f"A deportation flight carrying migrants to Venezuela landed in Caracas, "
            f"the {n}th such flight. " + " ".join(filler))
    return Item(n, f"urn:wirewatch-test:{seed}:{n}", title, text,
                datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n))


class TopicFeed:
    """``/feed.xml``: every request first publishes ``per_request`` new items (unless
    ``frozen``), then serves them all.  ``delay`` seconds are spent between the first and the
    second half of the body (a slow server: a crash window while fetching).  Stops by itself
    after ``lifetime`` seconds."""

    def __init__(self, *, initial: int = 2, per_request: int = 1, delay: float = 0.0,
                 lifetime: float = 180.0, seed: int = 0) -> None:
        self.seed = seed
        self.items = [topic_item(n, seed) for n in range(1, initial + 1)]
        self.per_request = per_request
        self.delay = delay
        self.frozen = False
        self.requests = 0
        self.finished = 0
        self._lock = threading.Lock()
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] != "/feed.xml":
                    self.send_error(404)
                    return
                body = feed._publish()
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                half = len(body) // 2
                self.wfile.write(body[:half])
                self.wfile.flush()
                time.sleep(feed.delay)
                self.wfile.write(body[half:])
                with feed._lock:
                    feed.finished += 1

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._killer = threading.Timer(lifetime, self.stop)
        self._killer.daemon = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/feed.xml"

    def start(self) -> TopicFeed:
        self._thread.start()
        self._killer.start()
        return self

    def stop(self) -> None:
        self._killer.cancel()
        self._server.shutdown()
        self._server.server_close()

    def _publish(self) -> bytes:
        with self._lock:
            self.requests += 1
            if not self.frozen:
                start = len(self.items) + 1
                self.items += [topic_item(n, self.seed)
                               for n in range(start, start + self.per_request)]
            items = list(self.items)
        entries = "".join(
            f"<item><title>{escape(i.title)}</title>"
            f"<link>http://news.test/{self.seed}/{i.n}</link>"
            f"<guid isPermaLink=\"false\">{i.guid}</guid>"
            f"<pubDate>{format_datetime(i.published)}</pubDate>"
            f"<description>{escape(i.text)}</description></item>"
            for i in reversed(items)
        )
        return (f"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel>"
                f"<title>Topic Wire</title><link>http://news.test/</link>"
                f"<description>test</description>{entries}</channel></rss>").encode()
