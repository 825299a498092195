"""Fetching over real HTTP on 127.0.0.1: caps, timeouts, redirects, conditional GET, SSRF."""

from __future__ import annotations

import gzip
import time
from http.server import BaseHTTPRequestHandler

import pytest

from bot.feeds import fetch as fetch_mod
from bot.feeds.fetch import (
    Fetcher,
    FetchError,
    UnsafeURL,
    is_public_address,
    parse_max_age,
    parse_retry_after,
)
from tests.feeds.conftest import FeedServer, Route, rss, story

FEED = rss([story(1), story(2)])


def test_plain_fetch_sends_user_agent_and_returns_body(server: FeedServer) -> None:
    server.routes["/feed"] = Route(
        body=FEED, etag='"v1"', headers={"Cache-Control": "max-age=3600"}
    )
    result = Fetcher(allow_private=True).fetch(server.url("/feed"))
    assert result.status == 200 and result.content == FEED
    assert result.etag == '"v1"' and result.max_age == 3600
    seen = server.hits("/feed")[0].headers
    assert "wirewatch" in seen["user-agent"]
    assert "gzip" in seen["accept-encoding"]


def test_gzip_body_is_decompressed(server: FeedServer) -> None:
    server.routes["/gz"] = Route(body=FEED, gzip=True)
    result = Fetcher(allow_private=True).fetch(server.url("/gz"))
    assert result.content == FEED


def test_conditional_get_gets_304(server: FeedServer) -> None:
    server.routes["/feed"] = Route(
        body=FEED, etag='"abc"', last_modified="Mon, 02 Feb 2026 10:00:00 GMT"
    )
    fetcher = Fetcher(allow_private=True)
    first = fetcher.fetch(server.url("/feed"))
    second = fetcher.fetch(server.url("/feed"), etag=first.etag, last_modified=first.last_modified)
    assert second.not_modified and second.content == b""
    headers = server.hits("/feed")[1].headers
    assert headers["if-none-match"] == '"abc"'
    assert headers["if-modified-since"] == "Mon, 02 Feb 2026 10:00:00 GMT"


def _redirect(to: str, status: int = 302) -> Route:
    return Route(status=status, body=b"", headers={"Location": to})


def test_redirects_are_followed_up_to_five(server: FeedServer) -> None:
    for n in range(5):
        server.routes[f"/r{n}"] = _redirect(
            f"/r{n + 1}" if n < 4 else "/final", 301 if n % 2 else 302
        )
    server.routes["/final"] = Route(body=FEED)
    result = Fetcher(allow_private=True).fetch(server.url("/r0"))
    assert result.content == FEED and result.redirects == 5
    assert result.url == server.url("/final")


def test_more_than_five_redirects_fail(server: FeedServer) -> None:
    for n in range(6):
        server.routes[f"/r{n}"] = _redirect(f"/r{n + 1}")
    server.routes["/r6"] = Route(body=FEED)
    with pytest.raises(FetchError, match="too many redirects"):
        Fetcher(allow_private=True).fetch(server.url("/r0"))
    assert not server.hits("/r6")


def test_slow_server_times_out(server: FeedServer) -> None:
    server.routes["/slow"] = Route(body=FEED, delay=2.0)
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"timed out after 0\.5 s") as err:
        Fetcher(allow_private=True, read_timeout=0.5).fetch(server.url("/slow"))
    assert err.value.kind == "timeout"
    assert time.monotonic() - started < 1.8


def test_server_error_in_plain_words(server: FeedServer) -> None:
    server.routes["/boom"] = Route(status=503, body=b"down", headers={"Retry-After": "120"})
    with pytest.raises(FetchError) as err:
        Fetcher(allow_private=True).fetch(server.url("/boom"))
    assert err.value.message == "server said 503"
    assert err.value.retry_after == 120
    server.routes["/500"] = Route(status=500, body=b"oops")
    with pytest.raises(FetchError, match="server said 500"):
        Fetcher(allow_private=True).fetch(server.url("/500"))


def test_oversized_body_is_refused_with_and_without_length(server: FeedServer) -> None:
    big = b"<rss>" + b"x" * 3000
    server.routes["/big"] = Route(body=big)

    def chunked(h: BaseHTTPRequestHandler) -> None:  # no Content-Length: streamed cap
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Connection", "close")
        h.end_headers()
        for _ in range(10):
            h.wfile.write(b"y" * 1000)

    server.routes["/stream"] = Route(handler=chunked)
    fetcher = Fetcher(allow_private=True, max_bytes=2000)
    with pytest.raises(FetchError, match="larger than") as err:
        fetcher.fetch(server.url("/big"))
    assert err.value.kind == "too_large"
    with pytest.raises(FetchError, match="larger than"):
        fetcher.fetch(server.url("/stream"))


def test_gzip_bomb_is_capped_on_decompressed_size(server: FeedServer) -> None:
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024))  # 20 MiB → ~20 KiB on the wire
    assert len(bomb) < 100_000
    server.routes["/bomb"] = Route(body=bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="larger than 15 MiB"):
        Fetcher(allow_private=True).fetch(server.url("/bomb"))


# -- SSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://192.168.0.1/",
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://localhost/",
    ],
)
def test_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURL, match="private, local or reserved"):
        Fetcher(allow_private=False).fetch(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/f", "gopher://x/"])
def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURL, match="only http and https"):
        Fetcher(allow_private=True).fetch(url)


def test_loopback_refused_unless_setting_on(server: FeedServer) -> None:
    server.routes["/feed"] = Route(body=FEED)
    with pytest.raises(UnsafeURL):
        Fetcher(allow_private=False).fetch(server.url("/feed"))
    assert not server.requests
    assert Fetcher(allow_private=True).fetch(server.url("/feed")).content == FEED


def test_redirect_to_loopback_is_refused(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first hop is "public" (127.0.0.1 treated as public for this test); its redirect to
    another loopback address is checked again and refused before any connection."""
    real = fetch_mod.is_public_address
    monkeypatch.setattr(fetch_mod, "is_public_address", lambda a: a == "127.0.0.1" or real(a))
    server.routes["/hop"] = _redirect(f"http://127.0.0.2:{server.port}/feed")
    server.routes["/feed"] = Route(body=FEED)
    with pytest.raises(UnsafeURL, match=r"127\.0\.0\.2"):
        Fetcher(allow_private=False).fetch(server.url("/hop"))
    assert [r.path for r in server.requests] == ["/hop"]


def test_redirect_to_another_scheme_is_refused(server: FeedServer) -> None:
    server.routes["/hop"] = _redirect("file:///etc/passwd")
    with pytest.raises(UnsafeURL, match="only http and https"):
        Fetcher(allow_private=True).fetch(server.url("/hop"))


def test_connect_time_guard_catches_what_the_precheck_missed(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: even if the pre-check passed, the connection itself is checked."""
    server.routes["/feed"] = Route(body=FEED)
    monkeypatch.setattr(Fetcher, "check", lambda self, url: None)
    with pytest.raises(UnsafeURL):
        Fetcher(allow_private=False).fetch(server.url("/feed"))
    assert not server.requests


def test_address_classification() -> None:
    assert is_public_address("93.184.216.34")
    assert is_public_address("2606:4700::1111")
    for bad in (
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "not-an-ip",
    ):
        assert not is_public_address(bad), bad


def test_header_hints() -> None:
    assert parse_retry_after("30") == 30
    assert parse_retry_after("garbage") is None
    assert parse_max_age("public, max-age=600") == 600
    assert parse_max_age("no-cache") is None
