"""A tiny fake Slack Web API on 127.0.0.1 (answers ``{"ok": true}`` to everything), for the
slash-command ack benchmark: Bolt's ``auth.test`` at start-up, ``respond()`` posts, etc."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode


class _Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.calls.append(self.path)  # type: ignore[attr-defined]
        body = json.dumps({
            "ok": True, "url": "https://bench.slack.com/", "team": "bench", "user": "wirewatch",
            "team_id": "T0BENCH", "user_id": "U0BOT", "bot_id": "B0BOT", "is_enterprise_install":
            False, "channel": "C0BENCH", "ts": f"{time.time():.6f}",
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer


class FakeSlack:
    """``with FakeSlack() as fake: fake.api_url`` — a Web API base URL ending in /api/."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.calls = []  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/"

    def __enter__(self) -> FakeSlack:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def slash_command_request(text: str, *, secret: str, response_url: str,
                          command: str = "/news") -> tuple[str, dict[str, str]]:
    """(body, headers) of a slash command signed exactly as Slack signs it."""
    body = urlencode({
        "token": "legacy", "team_id": "T0BENCH", "team_domain": "bench",
        "channel_id": "C0BENCH", "channel_name": "bench", "user_id": "U0USER",
        "user_name": "bench", "command": command, "text": text, "api_app_id": "A0BENCH",
        "response_url": response_url, "trigger_id": "1.2.3",
    })
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(),
                           hashlib.sha256).hexdigest()
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": sig,
    }
    return body, headers
