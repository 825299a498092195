"""The one ``@app.error`` handler.

A ``bot.errors.UserError`` becomes a short ephemeral reply with its message; anything else is
logged with its traceback and the user sees a short apology, never a stack trace.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.errors import UserError
from handlers.mrkdwn import escape, fit

if TYPE_CHECKING:
    from slack_bolt import App, Respond
    from slack_sdk import WebClient

    from bot.service import Service

log = logging.getLogger("wirewatch.slack")

APOLOGY = "Sorry, something went wrong on my side. It has been logged; please try again."


def tell_user(service: Service, text: str, body: dict[str, Any], respond: Respond | None,
              client: WebClient | None, *, plain: str) -> None:
    """Show ``text`` (already escaped) to the user who triggered the request, ephemerally
    (in App Home: ``plain`` on top of a re-published Home)."""
    user = (body.get("user") or {}).get("id") if isinstance(body.get("user"), dict) else None
    if (body.get("container") or {}).get("type") == "view" and user and client is not None:
        from handlers.views import publish_home

        publish_home(service, client, user, notice=plain, notice_is_error=True)
        return
    if respond is not None and body.get("response_url"):
        from handlers.common import send_response

        send_response(respond, text=text, response_type="ephemeral", replace_original=False)
        return
    event = body.get("event") or {}
    channel, user = event.get("channel"), event.get("user")
    if client is None or not channel:
        return  # e.g. App Home: nowhere to say it
    if event.get("channel_type") == "im" or not user:
        client.chat_postMessage(channel=channel, text=text, thread_ts=event.get("thread_ts"))
    else:
        client.chat_postEphemeral(channel=channel, user=user, text=text,
                                  thread_ts=event.get("thread_ts") or event.get("ts"))


def register(app: App, service: Service) -> None:
    @app.error
    def on_error(error: Exception, body: dict[str, Any], respond: Respond | None,
                 client: WebClient | None) -> None:
        if isinstance(error, UserError):
            log.info("user error: %s", error.message)
            plain = error.message[:1000]
            text = f":warning: {fit(escape(error.message), 1000)}"
        else:
            log.error("Slack listener failed", exc_info=error)
            plain = text = APOLOGY
        try:
            tell_user(service, text, body, respond, client, plain=plain)
        except Exception:
            log.exception("could not tell the user about an error")
