"""Issue 8 part 3: hostile feeds over real HTTP on 127.0.0.1.

The poller must stay up, memory must stay bounded, each broken feed's error must be recorded,
and whatever a feed says must reach Slack escaped (no pings, no hidden links, no script)."""

from __future__ import annotations

import threading
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.feeds.fetch import Fetcher, FetchError
from bot.feeds.poller import Poller, iso
from bot.settings import Settings
from bot.store import Store
from tests.hardening_abuse.conftest import HostileServer

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def rss(items: list[tuple[str, str, str]], *, head: str = "") -> bytes:
    parts = [f'<?xml version="1.0" encoding="utf-8"?>{head}<rss version="2.0"><channel>'
             "<title>t</title><link>http://example.com/</link>"]
    for n, (title, link, text) in enumerate(items):
        parts.append(f"<item><guid>g{n}</guid><title>{title}</title><link>{link}</link>"
                     f"<description>{text}</description></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
              for i in range(1, 10))
    + ']><rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title>'
    "<description>&lol9;</description></item></channel></rss>"
).encode()


def nested(depth: int) -> bytes:
    return (b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>deep</title>'
            b"<description>" + b"<x>" * depth + b"y" + b"</x>" * depth
            + b"</description></item></channel></rss>")


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip, built in pieces
    zeros = b"\0" * (1024 * 1024)
    return b"".join(packer.compress(zeros) for _ in range(200)) + packer.flush()


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class RssSampler:
    """The highest resident set size seen every 10 ms while running (not a process-wide
    high-water mark, which earlier tests would pollute)."""

    def __init__(self) -> None:
        self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, _rss())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def fast_fetcher() -> Fetcher:
    return Fetcher(allow_private=True, connect_timeout=1, read_timeout=1, total_timeout=2)


# -- slow loris: the overall deadline holds even when bytes keep trickling -----------------


@pytest.mark.parametrize("kind", ["headers", "body"])
def test_slow_loris_is_cut_at_the_overall_deadline(hostile: HostileServer, kind: str) -> None:
    """A server sending a byte every 0.1 s forever (headers or body) used to hold a poller
    worker for as long as it liked: the read timeout restarts with each byte.  Found by this
    test; fixed by a deadline on every socket read (bot/feeds/fetch.py DeadlineBackend)."""
    hostile.routes["/slow"] = (hostile.trickle_headers() if kind == "headers"
                               else hostile.trickle_body())
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fast_fetcher().fetch(hostile.base + "/slow")
    took = time.monotonic() - started
    assert caught.value.kind == "timeout"
    assert "too slow" in caught.value.message
    assert took < 4, took


def test_slow_loris_is_cut_with_the_ssrf_guard_on_too(
        hostile: HostileServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The guarded backend (private addresses refused) carries the same deadline."""
    import bot.feeds.fetch as fetch

    monkeypatch.setattr(fetch, "resolve_public", lambda host, port: ["127.0.0.1"])
    hostile.routes["/slow"] = hostile.trickle_body()
    fetcher = Fetcher(allow_private=False, read_timeout=1, total_timeout=2)
    fetcher.check = lambda url: None  # type: ignore[method-assign]
    started = time.monotonic()
    with pytest.raises(FetchError, match="too slow"):
        fetcher.fetch(hostile.base + "/slow")
    assert time.monotonic() - started < 4


# -- the poller against every hostile feed at once ------------------------------------------


def test_poller_survives_every_hostile_feed_with_bounded_memory(
        hostile: HostileServer, tmp_path: Path, gzip_bomb: bytes) -> None:
    big_title = "A" * (1024 * 1024)
    hostile.routes.update({
        "/ok.xml": hostile.body(rss([("Plain story about flights", "http://example.com/1",
                                      "Plain text.")])),
        "/slow-headers": hostile.trickle_headers(),
        "/slow-body": hostile.trickle_body(),
        "/endless": hostile.endless(),
        "/bomb": hostile.body(gzip_bomb, extra="Content-Encoding: gzip\r\n"),
        "/laughs": hostile.body(LAUGHS),
        "/nested": hostile.body(nested(20_000)),
        "/badutf8": hostile.body(rss([("Bad \xff bytes", "http://example.com/u", "x")])
                                 .replace(b"\xc3\xbf", b"\xff\xfe\xc0")),
        "/huge-title": hostile.body(rss([(big_title, "http://example.com/h", "big")])),
        "/not-xml": hostile.body(b"\x00\x01\x02" * 1000),
        "/empty": hostile.body(b""),
    })
    store = Store(tmp_path / "h.db")
    ids = {path: store.add_feed(hostile.base + path, now=iso(NOW))[0] for path in hostile.routes}
    poller = Poller(store, Settings(db_path=tmp_path / "h.db"), fast_fetcher(), analyzer=None,
                    clock=lambda: NOW)
    rss_before = _rss()
    started = time.monotonic()
    with RssSampler() as sampler:
        report = poller.poll_all(NOW)
    took = time.monotonic() - started
    peak = sampler.peak - rss_before
    assert report is not None
    assert took < 15, took  # three feeds time out after 2 s each, four at a time
    assert peak < 150 * 1024 * 1024, peak  # the 15 MiB cap bounds each body
    feeds = {f["id"]: f for f in store.list_feeds()}

    def error(path: str) -> str:
        return str(feeds[ids[path]].get("error") or "")

    assert "too slow" in error("/slow-headers")
    assert "too slow" in error("/slow-body")
    assert "larger than 15 MiB" in error("/endless")
    assert "larger than 15 MiB" in error("/bomb")
    for path in ("/not-xml", "/empty"):
        assert error(path), path
    assert not error("/ok.xml")
    assert store.count_articles() >= 1
    for path in ("/laughs", "/badutf8"):  # bozo feeds: used, and the problem kept
        assert error(path), path
    # entity expansion did not happen: no article or title carries a billion "lol"s
    longest = store.db.execute("SELECT max(length(text)) FROM articles").fetchone()[0] or 0
    assert longest < 5 * 1024 * 1024
    lols = store.db.execute("SELECT count(*) FROM articles WHERE text LIKE '%lollollol%'")
    assert lols.fetchone()[0] == 0
    # the poller is still up: a second round works and finds nothing new
    again = poller.poll_all(NOW)
    assert again.new_articles == 0
    store.close()
    _stats_for_notes(took, peak, feeds, ids)


def _stats_for_notes(took: float, peak: int, feeds: dict[int, Any], ids: dict[str, int]) -> None:
    print(f"\nhostile poll: {took:.1f} s, peak RSS growth {peak / 2**20:.1f} MiB")
    for path, feed_id in ids.items():
        print(f"  {path}: status={feeds[feed_id].get('status')} "
              f"error={str(feeds[feed_id].get('error'))[:70]}")
