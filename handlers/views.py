"""App Home: on ``app_home_opened``, publish the watches of the user's channels (every watch
when those cannot be listed), feed health and the commands."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.home import build_home
from handlers import blocks

if TYPE_CHECKING:
    from slack_bolt import App
    from slack_sdk import WebClient

    from bot.service import Service

log = logging.getLogger("wirewatch.slack")

MAX_CHANNEL_PAGES = 5


def user_channels(client: WebClient, user: str) -> list[str] | None:
    """The channels ``user`` is in, or None when Slack will not say (e.g. a missing scope)."""
    channels: list[str] = []
    cursor = None
    try:
        for _ in range(MAX_CHANNEL_PAGES):
            resp = client.users_conversations(
                user=user, types="public_channel,private_channel", exclude_archived=True,
                limit=200, cursor=cursor,
            )
            channels += [c["id"] for c in resp.get("channels") or []]
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return channels
    except SlackApiError as exc:
        log.info("users.conversations failed (%s); App Home shows every channel's watches",
                 exc.response.get("error"))
        return None
    return None  # too many channels to list: show all


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
