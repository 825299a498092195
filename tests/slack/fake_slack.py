"""A local fake of the Slack Web API (and of response URLs): a threaded HTTP server on
127.0.0.1 that records every call and can answer 429 with Retry-After or 5xx on demand.

It stops by itself after ``lifetime`` seconds even if a test forgets to stop it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM_ID = "T111"


@dataclass
class Call:
    method: str  # "chat.postMessage", or the path for response URLs ("/hooks/...")
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class FakeSlack:
    def __init__(self, *, lifetime: float = 120.0) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._failures: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self.channels_for_user: dict[str, list[str]] | None = {}  # None: missing_scope
        # channels wirewatch is in (conversations.info is_member; chat.postMessage answers
        # not_in_channel elsewhere); None: every channel.  DMs (D…) always work.
        self.bot_channels: set[str] | None = None
        self.private_channels: set[str] = set()  # hidden from the bot unless it is in them
        self.archived_channels: set[str] = set()
        self.info_error: str | None = None  # conversations.info / members fail with this
        self.scopes: str | None = "chat:write,channels:read,groups:read"  # x-oauth-scopes
        self.token_ok = True
        self._ts = 1700000000
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                ctype = self.headers.get("Content-Type") or ""
                if "json" in ctype:
                    body = json.loads(raw or "{}")
                else:
                    body = dict(parse_qsl(raw))
                    for key in ("blocks", "view"):
                        if isinstance(body.get(key), str):
                            body[key] = json.loads(body[key])
                path = self.path.partition("?")[0]
                method = path[len("/api/"):] if path.startswith("/api/") else path
                call = Call(method, path, {k.lower(): v for k, v in self.headers.items()}, body)
                status, headers, payload = fake._answer(call)
                data = json.dumps(payload).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._killer = threading.Timer(lifetime, self.stop)
        self._killer.daemon = True

    # -- control ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def start(self) -> FakeSlack:
        self._thread.start()
        self._killer.start()
        return self

    def stop(self) -> None:
        self._killer.cancel()
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, method: str, status: int = 429, *, retry_after: int | None = 1,
                  times: int = 1) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self._lock:
            self._failures.setdefault(method, []).extend([(status, headers)] * times)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    def of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, predicate: Callable[[list[Call]], Any], timeout: float = 8.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                result = predicate(list(self.calls))
            if result:
                return result
            time.sleep(0.02)
        with self._lock:
            seen = [(c.method, c.body) for c in self.calls]
        raise AssertionError(f"timed out waiting; calls were: {seen!r}")

    def wait_calls(self, method: str, count: int = 1, timeout: float = 8.0) -> list[Call]:
        return list(self.wait_for(
            lambda calls: (found if len(found := [c for c in calls if c.method == method])
                           >= count else None),
            timeout,
        ))

    # -- answers ---------------------------------------------------------------------------

    def _bot_in(self, channel: str) -> bool:
        return (channel.startswith("D") or self.bot_channels is None
                or channel in self.bot_channels)

    def _info(self, channel: str) -> tuple[int, dict[str, str], dict[str, Any]]:
        if self.info_error:
            return 200, {}, {"ok": False, "error": self.info_error}
        private = channel in self.private_channels
        if private and not self._bot_in(channel):
            return 200, {}, {"ok": False, "error": "channel_not_found"}
        if channel.startswith("D"):
            return 200, {}, {"ok": True, "channel": {"id": channel, "is_im": True}}
        return 200, {}, {"ok": True, "channel": {
            "id": channel, "is_channel": not private, "is_group": private,
            "is_private": private, "is_archived": channel in self.archived_channels,
            "is_member": self._bot_in(channel)}}

    def _answer(self, call: Call) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self._lock:
            self.calls.append(call)
            queue = self._failures.get(call.method)
            if queue:
                status, headers = queue.pop(0)
                return status, headers, {"ok": False, "error": "ratelimited"}
            self._ts += 1
            ts = f"{self._ts}.000100"
        m = call.method
        if m == "auth.test" and not self.token_ok:
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        if m == "auth.test":
            # lower case, as slack.com sends it (and as Bolt looks it up)
            scopes = {"x-oauth-scopes": self.scopes} if self.scopes is not None else {}
            return 200, scopes, {"ok": True, "url": "https://fake.slack.com/", "team": "Fake",
                             "user": "wirewatch", "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                             "bot_id": BOT_ID}
        if m == "chat.postMessage" and not self._bot_in(str(call.body.get("channel"))):
            return 200, {}, {"ok": False, "error": "not_in_channel"}
        if m == "conversations.info":
            return self._info(str(call.body.get("channel")))
        if m == "conversations.members":
            channel = str(call.body.get("channel"))
            if self.info_error or (channel in self.private_channels
                                   and not self._bot_in(channel)):
                return 200, {}, {"ok": False,
                                 "error": self.info_error or "channel_not_found"}
            members = sorted(u for u, cs in (self.channels_for_user or {}).items()
                             if channel in cs)
            return 200, {}, {"ok": True, "members": members,
                             "response_metadata": {"next_cursor": ""}}
        if m in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            return 200, {}, {"ok": True, "channel": call.body.get("channel"), "ts": ts,
                             "message_ts": ts}
        if m == "views.publish":
            return 200, {}, {"ok": True, "view": {"id": "V1", **(call.body.get("view") or {})}}
        if m == "users.conversations":
            if self.channels_for_user is None:
                return 200, {}, {"ok": False, "error": "missing_scope"}
            ids = self.channels_for_user.get(str(call.body.get("user")), [])
            size = getattr(self, "page_size", None) or len(ids) or 1  # None: one page
            start = int(call.body.get("cursor") or 0)
            more = str(start + size) if start + size < len(ids) else ""
            return 200, {}, {"ok": True, "channels": [{"id": c} for c in ids[start:start + size]],
                             "response_metadata": {"next_cursor": more}}
        if m == "apps.connections.open":
            return 200, {}, {"ok": True, "url": getattr(self, "socket_url", "ws://127.0.0.1:9")}
        if m.startswith("/hooks/"):
            return 200, {}, {"ok": True}
        return 200, {}, {"ok": False, "error": "unknown_method"}
