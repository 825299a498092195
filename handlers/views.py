"""App Home: on ``app_home_opened``, publish the watches of the user's channels (only the
user's own watches when those cannot be listed), feed health and the commands."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.home import build_home
from handlers import blocks
from handlers.access import SlackAccess

if TYPE_CHECKING:
    from slack_bolt import App
    from slack_sdk import WebClient

    from bot.service import Service

log = logging.getLogger("wirewatch.slack")


def user_channels(client: WebClient, user: str) -> list[str] | None:
    """The channels ``user`` is in, or None when Slack will not say (e.g. a missing scope)
    or there are too many to list."""
    return SlackAccess(client).user_channels(user)


def publish_home(service: Service, client: WebClient, user: str, *, notice: str | None = None,
                 notice_is_error: bool = False) -> None:
    home = build_home(service, user, user_channels(client, user), notice=notice,
                      notice_is_error=notice_is_error)
    client.views_publish(user_id=user, view=blocks.render_home(home))


def register(app: App, service: Service) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return  # the Messages tab
        publish_home(service, client, event["user"])
