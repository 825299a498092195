"""Fixtures of the abuse tests: a hostile feed server on 127.0.0.1 (raw sockets, so it can
misbehave in ways http.server will not), and a snapshot of every table."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.store import Store

Behaviour = Callable[[socket.socket], None]


class HostileServer:
    """Serves ``routes[path](conn)`` per request; stops by itself after ``lifetime`` s."""

    def __init__(self, lifetime: float = 60.0, host: str = "127.0.0.1") -> None:
        self.host = host  # a loopback address (127.0.0.2 is another "host" for the poller)
        self.routes: dict[str, Behaviour] = {}
        self.hits: dict[str, int] = {}
        self.first_hit: dict[str, float] = {}  # path → time.monotonic() of its first request
        self._sock = socket.socket()
        self._sock.bind((host, 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._deadline = time.monotonic() + lifetime
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self._sock.getsockname()[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> HostileServer:
        self._thread.start()
        return self

    def stopped(self) -> bool:
        return self._stop.is_set() or time.monotonic() > self._deadline

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _loop(self) -> None:
        while not self.stopped():
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

    # -- behaviours --

    def body(self, payload: bytes, *, content_type: str = "application/rss+xml",
             extra: str = "") -> Behaviour:
        def send(conn: socket.socket) -> None:
            conn.sendall(
                f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n{extra}"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
        return send

    def trickle_headers(self) -> Behaviour:
        def send(conn: socket.socket) -> None:
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            while not self.stopped():
                conn.sendall(b"X-Slow: 1\r\n")
                time.sleep(0.1)
        return send

    def trickle_body(self) -> Behaviour:
        def send(conn: socket.socket) -> None:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                         b"Connection: close\r\n\r\n<rss><channel>")
            while not self.stopped():
                conn.sendall(b" ")
                time.sleep(0.1)
        return send

    def endless(self) -> Behaviour:
        chunk = b"<item><title>x</title></item>" * 2000

        def send(conn: socket.socket) -> None:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                         b"Connection: close\r\n\r\n<rss><channel>")
            sent = 0
            while not self.stopped() and sent < 200 * 1024 * 1024:
                conn.sendall(chunk)
                sent += len(chunk)
        return send


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    server = HostileServer().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("WIREWATCH_", "SLACK_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WIREWATCH_DB", str(tmp_path / "env.db"))


def snapshot(store: Store) -> dict[str, list[Any]]:
    """Every row of every table (FTS shadow tables included), for before/after comparisons.

    Not the replay guard's record of verified request signatures: every signed request Bolt
    accepts is written there by design, whatever it asks for."""
    names = [r[0] for r in store.db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name != "
        "'slack_request_signatures' ORDER BY name").fetchall()]
    out: dict[str, list[Any]] = {}
    for name in names:
        try:
            out[name] = sorted(map(repr, store.db.execute(f'SELECT * FROM "{name}"').fetchall()))
        except Exception:  # virtual tables that cannot be read whole
            continue
    return out


# -- the real application (and its Slack front end) with admins set ------------------------

ADMIN = "UADMIN"


@pytest.fixture
def ww(tmp_path: Path) -> Iterator[Any]:
    """The wired app (feeds, watches) on the bundled corpus, no spaCy, no network."""
    from bot.ingest import ensure_corpus
    from bot.settings import Settings
    from bot.wiring import build

    app = build(Settings(db_path=tmp_path / "ww.db", admins=frozenset({ADMIN})), seed=False,
                backfill=False)
    ensure_corpus(app.store, None)
    yield app
    app.close()


@pytest.fixture
def slack_ww(tmp_path: Path) -> Iterator[Any]:
    """The real Bolt app in HTTP mode around the wired app, a fake Slack, a signing sender."""
    from bot.ingest import ensure_corpus
    from bot.settings import Settings
    from bot.wiring import build
    from tests.slack.conftest import SECRET, Running, SlackSender, start_app
    from tests.slack.fake_slack import FakeSlack

    fake = FakeSlack(lifetime=90).start()
    settings = Settings(db_path=tmp_path / "sw.db", admins=frozenset({ADMIN}),
                        slack_bot_token="xoxb-abuse-token", slack_signing_secret=SECRET,
                        slack_api_url=fake.api_url)
    app = build(settings, seed=False, backfill=False)
    ensure_corpus(app.store, None)
    _, server = start_app(settings, app.service, app.store, fake)
    try:
        yield Running(app, server, SlackSender(server.url), fake, app.service, app.store)
    finally:
        server.stop()
        fake.stop()
        app.close()
