"""Polling: fetch due feeds concurrently, parse them, and write new articles with ONE writer.

``Poller.poll_due(now)`` picks the feeds whose ``next_check`` has come and fetches them on a
bounded thread pool through a per-host queue: the calling thread hands a feed to a worker only
when a worker is free AND its host has fewer than ``per_host`` fetches in flight, so no worker
ever sits waiting for a host while feeds of other hosts wait.  As each fetch completes — so a
slow feed never delays the others — the calling thread indexes the new entries through
``bot.ingest.ingest_drafts`` (one feed at a time, under the write lock: the only writer),
remembers every entry key in ``feed_entries`` and sets the feed's next check:

* success: ``poll_seconds`` (or longer when ``Retry-After``, ``Cache-Control: max-age`` or the
  feed's ``<ttl>`` asks), plus up to 10 % jitter;
* slow success (the fetch took over ``SLOW_SECONDS``): its entries are read, but it backs off
  like a failure (``slow_count`` in a row) and shows status "slow" with the reason; slowness
  never disables a feed;
* failure: exponential backoff from ``poll_seconds`` (at least ``Retry-After``); after
  ``MAX_FAILURES`` failures in a row in scheduled rounds the feed is disabled and each channel
  that follows it gets one notice.

A round stops handing out feeds after ``ROUND_BUDGET_SECONDS``: the feeds it did not reach
keep their ``next_check`` (still due, first in line next round) and the report says how many.

A manual poll (``poll_manual``, the `poll` command) waits at most ``MANUAL_WAIT_SECONDS`` for a
running round (then answers that one is running), fetches
only feeds outside their ``hold_until`` window (a Retry-After pause, a backoff or slowness
window) and reports the others as skipped with the time they are held until; its failures set
the backoff window but never count toward disabling.  ``apply_fetched`` (``feed add``) takes
no poll lock: it claims the new feed and waits at most for one feed's write.

A feed's first successful poll is a *backfill*: its articles are indexed, and
``on_new_articles(ids, backfill=True)`` lets the alerting side stay quiet about them.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from bot.feeds.fetch import FetchError, FetchResult
from bot.feeds.parse import NotAFeed, ParsedEntry, ParsedFeed, parse_feed
from bot.ingest import Analyzer, ArticleDraft, ingest_drafts
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
NewArticlesCallback = Callable[[list[int], bool], list[dict[str, Any]]]

MAX_FAILURES = 5
SLOW_SECONDS = 10.0  # a fetch that succeeds but takes longer counts toward backoff
ROUND_BUDGET_SECONDS = 300.0  # a round hands out no new fetch after this long
MANUAL_WAIT_SECONDS = 15.0  # a manual poll waits this long for a running round, then answers
MAX_BACKOFF_SECONDS = 6 * 3600
MAX_INTERVAL_SECONDS = 24 * 3600
JITTER = 0.10


class FetcherLike(Protocol):
    def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult: ...


def iso(moment: datetime) -> str:
    """The one timestamp format of the feeds tables (UTC, seconds), so strings compare."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Notice:
    """A one-time message for a channel (e.g. "feed 3 was disabled")."""

    feed_id: int
    channel: str
    text: str
    id: int | None = None


@dataclass
class FeedOutcome:
    """What fetching (and parsing) one feed produced; made on a worker thread."""

    feed: dict[str, Any]
    result: FetchResult | None = None
    parsed: ParsedFeed | None = None
    error: str | None = None
    retry_after: float | None = None
    elapsed: float = 0.0  # seconds the fetch took (wall clock)


@dataclass
class FeedPollResult:
    feed_id: int
    url: str
    title: str | None
    status: str  # "ok" | "not_modified" | "failing" | "disabled"
    new_articles: int = 0
    entries: int = 0  # distinct entries (copies of one story collapsed)
    found: int = 0  # entries feedparser found
    backfill: bool = False
    error: str | None = None
    next_check: str | None = None


@dataclass
class SkippedFeed:
    """A feed a manual poll did not fetch: it is in a Retry-After, backoff or slowness window."""

    feed_id: int
    label: str
    until: str
    why: str


