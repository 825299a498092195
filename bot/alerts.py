"""The alert pipeline: new articles → matching watches → alerts (an outbox) → delivery.

- ``AlertPipeline.on_new_articles(ids, backfill)`` is the callback the feed poller calls after
  each ingest commit.  It matches the articles against every active watch (``watchlists``)
  and inserts one alert per (watch, article) — the pair is UNIQUE in the database, so
  re-polls, restarts and crashes never alert twice.  Backfill articles (a feed's first poll)
  never alert.  It returns ``{"watch_id", "channel", "article_id", "title"}`` for each new
  alert (the ``poll`` reply lists them).
- ``AlertPipeline.deliver_pending(sender, now)`` drains the outbox after commit: posts are
  paced to one per second per channel, failures are retried with backoff (the alert stays
  pending, nothing is lost), a later outlet's version of a story already posted in the
  channel goes into that post's thread, and due digests are posted as one summary each.
- ``Sender`` is what posts: ``ConsoleSender`` prints; the Slack sender lives in handlers/.

Alert statuses: pending (to post) → sent; muted (recorded, never posted); digest (waits for
the watch's daily summary; ``sent_at`` is set once summarised); failed (the sender said the
post can never succeed, e.g. the channel is gone); skipped (the watch was removed before
delivery).  A watch muted after an alert was recorded turns that alert to muted.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot.sanitize import terminal_safe
from bot.store import Store
from watchlists.decide import (
    Signature,
    digest_due,
    disposition,
    is_muted,
    iso,
    minhash,
    parse_iso,
    retry_delay,
    story_key_for,
)
from watchlists.document import Analyzed, ArticleDoc, analyze
from watchlists.matcher import Matcher, MatchResult
from watchlists.query import Query, QueryError, parse
from watchlists.relevance import reasons, score
from watchlists.storage import AlertRecord, WatchRecord

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Sleeper = Callable[[float], None]

PACE_SECONDS = 1.0  # Slack: about one message per second per channel
STORY_WINDOW = timedelta(days=7)  # near-duplicates are looked for among this week's alerts
MAX_INLINE_WAIT = 30.0  # wait this long in-process for a retry; longer → next run
TRIES_PER_RUN = 3


def _utc_now() -> datetime:
    return datetime.now(UTC)


# -- what gets posted -----------------------------------------------------------------------------


@dataclass
class WhyItem:
    label: str
    where: list[str]


@dataclass
class AlertButton:
    action_id: str
    label: str
    value: str


@dataclass
class AlertView:
    """One alert, ready for any front end to render (strings unescaped)."""

    alert_id: int
    watch_id: int
    watch_query: str
    channel: str
    article_id: int
    title: str
    url: str | None
    source: str | None
    date: str | None
    lead: str
    why: list[WhyItem]
    actors: list[str] = field(default_factory=list)
    key_event: str | None = None
    thread_reply: bool = False  # True: a later outlet's version, posted in the story's thread
    thread_of: int | None = None  # the article whose post heads the thread (== article_id:
    # the same article matched another watch of the channel: "also matches watch #N")
    buttons: list[AlertButton] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DigestView:
    """One watch's daily summary."""

    watch_id: int
    watch_query: str
    channel: str
    items: list[AlertView]
    since: str | None
    until: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Sender(Protocol):
    """Posts an alert or a digest; returns the message id (Slack: ``ts``).

    Raise ``DeliveryError`` when the post failed: with ``retry_after`` (seconds) for 429/5xx,
    ``permanent=True`` when retrying cannot help (channel gone, bot not in channel).
    """

    def post(self, channel: str, view: AlertView | DigestView, thread_ts: str | None) -> str: ...

    # Optional: ``find_posted(channel, view, thread_ts, since_iso) -> ts | None`` — whether an
    # alert whose earlier post had an unknown outcome is already in the channel.


class DeliveryError(Exception):
    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False,
        maybe_posted: bool = False, channel_error: str | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent
        # the channel refuses every post for good (``bot.access.CHANNEL_ERRORS``: the bot is
        # not in it, it is archived or gone): the channel is paused, not just this alert
        self.channel_error = channel_error
        # True when the post may have gone through (timeout, connection reset after the
        # request was sent): the next attempt looks it up first (``Sender.find_posted``)
        self.maybe_posted = maybe_posted


