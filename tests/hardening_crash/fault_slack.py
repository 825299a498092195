"""The fake Slack with a programmable fault schedule and a memory of what it accepted.

``FaultySlack`` extends ``tests.slack.fake_slack.FakeSlack``:

- ``schedule(method, [Fault, ...])``: the next calls of ``method`` answer with these faults in
  order — ``429`` (with Retry-After), ``503``, ``timeout`` (answer only after ``seconds``,
  longer than the client waits) and ``reset`` (the connection is closed without an answer).
  ``posted=True`` on a timeout/reset means Slack accepted the message before the answer was
  lost — the case that doubles alerts if the bot posts again blindly.
- ``post_delay``: every accepted chat.postMessage is slow (a crash window mid-delivery).
- ``messages``: every message Slack accepted, per channel, with its metadata; served back by
  ``conversations.history`` / ``conversations.replies`` (``include_all_metadata``).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from tests.slack.fake_slack import Call, FakeSlack


@dataclass
class Fault:
    kind: str  # "429" | "503" | "timeout" | "reset"
    retry_after: int | None = 1
    seconds: float = 2.0  # timeout: how long the answer takes
    posted: bool = False  # timeout/reset: the message was accepted anyway


class ResetConnection(Exception):
    """Raised inside the handler: the server closes the socket with no answer."""


class FaultySlack(FakeSlack):
    def __init__(self, *, lifetime: float = 120.0, post_delay: float = 0.0,
                 seed: int = 0) -> None:
        super().__init__(lifetime=lifetime)
        self.post_delay = post_delay
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.faults_served: dict[str, int] = {}
        self.unanswered: set[str] = set()  # accepted, the answer not written yet
        self._schedule: dict[str, list[Fault]] = {}
        self._rng = random.Random(seed)
        self._mlock = threading.Lock()
        # a reset raises out of the handler: no traceback on stderr, the socket just closes
        self._server.handle_error = lambda request, address: None  # type: ignore[method-assign]

    def schedule(self, method: str, faults: list[Fault]) -> None:
        with self._mlock:
            self._schedule.setdefault(method, []).extend(faults)

    def pending_faults(self, method: str) -> int:
        with self._mlock:
            return len(self._schedule.get(method, []))

    def accepted(self) -> list[dict[str, Any]]:
        with self._mlock:
            return [m for msgs in self.messages.values() for m in msgs]

    def _accept(self, call: Call) -> dict[str, Any]:
        with self._mlock:
            # real Slack ts are epoch times (find_posted searches from the attempt's time)
            self._last_ts = max(time.time(), getattr(self, "_last_ts", 0.0) + 0.000001)
            msg = {"ts": f"{self._last_ts:.6f}", "channel": str(call.body.get("channel")),
                   "text": call.body.get("text"), "thread_ts": call.body.get("thread_ts"),
                   "metadata": call.body.get("metadata"), "at": time.time()}
            self.messages.setdefault(msg["channel"], []).append(msg)
        return msg

    def _answer(self, call: Call) -> tuple[int, dict[str, str], dict[str, Any]]:
        m = call.method
        with self._mlock:
            queue = self._schedule.get(m)
            fault = queue.pop(0) if queue else None
            if fault is not None:
                self.faults_served[fault.kind] = self.faults_served.get(fault.kind, 0) + 1
        if fault is not None:
            with self._lock:
                self.calls.append(call)
            if fault.kind == "429":
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                return 429, headers, {"ok": False, "error": "ratelimited"}
            if fault.kind == "503":
                return 503, {}, {"ok": False, "error": "service_unavailable"}
            if fault.posted and m == "chat.postMessage":
                self._accept(call)
            if fault.kind == "timeout":
                time.sleep(fault.seconds)
                return 200, {}, {"ok": False, "error": "too_late"}
            raise ResetConnection(m)
        if m == "chat.postMessage":
            with self._lock:
                self.calls.append(call)
            # slow Slack: part of the delay before accepting, part after (a crash in the
            # second part leaves a post the bot never heard about)
            before = self._rng.uniform(0, self.post_delay)
            time.sleep(before)
            msg = self._accept(call)
            with self._mlock:
                self.unanswered.add(msg["ts"])
            time.sleep(self.post_delay - before)
            with self._mlock:
                self.unanswered.discard(msg["ts"])
            return 200, {}, {"ok": True, "channel": msg["channel"], "ts": msg["ts"],
                             "message": {"ts": msg["ts"], "text": msg["text"]}}
        if m in ("conversations.history", "conversations.replies"):
            with self._lock:
                self.calls.append(call)
            channel = str(call.body.get("channel"))
            oldest = float(call.body.get("oldest") or 0)
            with self._mlock:
                msgs = [x for x in self.messages.get(channel, []) if float(x["ts"]) >= oldest]
            if m == "conversations.replies":
                parent = str(call.body.get("ts"))
                msgs = [x for x in msgs if x["thread_ts"] == parent or x["ts"] == parent]
            else:  # history: top-level messages only, newest first
                msgs = [x for x in msgs if not x["thread_ts"]][::-1]
            out = [{"type": "message", "ts": x["ts"], "text": x["text"],
                    **({"metadata": x["metadata"]} if x["metadata"] else {})} for x in msgs]
            return 200, {}, {"ok": True, "messages": out, "has_more": False,
                             "response_metadata": {"next_cursor": ""}}
        return super()._answer(call)