@dataclass
class PollReport:
    feeds: int = 0
    new_article_ids: list[int] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    results: list[FeedPollResult] = field(default_factory=list)
    not_modified: int = 0
    manual: bool = False  # a `poll` command: failures never disable a feed
    skipped: list[SkippedFeed] = field(default_factory=list)
    deferred: int = 0  # due feeds the round's time budget did not reach (still due)
    budget_seconds: float = 0.0
    busy_since: str | None = None  # a manual poll found a round running since then

    @property
    def new_articles(self) -> int:
        return len(self.new_article_ids)


def feed_label(feed: dict[str, Any]) -> str:
    return str(feed.get("title") or feed.get("url"))


class Poller:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        fetcher: FetcherLike,
        *,
        analyzer: Analyzer | None = None,
        clock: Clock = _utc_now,
        on_new_articles: NewArticlesCallback | None = None,
        max_workers: int = 4,
        per_host: int = 2,
        rng: random.Random | None = None,
        max_failures: int = MAX_FAILURES,
        slow_seconds: float = SLOW_SECONDS,
        round_budget: float = ROUND_BUDGET_SECONDS,
        manual_wait: float = MANUAL_WAIT_SECONDS,
    ) -> None:
        self.store = store
        self.settings = settings
        self.fetcher = fetcher
        self.analyzer = analyzer
        self.clock = clock
        self.on_new_articles = on_new_articles
        self.max_workers = max(1, max_workers)
        self.per_host = max(1, per_host)
        self.rng = rng or random.Random()
        self.max_failures = max_failures
        self.slow_seconds = slow_seconds
        self.round_budget = round_budget
        self.manual_wait = manual_wait
        self._poll_lock = threading.Lock()  # one round at a time: scheduler tick vs `poll`
        self._round_started: str | None = None
        # one feed's writes at a time (rounds and `feed add`); held per feed, never per round
        self._write_lock = threading.RLock()
        self._claim_lock = threading.Lock()
        self._claimed: set[int] = set()  # feeds being fetched or written right now

    # -- entry points -------------------------------------------------------------------------

    @contextmanager
    def _round(self, now: datetime) -> Iterator[None]:
        with self._poll_lock:
            self._round_started = iso(now)
            try:
                yield
            finally:
                self._round_started = None

    def poll_due(self, now: datetime | None = None) -> PollReport:
        """Poll every feed whose next check has come (a scheduled round)."""
        now = now or self.clock()
        with self._round(now):
            return self._poll(self.store.due_feeds(iso(now)), now)

    def poll_all(self, now: datetime | None = None) -> PollReport:
        """Poll every feed that is not disabled, due or not (the demo's replay feed)."""
        now = now or self.clock()
        with self._round(now):
            return self._poll(self.store.active_feeds(), now)

    def poll_manual(
        self, now: datetime | None = None, *, admit: Callable[[], bool] | None = None
    ) -> PollReport:
        """The `poll` command: every feed not disabled and not held.

        A feed whose ``hold_until`` has not come (the server asked for a pause, or it is
        backing off after failures or slowness) is skipped and listed with that time.  When a
        round is running it waits up to ``manual_wait`` seconds for it; if the round is still
        running then, nothing is fetched and ``busy_since`` says since when.
        ``admit`` (the per-channel rate limit) is asked once no round runs and there is a
        feed to fetch; False: nothing is fetched.
        """
        now = now or self.clock()
        if not self._poll_lock.acquire(timeout=max(self.manual_wait, 0.0)):
            return PollReport(manual=True, busy_since=self._round_started or iso(now))
        try:
            self._round_started = iso(now)
            report = PollReport(manual=True)
            feeds = []
            for feed in self.store.active_feeds():
                hold = feed.get("hold_until")
                if hold and hold > iso(now):
                    report.skipped.append(SkippedFeed(
                        feed_id=int(feed["id"]), label=feed_label(feed), until=str(hold),
                        why=_hold_reason(feed),
                    ))
                else:
                    feeds.append(feed)
            if feeds and admit is not None and not admit():
                report.skipped.clear()
                return report
            return self._poll(feeds, now, report)
        finally:
            self._round_started = None
            self._poll_lock.release()

    def poll_once(self) -> list[dict[str, Any]]:
        """Poll every active feed now and return the alerts (the demo's ``FeedSource``)."""
        return self.poll_all().alerts

    def poll_feed(self, feed_id: int, now: datetime | None = None) -> PollReport:
        now = now or self.clock()
        feed = self.store.get_feed(feed_id)
        with self._round(now):
            return self._poll([feed] if feed else [], now)

    def apply_fetched(
        self, feed_id: int, result: FetchResult, parsed: ParsedFeed, now: datetime | None = None,
        *, elapsed: float = 0.0,
    ) -> PollReport:
        """Write an already fetched and parsed feed (``feed add`` validates by fetching).

        Never waits for a round: it claims the feed (a round skips claimed feeds) and takes
        the write lock, which a round holds for one feed's writes at a time.  If a round is
        fetching this very feed already, that round writes it and ``feeds`` stays 0.
        """
        now = now or self.clock()
        report = PollReport()
        if not self._claim([feed_id]):
            return report
        try:
            feed = self.store.get_feed(feed_id)
            if feed is None:
                return report
            report.feeds = 1
            outcome = FeedOutcome(feed=feed, result=result, parsed=parsed, elapsed=elapsed)
            with self._write_lock:
                self._apply(outcome, now, report)
        finally:
            self._release([feed_id])
        return report

    # -- fetching (worker threads) ------------------------------------------------------------

    def _claim(self, feed_ids: list[int]) -> list[int]:
        """The ids of ``feed_ids`` nobody else is fetching or writing, now claimed."""
        with self._claim_lock:
            free = [i for i in feed_ids if i not in self._claimed]
            self._claimed.update(free)
            return free

    def _release(self, feed_ids: list[int]) -> None:
        with self._claim_lock:
            self._claimed.difference_update(feed_ids)

    def _poll(
        self, feeds: list[dict[str, Any]], now: datetime, report: PollReport | None = None
    ) -> PollReport:
        report = report or PollReport()
        with self._write_lock:
            self._drain_outbox(report)  # articles a crash or a failed callback left behind
        claimed = set(self._claim([int(f["id"]) for f in feeds]))
        feeds = [f for f in feeds if int(f["id"]) in claimed]
        report.feeds = len(feeds)
        if not feeds:
            return report
        try:
            self._fetch_all(feeds, now, report)
        finally:
            self._release(list(claimed))
        report.feeds -= report.deferred
        if report.deferred:
            log.warning(
                "poll round: %d due feed(s) not reached within %g s; they stay due",
                report.deferred, report.budget_seconds,
            )
        return report

    def _fetch_all(self, feeds: list[dict[str, Any]], now: datetime, report: PollReport) -> None:
        """Fetch through per-host queues; write each outcome as it comes in.

        The calling thread decides what runs: a feed goes to a worker only when a worker is
        free and its host has fewer than ``per_host`` fetches in flight, hosts taking turns.
        Feeds known to be slow go last.  After ``round_budget`` seconds nothing new starts;
        what is left stays due (its ``next_check`` untouched).
        """
        started = time.monotonic()
        queues: dict[str, deque[dict[str, Any]]] = {}
        for feed in sorted(feeds, key=lambda f: int(f.get("slow_count") or 0) > 0):
            queues.setdefault(_host(feed["url"]), deque()).append(feed)
        in_flight: dict[str, int] = dict.fromkeys(queues, 0)
        running: dict[Future[FeedOutcome], str] = {}
        workers = min(self.max_workers, len(feeds))

        def dispatch(pool: ThreadPoolExecutor) -> None:
            while len(running) < workers and queues:
                if time.monotonic() - started >= self.round_budget:
                    return
                progressed = False
                for host in list(queues):  # one feed per free host per turn
                    if len(running) >= workers:
                        break
                    if in_flight[host] >= self.per_host:
                        continue
                    queue = queues[host]
                    running[pool.submit(self._fetch_one, queue.popleft())] = host
                    in_flight[host] += 1
                    progressed = True
                    if not queue:
                        del queues[host]
                if not progressed:
                    return

        with ThreadPoolExecutor(workers, thread_name_prefix="wirewatch-fetch") as pool:
            dispatch(pool)
            while running:
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    in_flight[running.pop(future)] -= 1
                dispatch(pool)  # the workers keep fetching while this thread writes
                for future in done:
                    with self._write_lock:
                        self._apply(future.result(), now, report)
                dispatch(pool)
        report.deferred = sum(len(q) for q in queues.values())
        report.budget_seconds = self.round_budget

    def _fetch_one(self, feed: dict[str, Any]) -> FeedOutcome:
        """Fetch and parse one feed; never raises (a broken feed must not stop the others)."""
        outcome = FeedOutcome(feed=feed)
        started = time.monotonic()
        try:
            result = self.fetcher.fetch(
                feed["url"], etag=feed.get("etag"), last_modified=feed.get("last_modified")
            )
            outcome.elapsed = time.monotonic() - started
            outcome.result = result
            if not result.not_modified:
                outcome.parsed = parse_feed(result.content, url=result.url, headers=result.headers)
                if not outcome.parsed.entries and outcome.parsed.error:
                    outcome.error = outcome.parsed.error
        except FetchError as exc:
            outcome.error, outcome.retry_after = exc.message, exc.retry_after
        except NotAFeed as exc:
            outcome.error = exc.message
        except Exception as exc:  # logged with traceback; recorded on the feed
            log.exception("polling feed %s (%s) failed", feed.get("id"), feed.get("url"))
            outcome.error = f"unexpected error ({type(exc).__name__}); see the log"
        return outcome

    # -- writing (the calling thread only) ----------------------------------------------------

    def _jittered(self, seconds: float) -> timedelta:
        return timedelta(seconds=seconds * (1.0 + self.rng.uniform(0.0, JITTER)))

    def interval(
        self, result: FetchResult | None, ttl_seconds: int | None
    ) -> float:
        """Seconds until the next check after a good poll (before jitter)."""
        seconds = float(self.settings.poll_seconds)
        hints = [ttl_seconds, result.max_age if result else None,
                 result.retry_after if result else None]
        for hint in hints:
            if hint:
                seconds = max(seconds, float(hint))
        return min(seconds, MAX_INTERVAL_SECONDS)

    def backoff(self, failures: int, retry_after: float | None) -> float:
        """Seconds until the next check after ``failures`` failures in a row (before jitter)."""
        seconds: float = min(
            float(self.settings.poll_seconds) * float(2 ** max(failures - 1, 0)),
            float(MAX_BACKOFF_SECONDS),
        )
        if retry_after:
            seconds = max(seconds, min(retry_after, MAX_INTERVAL_SECONDS))
        return seconds

    def _apply(self, outcome: FeedOutcome, now: datetime, report: PollReport) -> None:
        feed = outcome.feed
        if outcome.error is not None:
            self._apply_failure(outcome, now, report)
            return
        result = outcome.result
        assert result is not None
        slow = outcome.elapsed > self.slow_seconds
        slow_count = int(feed.get("slow_count") or 0) + 1 if slow else 0
        slow_note = (
            f"slow: took {outcome.elapsed:.0f} s to answer (over {self.slow_seconds:g} s), so "
            "it is checked less often; its entries were read"
        ) if slow else None
        common: dict[str, Any] = {
            "last_polled": iso(now),
            "last_success": iso(now),
            "error_count": 0,
            "slow_count": slow_count,
            "status": "slow" if slow else "ok",
            "etag": result.etag or feed.get("etag"),
            "last_modified": result.last_modified or feed.get("last_modified"),
        }
        if result.moved_to and self.store.get_feed_by_url(result.moved_to) is None:
            common["url"] = result.moved_to  # permanently moved: follow it from now on

        def schedule(ttl_seconds: int | None) -> str:
            """The next check; with the hold window it implies (Retry-After, slowness)."""
            seconds = self.interval(result, ttl_seconds)
            if slow:  # backs off like a failure, but keeps its entries
                seconds = max(seconds, self.backoff(slow_count, result.retry_after))
            next_check = iso(now + self._jittered(seconds))
            if slow:
                common["hold_until"] = next_check
            elif result.retry_after:
                common["hold_until"] = iso(
                    now + timedelta(seconds=min(result.retry_after, MAX_INTERVAL_SECONDS))
                )
            else:
                common["hold_until"] = None
            return next_check

        if slow:
            report.errors.append(f"feed {feed['id']} ({feed_label(feed)}): {slow_note}")
        if result.not_modified or outcome.parsed is None:
            next_check = schedule(feed.get("ttl_seconds"))
            self.store.update_feed(feed["id"], error=slow_note, next_check=next_check, **common)
            report.not_modified += 1
            report.results.append(FeedPollResult(
                feed_id=feed["id"], url=feed["url"], title=feed.get("title"),
                status="slow" if slow else "not_modified", error=slow_note,
                next_check=next_check,
            ))
            return
        parsed = outcome.parsed
        backfill = not feed.get("backfilled")
        keys = [e.key for e in parsed.entries]
        seen = self.store.seen_entry_keys(feed["id"], keys)
        fresh = [e for e in parsed.entries if e.key not in seen]
        for entry in fresh:
            entry.draft.feed_id = feed["id"]
        alert_state = 0 if self.on_new_articles is None else (2 if backfill else 1)
        recorder = _EntryRecorder(
            self.analyzer, feed["id"], fresh, iso(now), alert_state, backfill
        )
        ingested = ingest_drafts(self.store, [e.draft for e in fresh], recorder)
        next_check = schedule(parsed.ttl_seconds)
        title = feed.get("title") or parsed.title
        error = "; ".join(x for x in (slow_note, parsed.error) if x) or None
        with self.store.transaction():
            # entries whose article was already known (another feed, or a copy): remember them
            memory: list[tuple[str, int | None]] = []
            for entry in fresh:
                if id(entry.draft) in recorder.saved:
                    continue
                d = entry.draft
                article_id = self.store.find_article_id(
                    url=d.url, guid=d.guid, content_hash=d.content_hash
                )
                memory += [(k, article_id) for k in _keys(entry)]
            self.store.record_entries(feed["id"], memory, iso(now))
            self.store.update_feed(
                feed["id"], title=title, site_url=parsed.site_url or feed.get("site_url"),
                ttl_seconds=parsed.ttl_seconds, error=error, backfilled=1,
                next_check=next_check, **common,
            )
        report.new_article_ids.extend(ingested.new_ids)
        if parsed.error:
            report.errors.append(f"feed {feed['id']} ({title or feed['url']}): {parsed.error}"
                                 " (its entries were still read)")
        report.results.append(FeedPollResult(
            feed_id=feed["id"], url=feed["url"], title=title, status="slow" if slow else "ok",
            new_articles=len(ingested.new_ids), entries=len(parsed.entries), found=parsed.found,
            backfill=backfill, error=error, next_check=next_check,
        ))
        if ingested.new_ids:
            self._hand_over(list(ingested.new_ids), backfill, report)

    def _hand_over(self, article_ids: list[int], backfill: bool, report: PollReport) -> None:
        """Give new articles to ``on_new_articles``; clear them from the outbox once it returns.

        Articles stay in the outbox (``feed_entries.alert_state``) if the process dies or the
        callback raises, and are handed over again at the start of the next poll.
        """
        if self.on_new_articles is None:
            return
        try:
            report.alerts.extend(self.on_new_articles(article_ids, backfill))
        except Exception as exc:  # logged with traceback and reported; retried next poll
            log.exception("alerting on new articles %s failed", article_ids[:10])
            report.errors.append(f"alerting failed ({type(exc).__name__}); it will be retried")
            return
        self.store.clear_alert_state(article_ids)

    def _drain_outbox(self, report: PollReport) -> None:
        if self.on_new_articles is None:
            return
        pending = self.store.pending_alert_articles()
        for state in (2, 1):
            ids = pending.get(state)
            if ids:
                self._hand_over(ids, state == 2, report)

    def _apply_failure(self, outcome: FeedOutcome, now: datetime, report: PollReport) -> None:
        feed = outcome.feed
        counted = int(feed.get("error_count") or 0)
        failures = counted + 1
        message = outcome.error or "unknown error"
        label = feed_label(feed)
        if not report.manual and failures >= self.max_failures:
            self.store.update_feed(
                feed["id"], status="disabled", error=message, error_count=failures,
                last_polled=iso(now), next_check=None, disabled_at=iso(now),
            )
            text = (
                f"Feed {feed['id']} ({label}) is switched off after {failures} failed checks "
                f"in a row (last: {message}). `feed remove {feed['id']}` removes it; "
                f"`feed add {feed['url']}` switches it back on."
            )
            for channel in self.store.feed_followers(feed["id"]):
                notice_id = self.store.add_feed_notice(
                    feed["id"], channel, "disabled", text, iso(now)
                )
                if notice_id is not None:
                    report.notices.append(Notice(feed["id"], channel, text, notice_id))
            status, next_check = "disabled", None
        else:
            # a manual poll's failure sets the same backoff window (so `poll` cannot hammer
            # the feed) but does not count toward switching it off: only scheduled rounds do
            next_check = iso(now + self._jittered(self.backoff(failures, outcome.retry_after)))
            self.store.update_feed(
                feed["id"], status="failing", error=message,
                error_count=counted if report.manual else failures,
                last_polled=iso(now), next_check=next_check, hold_until=next_check,
            )
            status = "failing"
        report.errors.append(f"feed {feed['id']} ({label}): {message}")
        report.results.append(FeedPollResult(
            feed_id=feed["id"], url=feed["url"], title=feed.get("title"), status=status,
            error=message, next_check=next_check,
        ))


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _hold_reason(feed: dict[str, Any]) -> str:
    """Why a feed is held (not fetched by a manual poll), in plain words."""
    status = feed.get("status")
    if status == "failing":
        return f"backing off after a failed check ({feed.get('error') or 'error'})"
    if status == "slow":
        return "slow to answer, so checked less often"
    return "the server asked for a pause (Retry-After)"


