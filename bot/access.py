"""Who may use which channel: the port the service asks, and the words for a paused channel.

Slack-free: the Slack adapter (``handlers/access.py``) implements ``ChannelAccess`` with the
Web API and puts one on the ``Context`` of each Slack request; the console and ``ask`` carry
none (their user runs wirewatch on the machine that holds the database, so no channel is
closed to them).

The rules (README, "Watching for new articles"):

- ``watch … in #channel`` from Slack: only for a member of that channel, and only where
  wirewatch can post (a member, or a public channel with ``chat:write.public``).  When either
  cannot be known, the watch is refused (fail closed) — except a watch in the channel the
  command came from, whose membership Slack vouches for.
- Buttons (App Home, alerts): act on a watch only for a member of its channel, its creator or
  a listed admin (``WIREWATCH_ADMINS``), whatever the button's value says.
- A channel where posting fails for good (``CHANNEL_ERRORS``) is paused: its watches record
  nothing and ``watches`` says why, until wirewatch is invited back (or can post again).
"""

from __future__ import annotations

from typing import Protocol

BOT_NAME = "wirewatch"
INVITE = f"/invite @{BOT_NAME}"

# Slack errors of chat.postMessage that mean "this channel, for good", not "this message"
CHANNEL_ERRORS = frozenset({
    "not_in_channel", "channel_not_found", "is_archived", "invalid_channel",
    "restricted_action",
})


class ChannelAccess(Protocol):
    """Answers about Slack channels; None means "cannot tell" (API error, missing scope)."""

    def is_member(self, user: str, channel: str) -> bool | None:
        """Whether ``user`` is a member of ``channel``."""
        ...

    def bot_can_post(self, channel: str) -> bool | None:
        """Whether wirewatch can post in ``channel``."""
        ...


def channel_problem(error: str, channel: str) -> str:
    """What a paused channel's watches show: why nothing is posted, and what fixes it."""
    where = f"#{channel}"
    if error == "is_archived":
        return f"paused: {where} is archived"
    if error == "restricted_action":
        return f"paused: wirewatch may not post in {where}; ask an admin of the channel"
    if error in ("channel_not_found", "invalid_channel"):
        return (f"paused: wirewatch cannot see {where} (deleted, or private without "
                f"wirewatch); {INVITE} there")
    if error == "not_in_channel":
        return f"paused: wirewatch is not in {where}; {INVITE} there"
    return f"paused: Slack refuses posts in {where} ({error[:40]})"
