"""What the listeners share: the service context of a Slack request, and the "working…"
notice for slow answers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from bot.access import ChannelAccess
from bot.service import Context

log = logging.getLogger("wirewatch.slack")

# Seconds an answer may take before the user first sees a short "working…".
WORKING_AFTER = 1.5
WORKING_TEXT = "working…"


def slack_context(channel: str | None, user: str | None, access: ChannelAccess | None = None,
                  *, via: str = "command") -> Context:
    """``access``: a ``handlers.access.SlackAccess`` made for this request (per-request
    cache); ``via``: "command", "button" (on a message) or "home" (bot.service.Context)."""
    return Context(channel=channel or "slack", user=user, front_end="slack", access=access,
                   via=via)


def from_bot(event: dict[str, Any], bot_user_id: str | None = None) -> bool:
    """Messages from any bot (ours included) are never answered."""
    return bool(
        event.get("bot_id")
        or event.get("bot_profile")
        or event.get("subtype") == "bot_message"
        or (bot_user_id is not None and event.get("user") == bot_user_id)
    )


class Working:
    """Run ``notify()`` once if the block takes longer than ``delay`` seconds.

    The notice and the answer are ordered by a lock: once ``__exit__`` has run, the notice
    can no longer be posted; when it is being posted, the answer waits for it (so the
    answer can replace it).
    """

    def __init__(self, notify: Callable[[], None], delay: float | None = None) -> None:
        self._notify = notify
        self._delay = WORKING_AFTER if delay is None else delay
        self._lock = threading.Lock()
        self._done = False
        self.fired = False
        self._timer = threading.Timer(self._delay, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            try:
                self._notify()
                self.fired = True
            except Exception:  # the notice is a courtesy; the answer still follows
                log.exception("could not post the working notice")

    def __enter__(self) -> Working:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            self._done = True


def send_response(respond: Any, **message: Any) -> None:
    """Answer on the request's ``response_url`` with link previews off, retrying 429s
    (honouring Retry-After), 5xx and connection errors like the Web API client does.  A
    refusal (expired URL, more than five answers) is logged: there is nowhere else to say it.
    """
    from slack_sdk.http_retry.builtin_handlers import (
        ConnectionErrorRetryHandler,
        RateLimitErrorRetryHandler,
        ServerErrorRetryHandler,
    )
    from slack_sdk.webhook import WebhookClient

    message = {"unfurl_links": False, "unfurl_media": False, **message}
    url = getattr(respond, "response_url", None)
    if not url:
        respond(**message)
        return
    client = WebhookClient(url=url, timeout=30, retry_handlers=[
        RateLimitErrorRetryHandler(max_retry_count=3),
        ConnectionErrorRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=2),
    ])
    resp = client.send(**message)
    if resp.status_code >= 400:
        log.warning("response_url refused the answer: HTTP %s %s", resp.status_code,
                    str(resp.body)[:200])
