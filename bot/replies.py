"""Typed replies of the service.  ``to_dict()`` gives the ``--json`` contract of DESIGN.md.

Replies hold plain data (untrusted strings unescaped); each front end renders and escapes
them its own way (``bot.render`` for the console, ``handlers.blocks`` for Slack).
Highlighted terms in search snippets are wrapped in ``store.HL_START``/``HL_END``; in JSON
they become ``**term**``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from bot.store import HL_END, HL_START


def plain_highlight(text: str, start: str = "**", end: str = "**") -> str:
    return text.replace(HL_START, start).replace(HL_END, end)


@dataclass
class Reply:
    kind: ClassVar[str] = "reply"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}

    @property
    def is_error(self) -> bool:
        return False


@dataclass
class ErrorReply(Reply):
    kind: ClassVar[str] = "error"
    message: str
    code: str = "error"
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return True


@dataclass
class TextReply(Reply):
    """A short confirmation or notice."""

    kind: ClassVar[str] = "text"
    text: str


@dataclass
class HelpEntry:
    name: str
    usage: str
    summary: str
    examples: list[str] = field(default_factory=list)


@dataclass
class HelpReply(Reply):
    kind: ClassVar[str] = "help"
    topic: str | None
    commands: list[HelpEntry]
    intro: str | None = None


@dataclass
class SearchHit:
    article_id: int
    title: str
    snippet: str
    date: str | None
    source: str | None
    url: str | None
    score: float


@dataclass
class SearchReply(Reply):
    kind: ClassVar[str] = "search"
    query: str
    total: int
    results: list[SearchHit]
    page: int = 1
    broadened: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        for hit in out["results"]:
            hit["snippet"] = plain_highlight(hit["snippet"])
        return out


@dataclass
class ActorRef:
    id: int
    name: str
    type: str


@dataclass
class QuoteView:
    text: str
    speaker: str | None
    article_id: int | None = None


@dataclass
class EventView:
    id: int
    type: str
    date: str | None
    date_text: str | None
    actors: list[str]
    targets: list[str]
    place: str | None
    quantity: str | None
    negated: bool
    sentence: str
    article_id: int
    sources: list[int]
    modality: str | None = None
    origin: str | None = None
    destination: str | None = None
    via: str | None = None
    cameo: str | None = None
    date_precision: str | None = None


@dataclass
class ArticleView:
    id: int
    title: str
    date: str | None
    date_precision: str | None
    source: str | None
    author: str | None
    url: str | None
    dateline: str | None
    feed_id: int | None
    words: int
    lead: str
    actors: list[ActorRef] = field(default_factory=list)
    events: list[EventView] = field(default_factory=list)
    quotes: list[QuoteView] = field(default_factory=list)


@dataclass
class ArticleReply(Reply):
    kind: ClassVar[str] = "article"
    article: ArticleView


@dataclass
class FeedView:
    id: int
    url: str
    title: str | None
    status: str
    last_polled: str | None
    next_check: str | None
    error: str | None
    articles: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> FeedView:
        """A feed as the store returns it (``list_feeds``/``feed_health`` rows)."""
        return cls(
            id=int(row["id"]), url=row["url"], title=row.get("title"), status=row["status"],
            last_polled=row.get("last_polled"), next_check=row.get("next_check"),
            error=row.get("error"), articles=int(row.get("articles") or 0),
        )


@dataclass
class StatusReply(Reply):
    kind: ClassVar[str] = "status"
    articles: int
    actors: int
    events: int
    quotes: int
    watches: int
    alerts: int
    alerts_pending: int
    feeds: list[FeedView]
    last_poll: str | None
    database: str
    nlp: str | None = None


# -- feeds ------------------------------------------------------------------------------------


@dataclass
class FeedReply(Reply):
    """`feed add`: the feed, and what its first (backfill) poll indexed."""

    kind: ClassVar[str] = "feed"
    feed: FeedView
    created: bool = True
    new_articles: int = 0
    entries: int = 0
    discovered_from: str | None = None
    message: str | None = None


@dataclass
class FeedsReply(Reply):
    kind: ClassVar[str] = "feeds"
    feeds: list[FeedView]


@dataclass
class FeedImportReply(Reply):
    kind: ClassVar[str] = "feed_import"
    added: list[FeedView]
    already: int = 0
    skipped: list[str] = field(default_factory=list)
    # why each skipped entry was refused (the checks of `feed add`): {"url", "why"}
    refused: list[dict[str, str]] = field(default_factory=list)


@dataclass
class PollReply(Reply):
    """`poll`: feeds checked, new articles, alerts created, errors in plain words."""

    kind: ClassVar[str] = "poll"
    feeds: int
    new_articles: int
    alerts: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    not_modified: int = 0
    article_ids: list[int] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)
    # feeds a manual poll left alone: {"feed_id", "label", "until", "why"}
    skipped: list[dict[str, Any]] = field(default_factory=list)
    deferred: int = 0  # due feeds the round's time budget did not reach (still due)
    message: str | None = None  # nothing fetched: rate-limited, or a round is running

# -- nlp: actor profiles, choices, timelines --------------------------------------------------


@dataclass
class ArticleRef:
    id: int
    title: str
    date: str | None
    source: str | None
    url: str | None


@dataclass
class RoleView:
    role: str
    date: str | None
    article_id: int | None


@dataclass
class RelatedActor:
    name: str
    count: int


@dataclass
class QuoteRef:
    """A quote in an actor's profile: where and when it was said."""

    text: str
    article_id: int
    speaker: str | None = None
    date: str | None = None