def _keys(entry: ParsedEntry) -> list[str]:
    """The keys an entry is remembered under (a split story also claims its shared key)."""
    return [entry.key] if entry.base_key == entry.key else [entry.key, entry.base_key]


class _EntryRecorder:
    """Wraps the NLP analyzer so that each new article's feed entry is recorded in the SAME
    transaction as the article (``ingest_drafts`` calls ``save`` inside its transaction):
    a crash can never leave an article without its entry, or an entry without its article."""

    def __init__(
        self,
        inner: Analyzer | None,
        feed_id: int,
        entries: list[ParsedEntry],
        now: str,
        alert_state: int,
        backfill: bool,
    ) -> None:
        self.inner = inner
        self.feed_id = feed_id
        self.by_draft = {id(e.draft): e for e in entries}
        self.now = now
        self.alert_state = alert_state
        self.backfill = backfill
        self.saved: set[int] = set()

    def __getattr__(self, name: str) -> Any:  # anything else the analyzer offers
        inner = self.__dict__.get("inner")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)

    def analyze(self, drafts: Sequence[ArticleDraft]) -> Sequence[Any]:
        if self.inner is None:
            return [None] * len(drafts)
        return self.inner.analyze(drafts)

    def save(self, store: Store, article_id: int, draft: ArticleDraft, analysis: Any) -> None:
        if self.inner is not None:
            self.inner.save(store, article_id, draft, analysis)
        entry = self.by_draft.get(id(draft))
        if entry is None:
            return
        store.record_entries(
            self.feed_id, [(k, article_id) for k in _keys(entry)], self.now,
            alert_state=self.alert_state,
        )
        if self.backfill and not self.saved:
            store.update_feed(self.feed_id, backfilled=1)
        self.saved.add(id(draft))
