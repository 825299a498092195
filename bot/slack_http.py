"""HTTP mode: a small threaded stdlib server that hands Slack's requests to the Bolt app.

Events API, slash commands and interactivity all arrive at ``/slack/events``; Bolt checks the
signature (``X-Slack-Signature`` v0, ``X-Slack-Request-Timestamp`` within five minutes) and
answers within Slack's 3-second limit (listeners run after the ack, in Bolt's executor).
``GET /healthz`` answers ``ok`` for load balancers.

The server binds a given port (0 = a free one, for tests), runs in the calling thread
(``serve_forever``) or a background one (``start``), and stops with ``stop()``.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse

log = logging.getLogger("wirewatch.slack.http")

EVENTS_PATH = "/slack/events"
MAX_BODY = 1_000_000  # Slack's payloads are far smaller


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    bolt_app: App
    path: str


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a client may stall mid-request

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
        request = BoltRequest(
            body=body,
            query=query,
            headers={k.lower(): [v] for k, v in self.headers.items()},
        )
        response: BoltResponse = self.server.bolt_app.dispatch(request)
        payload = response.body if isinstance(response.body, str) else str(response.body)
        self._send(response.status, payload, dict(response.headers))


class SlackHTTPServer:
    """``/slack/events`` over HTTP for a Bolt app.  Usable as a context manager."""

    def __init__(self, app: App, *, host: str = "0.0.0.0", port: int = 3000,
                 path: str = EVENTS_PATH) -> None:
        self._server = _Server((host, port), _Handler)
        self._server.bolt_app = app
        self._server.path = path
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        raw = self._server.server_address[0]
        host = raw.decode() if isinstance(raw, bytes) else str(raw)
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
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