@dataclass
class ActorProfile:
    id: int
    name: str
    type: str
    aliases: list[str]
    roles: list[RoleView]
    mentions: int
    articles: list[ArticleRef]
    quotes: list[QuoteRef]
    events: list[EventView]
    related: list[RelatedActor]
    first_seen: str | None = None
    last_seen: str | None = None
    # how many there are in all: the lists above hold the first ones only (a popular actor
    # has tens of thousands of articles and quotes at a large index)
    articles_total: int = 0
    quotes_total: int = 0
    events_total: int = 0


@dataclass
class ActorReply(Reply):
    kind: ClassVar[str] = "actor"
    actor: ActorProfile


@dataclass
class ActorChoice:
    id: int
    name: str
    type: str
    mentions: int


@dataclass
class ChoicesReply(Reply):
    kind: ClassVar[str] = "choices"
    query: str
    choices: list[ActorChoice]


@dataclass
class NotFoundReply(Reply):
    kind: ClassVar[str] = "not_found"
    query: str
    suggestions: list[str]
    message: str = ""


@dataclass
class EventsReply(Reply):
    kind: ClassVar[str] = "events"
    topic: str | None
    since: str | None
    until: str | None
    events: list[EventView]
    total: int = 0
    actor: str | None = None


# -- watch ------------------------------------------------------------------------------------


@dataclass
class WatchView:
    id: int
    channel: str
    query: str
    understood: str
    mode: str = "central"
    created_by: str | None = None
    created_at: str | None = None
    muted_until: str | None = None
    digest_time: str | None = None
    alerts: int = 0
    not_relevant: int = 0
    # why nothing is posted: Slack refuses wirewatch in the channel (``bot.access``)
    paused: str | None = None
    broken: str | None = None  # why it no longer alerts (it cannot be checked); None: fine


@dataclass
class WatchMatch:
    """A recent article the watch would have matched."""

    article_id: int
    title: str
    date: str | None
    source: str | None
    url: str | None
    why: list[str]
    score: float


@dataclass
class WatchReply(Reply):
    """``watch`` and the commands that change one watch (mute, unmute, digest)."""

    kind: ClassVar[str] = "watch"
    watch: WatchView
    message: str
    matches: list[WatchMatch] = field(default_factory=list)
    created: bool = False


@dataclass
class WatchesReply(Reply):
    kind: ClassVar[str] = "watches"
    channel: str
    watches: list[WatchView]