def alert_text(view: AlertView | DigestView) -> str:
    """Plain-text rendering (console, logs).  Slack renders Block Kit in handlers/."""
    if isinstance(view, DigestView):
        lines = [f"Daily digest for watch #{view.watch_id} “{view.watch_query}”: "
                 f"{len(view.items)} article{'s' if len(view.items) != 1 else ''}"]
        for item in view.items:
            meta = " · ".join(x for x in (item.source, item.date) if x)
            lines.append(f"  • [{item.article_id}] {item.title}" + (f" ({meta})" if meta else ""))
        return "\n".join(lines)
    meta = " · ".join(x for x in (view.source, view.date) if x)
    if view.thread_reply and view.thread_of == view.article_id:
        return (f"  ↳ Also matches watch #{view.watch_id} “{view.watch_query}”: "
                f"[{view.article_id}] {view.title}")
    if view.thread_reply:
        head = f" (thread of article [{view.thread_of}])" if view.thread_of else ""
        return (f"  ↳ Also reported by {view.source or 'another outlet'}{head}: "
                f"[{view.article_id}] {view.title}" + (f" ({view.date})" if view.date else ""))
    lines = [
        f"🔔 Watch #{view.watch_id} “{view.watch_query}” — new article",
        f"  [{view.article_id}] {view.title}" + (f"  ({meta})" if meta else ""),
        "  Why: " + "; ".join(f"{w.label} ({', '.join(w.where)})" for w in view.why),
    ]
    if view.actors:
        lines.append("  Actors: " + ", ".join(view.actors[:8]))
    if view.key_event:
        lines.append(f"  Key event: {view.key_event}")
    if view.url:
        lines.append(f"  {view.url}")
    lines.append(f"  (`mute {view.watch_id} for 24h` · `unwatch {view.watch_id}`)")
    return "\n".join(lines)


class ConsoleSender:
    """Prints alerts through a callback (the shell's ``notify``)."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self.emit = emit
        self.count = 0

    def post(self, channel: str, view: AlertView | DigestView, thread_ts: str | None) -> str:
        self.count += 1
        text = terminal_safe(alert_text(view))
        self.emit(text if channel == "console" else f"[#{terminal_safe(channel)}]\n{text}")
        return f"console.{self.count}"

    def notice(self, channel: str, text: str) -> None:
        """A one-time notice (e.g. a watch that broke); Slack's go through
        ``bot.slack_app.deliver_feed_notices``."""
        self.emit(f"⚠️ {text}" if channel == "console" else f"[#{channel}]\n⚠️ {text}")


# -- matching -------------------------------------------------------------------------------------


def article_doc(store: Store, article_id: int) -> tuple[ArticleDoc, dict[str, Any]] | None:
    """The article as the matcher sees it, with the NLP's facts when it has been analysed."""
    row = store.get_article(article_id)
    if row is None:
        return None
    facts = store.watch_article_facts(article_id)
    analysed = facts["analysed"]
    doc = ArticleDoc(
        id=row.id, title=row.title, text=row.text, source=row.source, published=row.published,
        url=row.url,
        actors=tuple(facts["actors"]) if analysed else None,
        places=tuple(facts["places"]) if analysed else None,
        event_types=tuple(facts["event_types"]) if analysed else None,
    )
    return doc, facts


def compile_watch(watch: WatchRecord) -> Query:
    """The watch's query as stored (raises ``QueryError`` when it no longer parses, e.g. a
    query stored before a limit it breaks)."""
    query = parse(watch.query)
    if watch.mode and watch.mode != query.mode:
        query = Query(text=query.text, root=query.root, mode=watch.mode)
    return query


def broken_reason(exc: Exception, stage: str) -> str:
    """Why a watch was set aside, for its channel (no internals beyond the error's type)."""
    if isinstance(exc, QueryError):
        return f"its query no longer reads: {exc.message}"
    return f"it failed while {stage} ({type(exc).__name__})"


def broken_notice(watch: WatchRecord, reason: str) -> str:
    query = watch.query if len(watch.query) <= 80 else watch.query[:80] + "…"
    return (f"Watch {watch.id} (“{query}”) is broken and no longer alerts: {reason}. Other "
            f"watches are not affected. `unwatch {watch.id}` removes it; then `watch` a "
            "simpler query.")


