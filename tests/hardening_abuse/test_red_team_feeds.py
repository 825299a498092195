"""Issue 17, parts 4, 5 and 7, replayed: slow or hostile feeds cannot starve polling.

4. Eight feeds that answer validly but trickle their bytes take the two slots of their host;
   a healthy feed on another host is fetched within seconds, and a `feed add` during that
   round answers within seconds (it waited 60 s and 78 s before).
5. Six manual `poll`s of a feed that says 503 + Retry-After: one request, and the feed stays on.
7. `feed import` of an OPML listing private addresses stores none of them (with
   WIREWATCH_ALLOW_PRIVATE_FEEDS off), as `feed add` refuses them.

Self-contained: a raw-socket feed server on a loopback address of its choice, stopped by
itself after its lifetime.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.feeds.fetch import Fetcher
from bot.feeds.poller import Poller, iso
from bot.service import Context
from bot.settings import Settings
from tests.hardening_abuse.conftest import ADMIN

_feeds_Behaviour = Callable[[socket.socket], None]


class _feeds_Server:
    """``routes[path](conn)`` per request on ``host`` (loopback); counts hits per path."""

    def __init__(self, host: str = "127.0.0.1", lifetime: float = 60.0) -> None:
        self.host = host
        self.routes: dict[str, _feeds_Behaviour] = {}
        self.hits: dict[str, int] = {}
        self.first_hit: dict[str, float] = {}
        self._sock = socket.socket()
        self._sock.bind((host, 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._deadline = time.monotonic() + lifetime
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self._sock.getsockname()[1]}{path}"

    def start(self) -> _feeds_Server:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _loop(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                data = conn.recv(4096)
                if not data:
                    return
                head += data
            path = head.split(b" ", 2)[1].decode()
            self.hits[path] = self.hits.get(path, 0) + 1
            self.first_hit.setdefault(path, time.monotonic())
            route = self.routes.get(path)
            if route is None:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            else:
                route(conn)
        except OSError:
            pass
        finally:
            conn.close()


def _feeds_rss(title: str, n: int) -> bytes:
    items = "".join(
        f"<item><title>{title} story {i}</title><link>http://example.org/{title}/{i}</link>"
        f"<guid>{title}-{i}</guid><description>Deportation flights resumed, day {i}."
        "</description></item>"
        for i in range(n)
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>http://example.org/</link>{items}</channel></rss>").encode()


def _feeds_send(body: bytes, status: str = "200 OK", extra: str = "") -> _feeds_Behaviour:
    def send(conn: socket.socket) -> None:
        conn.sendall(
            f"HTTP/1.1 {status}\r\nContent-Type: application/rss+xml\r\n{extra}"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
        )

    return send


def _feeds_trickle(body: bytes, seconds: float) -> _feeds_Behaviour:
    """A valid answer whose body arrives a few bytes at a time over ``seconds``."""

    def trickle(conn: socket.socket) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        )
        steps = 20
        size = -(-len(body) // steps)
        for i in range(0, len(body), size):
            conn.sendall(body[i:i + size])
            time.sleep(seconds / steps)

    return trickle


class _feeds_Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def _feeds_servers() -> Iterator[tuple[_feeds_Server, _feeds_Server]]:
    slow_host = _feeds_Server("127.0.0.1").start()
    other_host = _feeds_Server("127.0.0.2").start()
    yield slow_host, other_host
    slow_host.stop()
    other_host.stop()


def _feeds_app(tmp_path: Path, clock: _feeds_Clock) -> Any:
    from bot.wiring import build

    settings = Settings(db_path=tmp_path / "rt.db", allow_private_feeds=True,
                        admins=frozenset({ADMIN}))
    return build(settings, fetcher=Fetcher(settings), clock=clock, seed=False, backfill=False)


def test_red_team_4_slow_feeds_do_not_starve_the_others(
    tmp_path: Path, _feeds_servers: tuple[_feeds_Server, _feeds_Server]
) -> None:
    slow_host, other_host = _feeds_servers
    clock = _feeds_Clock()
    app = _feeds_app(tmp_path, clock)
    try:
        for n in range(8):
            slow_host.routes[f"/slow{n}"] = _feeds_trickle(_feeds_rss(f"slow{n}", 3), 3.0)
            app.store.add_feed(slow_host.url(f"/slow{n}"), now=iso(clock()))
        other_host.routes["/healthy"] = _feeds_send(_feeds_rss("healthy", 2))
        healthy_id, _ = app.store.add_feed(other_host.url("/healthy"), now=iso(clock()))
        other_host.routes["/added"] = _feeds_send(_feeds_rss("added", 2))
        # the poller `serve` runs, with the slowness threshold scaled down for the test
        poller = Poller(app.store, app.settings, app.fetcher, analyzer=app.analyzer,
                        clock=clock, slow_seconds=1.0)
        app.service.feed_commands.poller = poller
        started = time.monotonic()
        reports: list[Any] = []
        round_thread = threading.Thread(target=lambda: reports.append(poller.poll_due()))
        round_thread.start()
        try:
            deadline = started + 10
            while "/healthy" not in other_host.first_hit and time.monotonic() < deadline:
                time.sleep(0.02)
            assert other_host.first_hit.get("/healthy", deadline) - started < 2.0
            t0 = time.monotonic()
            added = app.service.handle(f"feed add {other_host.url('/added')}",
                                       Context(channel="C1", user=ADMIN))
            assert time.monotonic() - t0 < 3.0 and round_thread.is_alive()
            assert added.to_dict()["new_articles"] == 2
        finally:
            round_thread.join(60)
        report = reports[0]
        assert report.feeds == 9 and report.deferred == 0
        assert app.store.get_feed(healthy_id)["status"] == "ok"
        slow = [f for f in app.store.list_feeds() if "/slow" in f["url"]]
        # slow but valid: entries read, status "slow" with why, backed off and held
        assert all(f["status"] == "slow" and "slow: took" in f["error"] for f in slow)
        assert all(f["articles"] == 3 and f["hold_until"] == f["next_check"] for f in slow)
        assert all(f["error_count"] == 0 for f in slow)  # slowness never disables
    finally:
        app.close()


def test_red_team_5_manual_polls_respect_retry_after_and_never_disable(
    tmp_path: Path, _feeds_servers: tuple[_feeds_Server, _feeds_Server]
) -> None:
    server, other_host = _feeds_servers
    clock = _feeds_Clock()
    app = _feeds_app(tmp_path, clock)
    try:
        server.routes["/wire"] = _feeds_send(_feeds_rss("wire", 2))
        added = app.service.handle(f"feed add {server.url('/wire')}",
                                   Context(channel="C1", user=ADMIN)).to_dict()
        feed_id = added["feed"]["id"]
        other_host.routes["/fine"] = _feeds_send(_feeds_rss("fine", 1))  # always answers
        app.service.handle(f"feed add {other_host.url('/fine')}", Context(user=ADMIN))
        server.routes["/wire"] = _feeds_send(b"busy", "503 Service Unavailable",
                                             "Retry-After: 3600\r\n")
        before = server.hits["/wire"]
        users = [Context(channel=f"C{n}", user=f"U{n}") for n in range(6)]
        replies = []
        for ctx in users:  # six users in six channels, a few seconds apart
            replies.append(app.service.handle("poll", ctx).to_dict())
            clock.now += timedelta(seconds=5)
        same = [app.service.handle("poll", users[0]).to_dict() for _ in range(5)]
        assert server.hits["/wire"] - before == 1  # one request in all
        row = app.store.get_feed(feed_id)
        assert row["status"] == "failing" and row["error_count"] == 0  # still on
        assert replies[0]["feeds"] == 2 and "server said 503" in str(replies[0]["errors"])
        for reply in replies[1:]:  # the healthy feed is checked; the paused one is skipped
            assert reply["feeds"] == 1 and reply["skipped"][0]["feed_id"] == feed_id
            assert reply["skipped"][0]["until"] == row["hold_until"]
        # the same channel again within the minute: a short answer, nothing fetched
        assert all(r["feeds"] == 0 and "once a minute per channel" in str(r["message"])
                   for r in same)
        assert other_host.hits["/fine"] == 1 + 6
        clock.now += timedelta(hours=2)  # the pause is over: a scheduled round tries again
        server.routes["/wire"] = _feeds_send(_feeds_rss("wire", 3))
        assert app.poller.poll_due().new_articles == 1
        assert app.store.get_feed(feed_id)["status"] == "ok"
    finally:
        app.close()


def test_red_team_7_import_skips_private_addresses(ww: Any, tmp_path: Path) -> None:
    private = ["http://127.0.0.1:8080/feed", "http://10.1.2.3/rss", "http://192.168.0.1/rss",
               "http://169.254.169.254/latest/meta-data/", "http://[::1]/feed",
               "http://[::ffff:127.0.0.1]/feed", "http://0x7f000001/", "http://2130706433/",
               "http://100.64.0.1/", "http://localhost/feed"]
    path = tmp_path / "evil.opml"
    outlines = "".join(f'<outline type="rss" xmlUrl="{u}"/>' for u in private)
    path.write_text(f'<opml version="2.0"><body>{outlines}</body></opml>', encoding="utf-8")
    reply = ww.service.handle(f"feed import {path}", Context(user=ADMIN)).to_dict()
    assert reply["added"] == [] and reply["skipped"] == private
    assert all("private, local or reserved" in r["why"] or "could not find" in r["why"]
               for r in reply["refused"])
    assert ww.store.list_feeds() == []  # nothing stored: nothing fires when the guard is off
