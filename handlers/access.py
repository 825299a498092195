"""``bot.access.ChannelAccess`` over the Slack Web API, one per request (answers are cached
for that request only: membership changes, and a later request asks again).

- ``user_channels(user)``: ``users.conversations`` (public and private, paged); None when
  Slack will not say (missing scope, error) or there are too many to list.
- ``is_member(user, channel)``: in ``user_channels``; when that list is unknown,
  ``conversations.members`` of the channel (paged).  None when neither can tell (a private
  channel wirewatch is not in hides its members).
- ``bot_can_post(channel)``: ``conversations.info``: a DM with wirewatch, a channel it is a
  member of, or — with the ``chat:write.public`` scope (from ``auth.test``'s
  ``X-OAuth-Scopes``, as Bolt reads it) — a public channel that is not archived.
  ``channel_not_found`` is False (a private channel wirewatch is not in looks like that).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

if TYPE_CHECKING:
    from slack_sdk import WebClient

log = logging.getLogger("wirewatch.slack")

MAX_CHANNEL_PAGES = 5  # users.conversations: 200 a page
MAX_MEMBER_PAGES = 10  # conversations.members: 1,000 a page
POST_PUBLIC = "chat:write.public"


def bot_scopes(context: Any) -> list[str] | None:
    """The bot token's scopes Bolt read from ``auth.test`` (None when it did not say)."""
    result = getattr(context, "authorize_result", None) if context is not None else None
    scopes: Sequence[str] | None = getattr(result, "bot_scopes", None)
    return list(scopes) if scopes is not None else None


class _TooManyPages(Exception):
    """More pages than we read: the answer is unknown."""


def _pages(response: Any, max_pages: int) -> Iterator[Any]:
    """``response`` and the pages after it (slack_sdk's ``SlackResponse`` follows
    ``next_cursor`` as it is iterated); ``_TooManyPages`` when more than ``max_pages``."""
    for n, page in enumerate(response, 1):
        yield page
        if n == max_pages:
            if (page.get("response_metadata") or {}).get("next_cursor"):
                raise _TooManyPages
            return


class SlackAccess:
    def __init__(self, client: WebClient, scopes: Sequence[str] | None = None) -> None:
        self.client = client
        self.scopes = set(scopes or ())
        self._channels: dict[str, list[str] | None] = {}
        self._members: dict[tuple[str, str], bool | None] = {}
        self._post: dict[str, bool | None] = {}

    @classmethod
    def of(cls, client: WebClient, context: Any = None) -> SlackAccess:
        return cls(client, bot_scopes(context))

    def user_channels(self, user: str) -> list[str] | None:
        if user not in self._channels:
            self._channels[user] = self._user_channels(user)
        return self._channels[user]

    def _user_channels(self, user: str) -> list[str] | None:
        channels: list[str] = []
        try:
            for page in _pages(self.client.users_conversations(
                    user=user, types="public_channel,private_channel", exclude_archived=True,
                    limit=200), MAX_CHANNEL_PAGES):
                channels += [str(c["id"]) for c in page.get("channels") or []]
        except SlackApiError as exc:
            log.info("users.conversations failed (%s): the user's channels are unknown",
                     exc.response.get("error"))
            return None
        except _TooManyPages:
            log.info("users.conversations: more than %d pages; the user's channels are "
                     "unknown", MAX_CHANNEL_PAGES)
            return None
        return channels

    def is_member(self, user: str, channel: str) -> bool | None:
        key = (user, channel)
        if key not in self._members:
            listed = self.user_channels(user)
            self._members[key] = (channel in listed if listed is not None
                                  else self._in_members(user, channel))
        return self._members[key]

    def _in_members(self, user: str, channel: str) -> bool | None:
        try:
            for page in _pages(self.client.conversations_members(channel=channel, limit=1000),
                               MAX_MEMBER_PAGES):
                if user in (page.get("members") or []):
                    return True
        except SlackApiError as exc:
            log.info("conversations.members failed (%s): membership unknown",
                     exc.response.get("error"))
            return None
        except _TooManyPages:
            return None
        return False

    def bot_can_post(self, channel: str) -> bool | None:
        if channel not in self._post:
            self._post[channel] = self._can_post(channel)
        return self._post[channel]

    def _can_post(self, channel: str) -> bool | None:
        try:
            info = self.client.conversations_info(channel=channel).get("channel") or {}
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error == "channel_not_found":
                return False
            log.info("conversations.info failed (%s): cannot tell whether wirewatch can post "
                     "in %s", error, channel)
            return None
        if info.get("is_archived"):
            return False
        if info.get("is_im") or info.get("is_member"):
            return True
        public = info.get("is_channel") and not info.get("is_private")
        return bool(public and POST_PUBLIC in self.scopes)
