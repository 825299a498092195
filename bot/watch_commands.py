"""The watch commands of the service: watch, watches, unwatch, mute, unmute, digest, and the
"not relevant" action.  ``bot.service.Service`` routes to these.

A watch belongs to the channel where it was made.  Only its creator or an admin
(``settings.is_admin``) may change or remove it, and only from its channel; a watch of
another channel is "not found" here.  The one exception: an admin may ``unwatch ID`` from
anywhere (a watch made in a DM or another channel), so any watch can be removed.

Slack channels (``bot.access``): ``watch … in #other`` needs the user to be a member of
#other and wirewatch able to post there; buttons re-check that the clicking user is a member
of the watch's channel, its creator or a listed admin.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot import grammar as g
from bot.access import INVITE, channel_problem
from bot.alerts import article_doc
from bot.errors import BadCommand, Forbidden, NotFound
from bot.replies import Reply, TextReply, WatchesReply, WatchMatch, WatchReply, WatchView
from bot.settings import Settings
from bot.store import Store
from watchlists.decide import FOREVER, iso, parse_duration
from watchlists.document import analyze
from watchlists.matcher import Matcher
from watchlists.query import QueryError, parse
from watchlists.relevance import matches, reasons, score
from watchlists.storage import WatchRecord

log = logging.getLogger(__name__)

MAX_WATCHES_PER_CHANNEL = 100
RECENT_ARTICLES = 300  # how far back `watch` looks for articles that would have matched
SHOW_MATCHES = 5


class WatchCommands:
    def __init__(self, store: Store, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock

    def routes(self) -> dict[type[Any], Callable[[Any, Any], Reply]]:
        return {
            g.Watch: self.watch,
            g.Watches: self.watches,
            g.Unwatch: self.unwatch,
            g.Mute: self.mute,
            g.Unmute: self.unmute,
            g.Digest: self.digest,
        }

    # -- helpers ----------------------------------------------------------------------------

    def _view(self, w: WatchRecord, counts: tuple[int, int] = (0, 0)) -> WatchView:
        return WatchView(
            id=w.id, channel=w.channel, query=w.query, understood=w.understood or "",
            mode=w.mode, created_by=w.created_by, created_at=w.created_at,
            muted_until=w.muted_until if w.muted_until and w.muted_until > iso(self.clock())
            else None,
            digest_time=w.digest_time, alerts=counts[0], not_relevant=counts[1],
            paused=self._paused(w.channel), broken=w.broken,
        )

    def _paused(self, channel: str) -> str | None:
        """Why the channel's watches post nothing (Slack refuses wirewatch there), if so."""
        error = self.store.channel_pause(channel)
        return channel_problem(error, channel) if error else None

    def _own(self, watch_id: int, ctx: Any, *, manage: bool = True,
             anywhere: bool = False) -> WatchRecord:
        """The channel's watch (any channel's with ``anywhere``), checking the user may
        manage it."""
        w = self.store.get_watch(watch_id)
        if w is None or not w.active or (w.channel != ctx.channel and not anywhere):
            raise NotFound(f"There is no watch {watch_id} in this channel. "
                           "`watches` lists this channel's watches.")
        if ctx.via != "command" and not self._may_act(w, ctx):
            raise Forbidden(f"Only members of #{w.channel}, the person who made watch "
                            f"{watch_id} or an admin can change it.")
        if manage and not (
            (ctx.user is not None and ctx.user == w.created_by) or self.settings.is_admin(ctx.user)
        ):
            raise Forbidden(f"Only the person who made watch {watch_id} or an admin can "
                            "change it.")
        return w

    def _may_act(self, w: WatchRecord, ctx: Any) -> bool:
        """A button's click on watch ``w``: its creator, a listed admin, or a member of its
        channel (asked of Slack now, whatever the button said).  When Slack cannot tell, a
        click on a message in the watch's own channel counts (Slack sent it from there); an
        App Home click does not."""
        if ctx.user is None:
            return False
        if ctx.user == w.created_by or (self.settings.admins and self.settings.is_admin(ctx.user)):
            return True
        member = ctx.access.is_member(ctx.user, w.channel) if ctx.access is not None else None
        return bool(member) or (member is None and ctx.via == "button")

    def _check_channel(self, channel: str, ctx: Any) -> bool:
        """``watch`` from Slack: the user must be in the channel and wirewatch able to post
        there.  Unknown counts as no (fail closed), except for the channel the command came
        from, where Slack vouches for the user.  The console and ``ask`` are not checked.
        True when Slack says wirewatch can post there."""
        if ctx.front_end != "slack":
            return False
        here = channel == ctx.channel
        access = ctx.access
        if not here:
            member = (access.is_member(ctx.user, channel)
                      if access is not None and ctx.user else None)
            if member is None:
                raise Forbidden(f"I can't check that you are in #{channel}, so I won't add a "
                                f"watch there. Run the `watch` command in #{channel} itself.")
            if not member:
                raise Forbidden(f"Only members of #{channel} can add watches there. If it is "
                                f"a private channel you are in, `{INVITE}` there and run the "
                                "`watch` command from it.")
        can_post = access.bot_can_post(channel) if access is not None else None
        if can_post is False or (can_post is None and not here):
            raise Forbidden(f"wirewatch can't post in #{channel}, so a watch there would never "
                            f"alert: `{INVITE}` in #{channel} first, then try again.")
        return bool(can_post)

    def _reply(self, watch_id: int, message: str) -> WatchReply:
        w = self.store.get_watch(watch_id)
        assert w is not None
        counts = self.store.watch_counts([watch_id])[watch_id]
        return WatchReply(watch=self._view(w, counts), message=message)

    # -- commands ---------------------------------------------------------------------------

    def watch(self, request: g.Watch, ctx: Any) -> Reply:
        channel = request.channel or ctx.channel
        if (request.channel and ctx.front_end == "slack"
                and not re.fullmatch(r"[CGD][A-Z0-9]{2,20}", request.channel)):
            raise BadCommand(f"I can't tell which channel #{request.channel[:40]} is: pick it "
                             "from Slack's list when you type # so it becomes a link.")
        can_post = self._check_channel(channel, ctx)
        try:
            query = parse(request.query)
        except QueryError as exc:
            raise BadCommand(
                f"I can't read that watch query: {exc.message}",
                hint=f"```\n{exc.pointer()}\n```",
            ) from None
        try:  # compiled as the alert matcher will: what cannot be checked is not stored
            Matcher([(0, query)])
        except Exception as exc:
            log.warning("watch query %r does not compile: %s", request.query[:100], exc,
                        exc_info=True)
            raise BadCommand("I can't use that watch query: it is too complex to check. "
                             "Try fewer parentheses or exclusions.") from None
        understood = query.explain()
        if can_post:
            self.store.resume_channel(channel)  # invited back: its watches are live again
        for existing in self.store.channel_watches(channel):
            if existing.query.strip().lower() == query.text.lower():
                counts = self.store.watch_counts([existing.id])[existing.id]
                return WatchReply(
                    watch=self._view(existing, counts),
                    message=f"Already watching this here as watch {existing.id}.",
                    matches=self._recent_matches(existing.query),
                )
        if len(self.store.channel_watches(channel)) >= MAX_WATCHES_PER_CHANNEL:
            raise BadCommand(f"This channel has {MAX_WATCHES_PER_CHANNEL} watches, the limit; "
                             "`unwatch` some first.")
        now = iso(self.clock())
        watch_id = self.store.add_watch(
            channel=channel, query=query.text, understood=understood, mode=query.mode,
            created_by=ctx.user, created_at=now,
        )
        w = self.store.get_watch(watch_id)
        assert w is not None
        where = "here" if channel == ctx.channel else f"in #{channel}"
        return WatchReply(
            watch=self._view(w), message=f"Watching {where} as watch {watch_id}.",
            matches=self._recent_matches(query.text), created=True,
        )

    def _recent_matches(self, text: str) -> list[WatchMatch]:
        query = parse(text)
        found: list[WatchMatch] = []
        for article_id in self.store.recent_article_ids(RECENT_ARTICLES):
            loaded = article_doc(self.store, article_id)
            if loaded is None:
                continue
            doc, _ = loaded
            adoc = analyze(doc)
            if not matches(query, adoc):
                continue
            found.append(WatchMatch(
                article_id=doc.id, title=doc.title, date=doc.published, source=doc.source,
                url=doc.url, why=[r.text() for r in reasons(query, adoc)],
                score=score(query, adoc),
            ))
        found.sort(key=lambda m: (m.date or "", m.score), reverse=True)
        return found[:SHOW_MATCHES]

    def watches(self, request: g.Watches, ctx: Any) -> Reply:
        if (ctx.access is not None and self.store.channel_pause(ctx.channel) is not None
                and ctx.access.bot_can_post(ctx.channel)):
            self.store.resume_channel(ctx.channel)  # invited back: live again
        ws = self.store.channel_watches(ctx.channel)
        counts = self.store.watch_counts([w.id for w in ws])
        return WatchesReply(channel=ctx.channel, watches=[self._view(w, counts[w.id]) for w in ws])

    def unwatch(self, request: g.Unwatch, ctx: Any) -> Reply:
        # a listed admin may remove any watch from anywhere (one made in a DM, a broken one);
        # with WIREWATCH_ADMINS empty everyone counts as an admin, so nobody may
        listed_admin = bool(self.settings.admins) and self.settings.is_admin(ctx.user)
        w = self._own(request.id, ctx, anywhere=listed_admin)
        self.store.update_watch(w.id, active=0)
        where = "" if w.channel == ctx.channel else f" in #{w.channel}"
        return TextReply(text=f"Stopped watching {request.id}{where} (“{w.query}”).")

    def mute(self, request: g.Mute, ctx: Any) -> Reply:
        w = self._own(request.id, ctx)
        now = self.clock()
        if request.duration:
            try:
                until = now + parse_duration(request.duration)
            except ValueError:
                raise BadCommand(f"`{request.duration}` is not a duration I can use: try "
                                 "`for 2h`, `for 30m` or `for 3d` (at most a year).") from None
            when = f"until {iso(until)}"
        elif request.until:
            until = _parse_until(request.until, now)
            when = f"until {iso(until)}"
        else:
            until, when = FOREVER, "until you `unmute` it"
        self.store.update_watch(w.id, muted_until=iso(until))
        return self._reply(w.id, f"Muted watch {w.id} {when}. Matches are still recorded.")

    def unmute(self, request: g.Unmute, ctx: Any) -> Reply:
        w = self._own(request.id, ctx)
        self.store.update_watch(w.id, muted_until=None)
        return self._reply(w.id, f"Watch {w.id} is live again.")

    def digest(self, request: g.Digest, ctx: Any) -> Reply:
        w = self._own(request.id, ctx)
        if request.time is None:
            self.store.update_watch(w.id, digest_time=None, digest_last_sent=None)
            return self._reply(w.id, f"Watch {w.id} alerts as articles arrive again.")
        self.store.update_watch(
            w.id, digest_time=request.time, digest_last_sent=iso(self.clock())
        )
        return self._reply(
            w.id, f"Watch {w.id} now posts one digest a day at {request.time} UTC."
        )

    def mark_not_relevant(
        self, ctx: Any, *, alert_id: int | None = None, watch_id: int | None = None,
        article_id: int | None = None,
    ) -> Reply:
        """The "not relevant" button: recorded per (watch, article), counted in `watches`."""
        if alert_id is not None:
            alert = self.store.get_alert(alert_id)
            if alert is None:
                raise NotFound(f"There is no alert {alert_id}.")
            watch_id, article_id = alert.watch_id, alert.article_id
        if watch_id is None or article_id is None:
            raise BadCommand("Say which alert is not relevant.")
        w = self._own(watch_id, ctx, manage=False)
        if self.store.find_alert(w.id, article_id) is None:
            raise NotFound(f"Watch {w.id} never alerted on article {article_id}.")
        added = self.store.add_feedback(
            watch_id=w.id, article_id=article_id, user=ctx.user, created_at=iso(self.clock())
        )
        note = "Thanks — noted" if added else "Already noted"
        return TextReply(text=f"{note}: article {article_id} was not relevant to watch {w.id}.")


def _parse_until(text: str, now: datetime) -> datetime:
    import dateparser  # lazily: slow to import

    parsed = dateparser.parse(
        text,
        settings={
            "RELATIVE_BASE": now.astimezone(UTC).replace(tzinfo=None),
            "PREFER_DATES_FROM": "future",
            "TIMEZONE": "UTC",
            "TO_TIMEZONE": "UTC",
            "RETURN_AS_TIMEZONE_AWARE": True,
        },
    )
    if parsed is None:
        raise BadCommand(f"I can't read `{text[:40]}` as a date: try `until 2025-06-01` or "
                         "`until tomorrow 9:00`.")
    if parsed <= now:
        raise BadCommand(f"`{text[:40]}` is in the past.")
    if (parsed - now).days > 366:
        raise BadCommand("Mute for at most a year.")
    result: datetime = parsed
    return result
