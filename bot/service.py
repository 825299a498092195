"""The service: ``text → Reply``, the same for every front end.  No Slack imports here.

``Service.handle(text, ctx)`` parses with ``bot.grammar``, runs the request and returns a
typed reply.  A ``UserError`` becomes an ``ErrorReply``; anything else propagates, so the
front end can log it with its traceback and show a short apology.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot import grammar as g
from bot.access import ChannelAccess
from bot.errors import BadCommand, NotAvailable, NotFound, UserError
from bot.replies import (
    ArticleReply,
    ArticleView,
    ErrorReply,
    FeedView,
    HelpEntry,
    HelpReply,
    Reply,
    SearchHit,
    SearchReply,
    StatusReply,
)
from bot.settings import Settings
from bot.store import Store

Clock = Callable[[], datetime]
PAGE_SIZE = 10


def utc_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Context:
    """Who is asking, and where."""

    channel: str = "console"
    user: str | None = None
    front_end: str = "console"  # "console" | "slack" | "ask"
    # Slack: who is in which channel (``bot.access``); None on the console and in ``ask``
    access: ChannelAccess | None = field(default=None, compare=False, repr=False)
    # "command" (typed), "button" (a button on a message in ``channel``) or "home" (an App
    # Home button: ``channel`` is the watch's own, so its authority is checked again)
    via: str = "command"


class Service:
    def __init__(self, store: Store, settings: Settings, *, clock: Clock = utc_clock) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self._routes: dict[type[Any], Callable[[Any, Context], Reply]] = {
            g.Search: self.search,
            g.Article: self.article,
            g.Status: self.status,
            g.Help: self.help,
            # -- feeds --
            g.Feeds: self.feeds,
            g.FeedAdd: self.feed_add,
            g.FeedRemove: self.feed_remove,
            g.FeedImport: self.feed_import,
            g.Poll: self.poll,
        }
        self.feed_commands: Any = None  # a bot.feeds.commands.FeedCommands, set by wiring

        # -- nlp routes
        self._routes[g.Who] = self.who
        self._routes[g.Events] = self.events
        self._routes[g.Article] = self.article_with_nlp
        self._routes[g.Status] = self.status_with_nlp
        # -- end nlp routes


        # -- watch: watch, watches, unwatch, mute, unmute, digest --
        from bot.watch_commands import WatchCommands

        self.watch_commands = WatchCommands(store, settings, clock=lambda: self.clock())
        self._routes.update(self.watch_commands.routes())

    # -- entry points -------------------------------------------------------------------------

    def handle(self, text: str, ctx: Context | None = None) -> Reply:
        ctx = ctx or Context()
        try:
            request = g.parse(text)
            return self.execute(request, ctx)
        except UserError as exc:
            return ErrorReply(message=exc.message, code=exc.code, hint=exc.hint)

    def execute(self, request: g.Request, ctx: Context) -> Reply:
        route = self._routes.get(type(request))
        if route is None:
            name = type(request).__name__.lower()
            raise NotAvailable(f"`{name}` is not available yet in this version of wirewatch.")
        return route(request, ctx)

    # -- commands -----------------------------------------------------------------------------

    def help(self, request: g.Help, ctx: Context) -> Reply:
        entries = [
            HelpEntry(c.name, c.usage, c.summary, list(c.examples))
            for c in g.COMMANDS
            if request.topic is None or c.name == request.topic
        ]
        intro = None if request.topic else (
            "wirewatch follows a news story: ask who someone is, what happened, search the "
            "articles, and watch feeds for new ones."
        )
        return HelpReply(topic=request.topic, commands=entries, intro=intro)

    def search(self, request: g.Search, ctx: Context) -> Reply:
        offset = (request.page - 1) * PAGE_SIZE
        total, rows, broadened = self.store.search(request.query, limit=PAGE_SIZE, offset=offset)
        if total == 0 and not rows and not any(ch.isalnum() for ch in request.query):
            raise BadCommand("Search for words or \"a phrase\"; that query has neither.")
        hits = [
            SearchHit(
                article_id=r.article_id, title=r.title, snippet=r.snippet, date=r.date,
                source=r.source, url=r.url, score=r.score,
            )
            for r in rows
        ]
        return SearchReply(
            query=request.query, total=total, results=hits, page=request.page,
            broadened=broadened,
        )

    def article(self, request: g.Article, ctx: Context) -> Reply:
        row = self.store.get_article(request.id)
        if row is None:
            raise NotFound(
                f"There is no article {request.id}. `search` shows article IDs."
            )
        lead = row.text.split("\n\n", 1)[0]
        if len(lead) > 400:
            lead = lead[:400].rsplit(" ", 1)[0] + "…"
        view = ArticleView(
            id=row.id,
            title=row.title,
            date=row.published,
            date_precision=row.published_precision,
            source=row.source,
            author=row.author,
            url=row.url,
            dateline=row.dateline,
            feed_id=row.feed_id,
            words=len(row.text.split()),
            lead=lead,
        )
        return ArticleReply(article=view)

    def status(self, request: g.Status, ctx: Context) -> Reply:
        counts = self.store.counts()
        feeds = [FeedView.from_row(f) for f in self.store.feed_health()]
        return StatusReply(
            articles=counts["articles"],
            actors=counts["actors"],
            events=counts["events"],
            quotes=counts["quotes"],
            watches=counts["watches"],
            alerts=counts["alerts"],
            alerts_pending=counts["alerts_pending"],
            feeds=feeds,
            last_poll=self.store.last_poll(),
            database=self.store.path,
        )

    # -- feeds ----------------------------------------------------------------------------------

    def _feeds(self) -> Any:
        if self.feed_commands is None:
            raise NotAvailable("Feeds are not set up in this build of wirewatch.")
        return self.feed_commands

    def feeds(self, request: g.Feeds, ctx: Context) -> Reply:
        reply: Reply = self._feeds().list()
        return reply

    def feed_add(self, request: g.FeedAdd, ctx: Context) -> Reply:
        reply: Reply = self._feeds().add(request.url, user=ctx.user, channel=ctx.channel)
        return reply

    def feed_remove(self, request: g.FeedRemove, ctx: Context) -> Reply:
        reply: Reply = self._feeds().remove(request.id, user=ctx.user)
        return reply

    def feed_import(self, request: g.FeedImport, ctx: Context) -> Reply:
        reply: Reply = self._feeds().import_opml(
            request.source, user=ctx.user, front_end=ctx.front_end, channel=ctx.channel
        )
        return reply

    def poll(self, request: g.Poll, ctx: Context) -> Reply:
        reply: Reply = self._feeds().poll(channel=ctx.channel)
        return reply

    # -- nlp: who, events, and the actors/events/quotes of an article ------------------------

    def _lookups(self) -> Any:
        from bot.nlp.canon import user_alias_path
        from bot.nlp.lookups import Lookups

        extra = user_alias_path(self.settings.db_path)
        return Lookups(self.store, str(extra) if extra and extra.is_file() else None)

    def who(self, request: g.Who, ctx: Context) -> Reply:
        reply: Reply = self._lookups().who(request.name)
        return reply

    def events(self, request: g.Events, ctx: Context) -> Reply:
        today = self.clock().date()
        reply: Reply = self._lookups().events(
            request.topic, request.since, request.until, today=today
        )
        return reply

    def article_with_nlp(self, request: g.Article, ctx: Context) -> Reply:
        reply = self.article(request, ctx)
        if isinstance(reply, ArticleReply):
            actors, events, quotes = self._lookups().article_parts(reply.article.id)
            reply.article.actors, reply.article.events = actors, events
            reply.article.quotes = quotes
        return reply

    def status_with_nlp(self, request: g.Status, ctx: Context) -> Reply:
        from bot.nlp import NLP_VERSION, model_order

        reply = self.status(request, ctx)
        if isinstance(reply, StatusReply):
            done = self.store.nlp_analysed_count(NLP_VERSION)
            models = ", ".join(model_order(self.settings.spacy_model))
            failed = self.store.nlp_failed_count(NLP_VERSION)
            reply.nlp = (
                f"{done} of {reply.articles} articles analysed (v{NLP_VERSION})"
                + (f", {failed} could not be analysed (see the log)" if failed else "")
                + f"; model: the first that loads of {models}"
            )
        return reply


    # -- watch ----------------------------------------------------------------------------------

    def mark_not_relevant(
        self, ctx: Context, *, alert_id: int | None = None, watch_id: int | None = None,
        article_id: int | None = None,
    ) -> Reply:
        """The alert's "not relevant" button (by alert id, or watch id + article id)."""
        try:
            return self.watch_commands.mark_not_relevant(
                ctx, alert_id=alert_id, watch_id=watch_id, article_id=article_id
            )
        except UserError as exc:
            return ErrorReply(message=exc.message, code=exc.code, hint=exc.hint)

    def bot_joined(self, channel: str) -> bool:
        """wirewatch was added to ``channel``: its paused watches are live again."""
        return self.store.resume_channel(channel)

    def not_relevant(self, watch_id: int, article_id: int, ctx: Context) -> Reply:
        """The Slack button's call (``handlers/actions.py``: value ``WATCH_ID:ARTICLE_ID``)."""
        return self.mark_not_relevant(ctx, watch_id=watch_id, article_id=article_id)
