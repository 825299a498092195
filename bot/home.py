"""What the Slack App Home shows, as plain data (no Slack types): the watches of the user's
channels (only the watches the user made when those are not known), feed health and the
help."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from bot import grammar as g
from bot.access import channel_problem
from bot.replies import FeedView, HelpReply, Reply
from bot.service import Context, Service


@dataclass
class WatchView:
    id: int
    channel: str
    query: str
    understood: str | None = None
    muted_until: str | None = None
    digest_time: str | None = None
    paused: str | None = None  # Slack refuses wirewatch in the channel (``bot.access``)
    broken: str | None = None  # why it no longer alerts; None: fine


@dataclass
class HomeReply(Reply):
    kind: ClassVar[str] = "home"
    user: str | None
    scope: str  # "channels": the user's channels; "own": the user's watches (channels unknown)
    watches: list[WatchView]
    feeds: list[FeedView]
    help: HelpReply
    notice: str | None = None
    notice_is_error: bool = False
    channels: list[str] = field(default_factory=list)


def build_home(
    service: Service, user: str | None, channels: list[str] | None, *,
    notice: str | None = None, notice_is_error: bool = False,
) -> HomeReply:
    """``channels=None`` means "not known": show only the watches ``user`` made (never
    every channel's: private channels' queries stay private)."""
    if channels is None:
        rows = service.store.slack_watches(created_by=user) if user else []
    else:
        rows = service.store.slack_watches(channels)
    watches = [
        WatchView(
            id=int(r["id"]), channel=str(r["channel"]), query=str(r["query"]),
            understood=r["understood"], muted_until=r["muted_until"],
            digest_time=r["digest_time"], broken=r.get("broken"),
            paused=channel_problem(r["paused_error"], str(r["channel"]))
            if r["paused_error"] else None,
        )
        for r in rows
    ]
    feeds = [FeedView.from_row(f) for f in service.store.feed_health()]
    help_reply = service.help(g.Help(), Context(user=user, front_end="slack"))
    assert isinstance(help_reply, HelpReply)
    return HomeReply(
        user=user, scope="own" if channels is None else "channels", watches=watches,
        feeds=feeds, help=help_reply, notice=notice, notice_is_error=notice_is_error,
        channels=list(channels or []),
    )