@dataclass
class DeliveryReport:
    sent: int = 0
    threaded: int = 0
    digests: int = 0
    retrying: int = 0
    failed: int = 0
    waiting: int = 0
    skipped: int = 0  # watch removed or muted after the alert was recorded


class AlertPipeline:
    def __init__(
        self, store: Store, *, clock: Clock = _utc_now, sleeper: Sleeper = time.sleep,
        pace: float = PACE_SECONDS,
    ) -> None:
        self.store = store
        self.clock = clock
        self.sleeper = sleeper
        self.pace = pace
        self._matcher: Matcher | None = None
        self._matcher_key: tuple[tuple[int, str, str], ...] = ()
        self._watches: dict[int, WatchRecord] = {}
        self._queries: dict[int, Query] = {}  # the compiled query of each indexed watch
        self._last_post: dict[str, datetime] = {}
        self._lock = threading.RLock()  # the poller's threads and the scheduler share this

    # -- matching ---------------------------------------------------------------------------

    def matcher(self) -> tuple[Matcher, dict[int, WatchRecord]]:
        """The index of active watches, rebuilt only when the set of watches changed.

        Each watch is compiled on its own: one that cannot be (a query that no longer
        parses, a compile that raises) is marked broken and left out; the others are indexed.
        """
        watches = [w for w in self.store.active_watches() if w.broken is None]
        key = tuple((w.id, w.query, w.mode) for w in watches)
        if self._matcher is None or key != self._matcher_key:
            matcher = Matcher()
            queries: dict[int, Query] = {}
            for w in watches:
                try:
                    query = compile_watch(w)
                    matcher.add(w.id, query)
                except Exception as exc:  # this watch only: the others still alert
                    self._set_aside(w, broken_reason(exc, "being compiled"), exc)
                    continue
                queries[w.id] = query
            watches = [w for w in watches if w.id in queries]
            key = tuple((w.id, w.query, w.mode) for w in watches)
            self._matcher, self._queries, self._matcher_key = matcher, queries, key
        self._watches = {w.id: w for w in watches}
        return self._matcher, self._watches

    def _set_aside(self, watch: WatchRecord, reason: str, exc: Exception) -> None:
        """Mark ``watch`` broken (once) and tell its channel; it is no longer matched."""
        log.warning("watch %s is set aside as broken: %s (%s)", watch.id, reason,
                    type(exc).__name__, exc_info=not isinstance(exc, QueryError))
        self.store.mark_watch_broken(watch.id, reason, broken_notice(watch, reason),
                                     iso(self.clock()))
        if self._matcher is not None:
            self._matcher.remove(watch.id)
        self._queries.pop(watch.id, None)
        self._watches.pop(watch.id, None)
        self._matcher_key = ()  # rebuilt from the store next time (e.g. if this rolls back)

    def on_new_articles(self, article_ids: Sequence[int], backfill: bool) -> list[dict[str, Any]]:
        """Match new articles and record their alerts (the outbox).  Backfill never alerts."""
        if backfill or not article_ids:
            return []
        with self._lock:
            return self._on_new_articles(article_ids)

    def _on_new_articles(self, article_ids: Sequence[int]) -> list[dict[str, Any]]:
        matcher, watches = self.matcher()
        if not len(matcher):
            return []
        now = self.clock()
        paused = self.store.paused_channels()
        created: list[dict[str, Any]] = []
        with self.store.transaction():
            for article_id in article_ids:
                loaded = article_doc(self.store, article_id)
                if loaded is None:
                    continue
                doc, _ = loaded
                adoc = analyze(doc)
                result = matcher.match_isolated(adoc)
                if result.failed:
                    self._match_failed(article_id, result, watches)
                matched = [w for w in result.matched if w in watches]
                if not matched:
                    continue
                signature = minhash(f"{doc.title}\n{doc.text}")
                self.store.save_signature(article_id, signature)
                for watch_id in matched:
                    watch = watches[watch_id]
                    try:
                        why, rank = self._why(watch_id, adoc)
                    except Exception as exc:  # this watch only
                        self._set_aside(watch, broken_reason(exc, "explaining a match"), exc)
                        continue
                    alert_id = self._record(watch, adoc, signature, now, why, rank,
                                            paused=watch.channel in paused)
                    if alert_id is not None:
                        created.append({
                            "watch_id": watch_id, "channel": watch.channel,
                            "article_id": article_id, "title": doc.title,
                            "alert_id": alert_id,
                        })
        return created

    def _match_failed(
        self, article_id: int, result: MatchResult, watches: dict[int, WatchRecord]
    ) -> None:
        """Some watches' checks raised on this article (the others were checked).  A few
        failing among many is those watches' fault: they are set aside.  When most of the
        checked watches fail, the article is at fault (a hostile or odd article must not
        switch off everyone's watches): they only miss this article."""
        failed = result.failed
        if len(failed) > 1 and 2 * len(failed) > result.checked:
            first = next(iter(failed.values()))
            log.error("article %s made %d of %d watches fail (%s); they skip it",
                      article_id, len(failed), result.checked, type(first).__name__,
                      exc_info=first)
            return
        for watch_id, exc in failed.items():
            watch = watches.get(watch_id)
            if watch is not None:
                self._set_aside(watch, broken_reason(exc, "checking an article"), exc)

    def _why(self, watch_id: int, adoc: Analyzed) -> tuple[list[dict[str, Any]], float]:
        query = self._queries[watch_id]
        why = [{"label": r.label, "where": list(r.where)} for r in reasons(query, adoc)]
        return why, score(query, adoc)

    def _record(
        self, watch: WatchRecord, adoc: Analyzed, signature: Signature, now: datetime,
        why: list[dict[str, Any]], rank: float, *, paused: bool = False,
    ) -> int | None:
        earlier = self.store.recent_signatures(watch.channel, iso(now - STORY_WINDOW))
        story = story_key_for(adoc.id, signature, earlier)
        status = "paused" if paused else disposition(  # paused: recorded, never posted
            muted_until=watch.muted_until, digest_time=watch.digest_time, now=now
        )
        return self.store.insert_alert(
            watch_id=watch.id, article_id=adoc.id, channel=watch.channel, status=status,
            reason=json.dumps({"why": why, "score": rank}), story_key=story,
            created_at=iso(now),
        )

    # -- views ------------------------------------------------------------------------------

    def view(self, alert: AlertRecord, *, thread_of: int | None = None) -> AlertView | None:
        watch = self.store.get_watch(alert.watch_id)
        row = self.store.get_article(alert.article_id)
        if watch is None or row is None:
            return None
        facts = self.store.watch_article_facts(alert.article_id)
        reason = json.loads(alert.reason or "{}")
        key_event = None
        if facts["key_event"]:
            ev = facts["key_event"]
            key_event = f"{ev['type']}: {ev['sentence']}" if ev.get("sentence") else ev["type"]
        lead = row.text.split("\n\n", 1)[0]
        if len(lead) > 300:
            lead = lead[:300].rsplit(" ", 1)[0] + "…"
        return AlertView(
            alert_id=alert.id, watch_id=watch.id, watch_query=watch.query,
            channel=alert.channel, article_id=row.id, title=row.title, url=row.url,
            source=row.source, date=row.published, lead=lead,
            why=[WhyItem(w["label"], list(w["where"])) for w in reason.get("why", [])],
            actors=list(facts["actors"]), key_event=key_event,
            thread_reply=thread_of is not None, thread_of=thread_of,
            # action ids and values as handlers/actions.py (branch slack) routes them
            buttons=[
                AlertButton("ww_mute", "Mute 24 h", str(watch.id)),
                AlertButton("ww_unwatch", "Unwatch", str(watch.id)),
                AlertButton("ww_not_relevant", "Not relevant", f"{watch.id}:{row.id}"),
            ],
        )

    # -- delivery ---------------------------------------------------------------------------

    def _wait_turn(self, channel: str) -> None:
        last = self._last_post.get(channel)
        if last is not None:
            wait = (last + timedelta(seconds=self.pace) - self.clock()).total_seconds()
            if wait > 0:
                self.sleeper(wait)

    def _post(
        self, sender: Sender, channel: str, view: AlertView | DigestView, thread_ts: str | None
    ) -> str:
        self._wait_turn(channel)
        try:
            return sender.post(channel, view, thread_ts)
        finally:
            self._last_post[channel] = self.clock()

    def deliver_pending(
        self, sender: Sender, now: datetime | None = None, *,
        channels: Callable[[str], bool] | None = None,
    ) -> DeliveryReport:
        """Post what the outbox holds, then any due digests.  Safe to call at any time.

        ``channels`` limits delivery to the channels it accepts: the console shell delivers
        only ``"console"``, the Slack sender everything else, so neither takes the other's.
        """
        with self._lock:
            return self._deliver_pending(sender, now, channels)

    def _deliver_pending(
        self, sender: Sender, now: datetime | None, channels: Callable[[str], bool] | None
    ) -> DeliveryReport:
        report = DeliveryReport()
        now = now or self.clock()
        self._deliver_notices(sender, channels)
        blocked: set[str] = set()  # a channel whose head alert failed keeps its order
        # alerts waiting for a later retry hold back the later alerts of their channel
        heads = self.store.alert_retry_heads(iso(now))
        paused = self.store.paused_channels()
        for alert in self.store.pending_alerts(iso(now), limit=500):
            if channels is not None and not channels(alert.channel):
                continue
            if alert.channel in paused:  # Slack refuses this channel for good: never retry
                self.store.update_alert(alert.id, status="paused",
                                        error=f"channel paused: {paused[alert.channel]}")
                report.skipped += 1
                continue
            head = heads.get(alert.channel)
            if alert.channel in blocked or (head is not None and alert.id > head):
                report.waiting += 1
                continue
            watch = self.store.get_watch(alert.watch_id)
            if watch is None or not watch.active:  # unwatched since: never post
                self.store.update_alert(alert.id, status="skipped", error="watch removed")
                report.skipped += 1
                continue
            if is_muted(watch.muted_until, now):  # muted since: record only
                self.store.update_alert(alert.id, status="muted")
                report.skipped += 1
                continue
            thread_ts = None
            thread_of = None
            if alert.story_key:
                root = self.store.story_root(alert.channel, alert.story_key, alert.id)
                if root is not None:
                    if root.status != "sent" or not root.ts:
                        report.waiting += 1  # the story's first post is not out yet
                        continue
                    thread_ts, thread_of = root.ts, root.article_id
            view = self.view(alert, thread_of=thread_of)
            if view is None:  # article deleted: nothing to post
                self.store.update_alert(alert.id, status="failed", error="article gone")
                report.failed += 1
                continue
            ts = self._attempt(sender, alert, view, thread_ts, report)
            if ts is None:
                blocked.add(alert.channel)
                if (error := self.store.channel_pause(alert.channel)) is not None:
                    paused[alert.channel] = error
                continue
            self.store.update_alert(
                alert.id, status="sent", ts=ts, thread_ts=thread_ts,
                sent_at=iso(self.clock()), attempts=alert.attempts + 1, error=None,
            )
            report.sent += 1
            if thread_ts:
                report.threaded += 1
        report.digests = self.deliver_digests(sender, now, channels=channels)
        return report

    def _deliver_notices(self, sender: Sender, channels: Callable[[str], bool] | None) -> None:
        """One-time watch notices, for a sender that shows them (``notice``: the console)."""
        notice = getattr(sender, "notice", None)
        if notice is None:
            return
        for row in self.store.pending_watch_notices():
            channel = str(row["channel"])
            if channels is not None and not channels(channel):
                continue
            notice(channel, str(row["text"]))
            self.store.mark_feed_notice_delivered(int(row["id"]), iso(self.clock()))

    def _attempt(
        self, sender: Sender, alert: AlertRecord, view: AlertView, thread_ts: str | None,
        report: DeliveryReport,
    ) -> str | None:
        attempts = alert.attempts
        # a post was started earlier (crash, timeout, reset) and its outcome is unknown: ask
        # the sender whether it went through before posting again (no doubled alert)
        posting_at = alert.posting_at
        uncertain = posting_at is not None
        for try_no in range(1, TRIES_PER_RUN + 1):
            try:
                if uncertain:
                    found = self._find_posted(sender, alert, view, thread_ts, posting_at)
                    if found is not None:
                        log.info("alert %s was already posted (%s); not posting again",
                                 alert.id, found)
                        return found
                    uncertain = False
                # recorded (committed) before the post: a crash from here on is reconciled
                posting_at = iso(self.clock())
                self.store.update_alert(alert.id, posting_at=posting_at)
                uncertain = True
                return self._post(sender, alert.channel, view, thread_ts)
            except DeliveryError as exc:
                if uncertain and not exc.maybe_posted:  # refused for sure: nothing went out
                    self.store.update_alert(alert.id, posting_at=None)
                    uncertain = False
                attempts += 1
                if exc.permanent:
                    self.store.update_alert(
                        alert.id, status="failed", attempts=attempts, error=str(exc)[:500]
                    )
                    if exc.channel_error:
                        self._pause(alert.channel, exc.channel_error)
                    report.failed += 1
                    log.warning("alert %s cannot be posted: %s", alert.id, exc)
                    return None
                delay = retry_delay(attempts, exc.retry_after)
                if try_no < TRIES_PER_RUN and delay <= MAX_INLINE_WAIT:
                    self.sleeper(delay)
                    continue
                self.store.update_alert(
                    alert.id, attempts=attempts, error=str(exc)[:500],
                    next_attempt_at=iso(self.clock() + timedelta(seconds=delay)),
                )
                report.retrying += 1
                log.info("alert %s will be retried in %.0fs: %s", alert.id, delay, exc)
                return None
            except Exception as exc:
                # a bug in a sender: keep the alert pending and let the caller log it
                later = self.clock() + timedelta(seconds=retry_delay(attempts + 1))
                self.store.update_alert(
                    alert.id, attempts=attempts + 1, error=f"{type(exc).__name__}: {exc}"[:500],
                    next_attempt_at=iso(later),
                )
                raise
        return None  # pragma: no cover - the loop always returns

    def _pause(self, channel: str, error: str) -> None:
        """The channel refuses every post: pause its watches (``watches`` says why)."""
        self.store.pause_channel(channel, error, iso(self.clock()))
        log.warning("channel %s refuses wirewatch's posts (%s): its watches are paused",
                    channel, error)

    def _find_posted(
        self, sender: Sender, alert: AlertRecord, view: AlertView, thread_ts: str | None,
        since: str | None,
    ) -> str | None:
        """The ts of this alert's post if the sender can tell it went out (``find_posted``);
        None when it did not or the sender cannot tell (the console: post again)."""
        finder = getattr(sender, "find_posted", None)
        if finder is None or since is None:
            return None
        found = finder(alert.channel, view, thread_ts, since)
        return str(found) if found else None

    def deliver_digests(
        self, sender: Sender, now: datetime | None = None, *,
        channels: Callable[[str], bool] | None = None,
    ) -> int:
        """Post each due digest as one summary; returns how many were posted."""
        now = now or self.clock()
        posted = 0
        paused = self.store.paused_channels()
        for watch in self.store.active_watches():
            if not watch.digest_time or (channels is not None and not channels(watch.channel)):
                continue
            if watch.channel in paused:
                continue
            last = parse_iso(watch.digest_last_sent) if watch.digest_last_sent else None
            if last is None:
                self.store.update_watch(watch.id, digest_last_sent=iso(now))
                continue
            if not digest_due(watch.digest_time, last, now):
                continue
            items = self.store.digest_alerts(watch.id)
            views = [v for a in items if (v := self.view(a)) is not None]
            if views:
                digest = DigestView(
                    watch_id=watch.id, watch_query=watch.query, channel=watch.channel,
                    items=views, since=watch.digest_last_sent, until=iso(now),
                )
                try:
                    # a crash (or timeout) after an earlier post of this digest: find it
                    # instead of posting it twice (same watch, same ``since``)
                    finder = getattr(sender, "find_posted", None)
                    found = (finder(watch.channel, digest, None, watch.digest_last_sent)
                             if finder is not None else None)
                    ts = str(found) if found else self._post(sender, watch.channel, digest, None)
                except DeliveryError as exc:
                    if exc.channel_error:
                        self._pause(watch.channel, exc.channel_error)
                        paused[watch.channel] = exc.channel_error
                    log.info("digest of watch %s will be retried: %s", watch.id, exc)
                    continue  # digest_last_sent unchanged: due again next run
                sent_at = iso(self.clock())
                with self.store.transaction():
                    for a in items:
                        self.store.update_alert(a.id, ts=ts, sent_at=sent_at)
                    self.store.update_watch(watch.id, digest_last_sent=iso(now))
                posted += 1
            else:
                self.store.update_watch(watch.id, digest_last_sent=iso(now))
        return posted
