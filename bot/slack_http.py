"""HTTP mode: a small threaded stdlib server that hands Slack's requests to the Bolt app.

Events API, slash commands and interactivity all arrive at ``/slack/events``; Bolt checks the
signature (``X-Slack-Signature`` v0, ``X-Slack-Request-Timestamp`` within five minutes) and
answers within Slack's 3-second limit (listeners run after the ack, in Bolt's executor).
``GET /healthz`` answers ``ok`` for load balancers.

Before Bolt sees a request, the server refuses (401) one with other than exactly one
``X-Slack-Signature`` and one ``X-Slack-Request-Timestamp`` header, so the signature Bolt
verifies is the one the replay guard records; a signature accepted once is refused again for
ten minutes, across restarts (the guard lives in the database).

The server binds a given address and port (0 = a free one, for tests), runs in the calling
thread (``serve_forever``) or a background one (``start``), and stops with ``stop()``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltRequest, BoltResponse

if TYPE_CHECKING:
    from bot.store import Store

log = logging.getLogger("wirewatch.slack.http")

EVENTS_PATH = "/slack/events"
MAX_BODY = 1_000_000  # Slack's payloads are far smaller
REPLAY_WINDOW = 5 * 60  # seconds: Bolt refuses timestamps further off than this
# A request is accepted only while |now - timestamp| <= REPLAY_WINDOW, so a signature first
# seen at t can only be replayed until t + 2 * REPLAY_WINDOW: remember it that long.
REPLAY_KEEP = 2 * REPLAY_WINDOW
SIGNED_HEADERS = ("X-Slack-Signature", "X-Slack-Request-Timestamp")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # a burst of Slack requests must not overflow the listen backlog
    bolt_app: App
    path: str
    replays: ReplayGuard


class _Server6(_Server):
    address_family = socket.AF_INET6  # WIREWATCH_HOST set to an IPv6 address, e.g. "::"


class ReplayGuard:
    """Signatures already accepted, kept in the database (hardening).

    Slack never sends the same signature twice (a retry has a new timestamp, every slash
    command a new trigger_id), so a second request with one is a captured request replayed:
    it is refused before Bolt sees it.  A signature is reserved before dispatch (so two
    concurrent copies cannot both pass) and released if Bolt rejects the request.  The rows
    are in SQLite, so restarting the server does not reopen the window.
    """

    def __init__(self, store: Store, keep: float = REPLAY_KEEP) -> None:
        self.store = store
        self.keep = keep

    def reserve(self, signature: str) -> bool:
        return self.store.slack_reserve_signature(signature, now=time.time(), keep=self.keep)

    def release(self, signature: str) -> None:
        self.store.slack_release_signature(signature)


def malformed(body: str, content_type: str) -> bool:
    """True for a body Bolt could not parse (it raises on bad JSON instead of answering)."""
    try:
        if "application/json" in content_type:
            return not isinstance(json.loads(body), dict)
        if "application/x-www-form-urlencoded" in content_type:
            from urllib.parse import parse_qs

            form = parse_qs(body)
            if "payload" in form:
                return not isinstance(json.loads(form["payload"][0]), dict)
            if "command" in form:  # a slash command names its user, channel and reply URL
                return not all(form.get(k) for k in ("user_id", "channel_id", "response_url"))
    except (ValueError, RecursionError):
        return True
    return False


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a client may stall mid-request
    # -- hardening: the read timeout restarts with every byte, so a client trickling its
    # headers or body ("slow loris") could hold a thread for ever; a connection lives at most
    # this long (Slack sends a whole request at once and reads the ack within 3 s).
    max_connection_seconds = 30.0

    def setup(self) -> None:
        super().setup()
        self._watchdog = threading.Timer(self.max_connection_seconds, self._expire)
        self._watchdog.daemon = True
        self._watchdog.start()

    def _expire(self) -> None:
        log.warning("closed a connection from %s after %.0f s", self.address_string(),
                    self.max_connection_seconds)
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        self._watchdog.cancel()
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _send(self, status: int, body: str | bytes = b"", headers: dict[str, Any] | None = None,
              ) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        for name, values in (headers or {}).items():
            for value in values if isinstance(values, list | tuple) else [values]:
                if name.lower() != "content-length":
                    self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.partition("?")[0] == "/healthz":
            self._send(200, "ok", {"Content-Type": "text/plain; charset=utf-8"})
        else:
            self._send(404, "not found")

    def do_POST(self) -> None:
        path, _, query = self.path.partition("?")
        if path != self.server.path:
            self._send(404, "not found")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._send(413, "request too large")
            self.close_connection = True
            return
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        # -- hardening: answer what Bolt would crash on or let through twice --
        # exactly one signature and one timestamp: with two, the guard and Bolt could each
        # read a different one (a junk first header let a replay through)
        signed = [self.headers.get_all(name) or [] for name in SIGNED_HEADERS]
        if any(len(values) != 1 for values in signed):
            self._send(401, "")
            return
        signature, timestamp = signed[0][0], signed[1][0]
        if not timestamp.strip().isdigit() or not signature:
            self._send(401, "")
            return
        if malformed(body, self.headers.get("Content-Type") or ""):
            self._send(400, "malformed payload")
            return
        if not self.server.replays.reserve(signature):
            log.warning("refused a replayed Slack request (signature seen before)")
            # Slack's own retry of a request already taken: ack it, run nothing (events are
            # deduplicated by event_id anyway); anything else is a replay: 401.
            self._send(200 if self.headers.get("X-Slack-Retry-Num") else 401, "")
            return
        try:
            request = BoltRequest(
                body=body,
                query=query,
                headers={k.lower(): [v] for k, v in self.headers.items()},
            )
            response: BoltResponse = self.server.bolt_app.dispatch(request)
        except Exception:
            self.server.replays.release(signature)
            log.exception("could not handle a request at %s", path)
            self._send(400, "bad request")
            return
        if response.status == 401:
            self.server.replays.release(signature)
        payload = response.body if isinstance(response.body, str) else str(response.body)
        self._send(response.status, payload, dict(response.headers))


class SlackHTTPServer:
    """``/slack/events`` over HTTP for a Bolt app.  Usable as a context manager."""

    def __init__(self, app: App, store: Store, *, host: str = "0.0.0.0", port: int = 3000,
                 path: str = EVENTS_PATH) -> None:
        server_class = _Server6 if ":" in host else _Server
        self._server = server_class((host, port), _Handler)
        self._server.bolt_app = app
        self._server.replays = ReplayGuard(store)
        self._server.path = path
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        raw = self._server.server_address[0]
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    @property
    def url(self) -> str:
        host = self.host
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif ":" in host:  # IPv6: bracketed, and the wildcard reached through loopback
            host = "[::1]" if host == "::" else f"[{host}]"
        return f"http://{host}:{self.port}{self._server.path}"

    def serve_forever(self) -> None:
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self._server.server_close()

    def start(self) -> SlackHTTPServer:
        self._thread = threading.Thread(
            target=self.serve_forever, name="wirewatch-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is None:
            self._server.server_close()
            return
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SlackHTTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
