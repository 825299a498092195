"""Polling over real HTTP: dedupe across polls, conditional GET, backoff, disable, schedule."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from bot.feeds.fetch import Fetcher
from bot.feeds.poller import Poller, iso
from bot.feeds.scheduler import PollScheduler
from bot.settings import Settings
from bot.store import Store
from tests.feeds.conftest import FakeClock, FeedServer, Route, rss, story


def make_poller(store: Store, settings: Settings, clock: FakeClock, **kw: Any) -> Poller:
    fetcher = kw.pop("fetcher", None) or Fetcher(settings, read_timeout=0.5, connect_timeout=0.5)
    return Poller(store, settings, fetcher, clock=clock, rng=random.Random(1), **kw)


def add(store: Store, url: str, clock: FakeClock, channel: str = "C1") -> int:
    feed_id, _ = store.add_feed(url, now=iso(clock()), channel=channel)
    return feed_id


def dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_dedupe_across_polls_and_conditional_get(
    server: FeedServer, fstore: Store, settings: Settings, clock: FakeClock
) -> None:
    server.routes["/f"] = Route(body=rss([story(1), story(2)]), etag='"e1"')
    calls: list[tuple[list[int], bool]] = []

    def on_new(ids: list[int], backfill: bool) -> list[dict[str, Any]]:
        calls.append((ids, backfill))
        return [{"watch_id": 1, "channel": "C1", "article_id": i, "title": "t"} for i in ids]

    poller = make_poller(fstore, settings, clock, on_new_articles=on_new)
    feed_id = add(fstore, server.url("/f"), clock)
    first = poller.poll_due()
    assert first.feeds == 1 and first.new_articles == 2 and not first.errors
    assert calls == [(first.new_article_ids, True)]  # the first poll is a backfill
    assert len(first.alerts) == 2
    feed = fstore.get_feed(feed_id)
    assert feed and feed["status"] == "ok" and feed["articles"] == 2 and feed["etag"] == '"e1"'

    # not due yet: nothing fetched
    clock.advance(60)
    assert poller.poll_due().feeds == 0
    assert len(server.hits("/f")) == 1

    # due again: a conditional request, 304, nothing parsed
    clock.advance(2000)
    second = poller.poll_due()
    assert second.feeds == 1 and second.not_modified == 1 and second.new_articles == 0
    assert server.hits("/f")[-1].headers["if-none-match"] == '"e1"'

    # a changed feed: one new story (not a backfill), edited titles/dates are not new
    server.routes["/f"] = Route(
        body=rss(
            [
                story(3),
                story(1, title="Story 1 (updated)", date="Tue, 03 Mar 2026 10:00:00 GMT"),
                story(2),
            ]
        ),
        etag='"e2"',
    )
    third = poller.poll_all()
    assert third.new_articles == 1
    assert calls[-1] == (third.new_article_ids, False)
    assert fstore.get_article(third.new_article_ids[0]).title == "Story number 3"  # type: ignore[union-attr]

    # story 2 drops out, then comes back: still not new
    server.routes["/f"] = Route(body=rss([story(3)]), etag='"e3"')
    assert poller.poll_all().new_articles == 0
    server.routes["/f"] = Route(body=rss([story(2), story(3)]), etag='"e4"')
    assert poller.poll_all().new_articles == 0
    assert fstore.count_articles() == 3


def test_repeated_guid_across_polls(
    server: FeedServer, fstore: Store, settings: Settings, clock: FakeClock
) -> None:
    items = [
        story(
            1,
            guid="same",
            link="http://example.org/a",
            title="Story A",
            description="Alpha text about flights.",
        ),
        story(
            2,
            guid="same",
            link="http://example.org/b",
            title="Story B",
            description="Beta text about courts.",
        ),
        story(3, guid="dup"),
        story(3, guid="dup"),
    ]
    server.routes["/f"] = Route(body=rss(items))
    poller = make_poller(fstore, settings, clock)
    add(fstore, server.url("/f"), clock)
    assert poller.poll_all().new_articles == 3
    server.routes["/f"] = Route(body=rss(list(reversed(items))))
    assert poller.poll_all().new_articles == 0
    assert fstore.count_articles() == 3


def test_backoff_then_disable_with_one_notice(
    server: FeedServer, fstore: Store, settings: Settings, clock: FakeClock
) -> None:
    server.routes["/bad"] = Route(status=503, body=b"down")
    server.routes["/good"] = Route(body=rss([story(1)]))
    poller = make_poller(fstore, settings, clock, max_failures=4)
    bad = add(fstore, server.url("/bad"), clock, channel="C-news")
    fstore.add_feed(server.url("/bad"), now=iso(clock()), channel="C-desk")  # a 2nd follower
    good = add(fstore, server.url("/good"), clock)
    gaps = []
    for n in range(1, 4):
        report = poller.poll_due()
        assert any("server said 503" in e for e in report.errors)
        row = fstore.get_feed(bad)
        assert row and row["status"] == "failing" and row["error_count"] == n
        assert row["error"] == "server said 503"
        gap = (dt(row["next_check"]) - clock()).total_seconds()
        gaps.append(gap)
        clock.now = dt(row["next_check"])
    assert 900 <= gaps[0] <= 990 and 1800 <= gaps[1] <= 1980 and 3600 <= gaps[2] <= 3960
    report = poller.poll_due()
    row = fstore.get_feed(bad)
    assert row and row["status"] == "disabled" and row["next_check"] is None
    assert sorted(n.channel for n in report.notices) == ["C-desk", "C-news"]
    assert "switched off" in report.notices[0].text
    # a disabled feed is no longer polled, and the notice is not repeated
    clock.advance(10 * 24 * 3600)
    again = poller.poll_due()
    assert not again.notices and all(r.feed_id != bad for r in again.results)
    assert fstore.get_feed(good)["status"] == "ok"  # type: ignore[index]


def test_retry_after_and_cache_hints_stretch_the_interval(
    server: FeedServer, fstore: Store, settings: Settings, clock: FakeClock
) -> None:
    server.routes["/busy"] = Route(status=429, body=b"", headers={"Retry-After": "7200"})
    server.routes["/cached"] = Route(
        body=rss([story(1)]), headers={"Cache-Control": "max-age=5400"}
    )
    server.routes["/ttl"] = Route(body=rss([story(2)], extra="<ttl>180</ttl>"))
    poller = make_poller(fstore, settings, clock)
    ids = [add(fstore, server.url(p), clock) for p in ("/busy", "/cached", "/ttl")]
    poller.poll_due()
    gaps = [(dt(fstore.get_feed(i)["next_check"]) - clock()).total_seconds() for i in ids]  # type: ignore[index]
    assert 7200 <= gaps[0] <= 7920
    assert 5400 <= gaps[1] <= 5940
    assert 10800 <= gaps[2] <= 11880


def test_slow_feed_does_not_delay_the_others(
    server: FeedServer, fstore: Store, settings: Settings, clock: FakeClock
) -> None:
    server.routes["/slow"] = Route(body=rss([story(1)]), delay=1.5)
    server.routes["/fast1"] = Route(body=rss([story(2)]))
    server.routes["/fast2"] = Route(body=rss([story(3)]))
    fetcher = Fetcher(settings, read_timeout=1.0)
    poller = make_poller(fstore, settings, clock, fetcher=fetcher)
    slow = add(fstore, server.url("/slow"), clock)
    add(fstore, server.url("/fast1"), clock)
    add(fstore, server.url("/fast2"), clock)
    report = poller.poll_due()
    assert [r.feed_id for r in report.results][-1] == slow  # written last, others first
    assert report.new_articles == 2
    assert fstore.get_feed(slow)["error"] == "timed out after 1 s"  # type: ignore[index]


def test_restart_resumes_the_schedule(
    server: FeedServer, settings: Settings, clock: FakeClock
) -> None:
    server.routes["/f"] = Route(body=rss([story(1)]))
    store = Store(settings.db_path)
    add(store, server.url("/f"), clock)
    make_poller(store, settings, clock).poll_due()
    next_check = store.get_feed(1)["next_check"]  # type: ignore[index]
    store.close()
    clock.advance(120)
    reopened = Store(settings.db_path)
    try:
        poller = make_poller(reopened, settings, clock)
        assert poller.poll_due().feeds == 0  # the schedule survived the restart
        clock.now = dt(next_check)
        report = poller.poll_due()
        assert report.feeds == 1 and report.new_articles == 0
        assert len(server.hits("/f")) == 2
    finally:
        reopened.close()


def test_scheduler_ticks_with_an_injected_clock(
    server: FeedServer, fstore: Store, settings: Settings, clock: FakeClock
) -> None:
    server.routes["/f"] = Route(body=rss([story(1)]))
    reports = []
    scheduler = PollScheduler(make_poller(fstore, settings, clock), on_report=reports.append)
    add(fstore, server.url("/f"), clock)
    assert scheduler.tick().new_articles == 1
    for _ in range(20):  # ten minutes of 30-second ticks: nothing is due
        clock.advance(30)
        assert scheduler.tick().feeds == 0
    clock.advance(900 * 1.1 - 600 + 1)
    assert scheduler.tick().feeds == 1
    assert len(reports) == 2 and len(server.hits("/f")) == 2


def test_scheduler_runs_a_real_apscheduler_job(
    server: FeedServer, fstore: Store, settings: Settings, clock: FakeClock
) -> None:
    import threading

    server.routes["/f"] = Route(body=rss([story(1)]))
    add(fstore, server.url("/f"), clock)
    done = threading.Event()
    scheduler = PollScheduler(
        make_poller(fstore, settings, clock), tick_seconds=3600, on_report=lambda r: done.set()
    )
    scheduler.start()
    try:
        assert scheduler.running and [j.id for j in scheduler.jobs()] == ["wirewatch-poll"]
        assert done.wait(10)  # the first tick runs at start
    finally:
        scheduler.shutdown()
    assert fstore.count_articles() == 1 and not scheduler.running


def test_not_a_feed_and_garbage_are_errors_not_crashes(
    server: FeedServer, fstore: Store, settings: Settings, clock: FakeClock
) -> None:
    server.routes["/html"] = Route(
        body=b"<html><body>hello</body></html>", content_type="text/html"
    )
    server.routes["/bin"] = Route(
        body=bytes(range(256)) * 10, content_type="application/octet-stream"
    )
    poller = make_poller(fstore, settings, clock)
    a = add(fstore, server.url("/html"), clock)
    b = add(fstore, server.url("/bin"), clock)
    report = poller.poll_due()
    assert len(report.errors) == 2
    assert "not a feed" in (fstore.get_feed(a)["error"] or "")  # type: ignore[index]
    assert fstore.get_feed(b)["status"] == "failing"  # type: ignore[index]


def test_alerting_failure_is_retried_from_the_outbox(
    server: FeedServer, fstore: Store, settings: Settings, clock: FakeClock
) -> None:
    server.routes["/f"] = Route(body=rss([story(1)]))
    calls: list[tuple[list[int], bool]] = []
    fail = [True]

    def on_new(ids: list[int], backfill: bool) -> list[dict[str, Any]]:
        calls.append((ids, backfill))
        if fail[0]:
            raise RuntimeError("watch engine down")
        return [{"watch_id": 9, "channel": "C1", "article_id": ids[0], "title": "x"}]

    poller = make_poller(fstore, settings, clock, on_new_articles=on_new)
    add(fstore, server.url("/f"), clock)
    first = poller.poll_due()
    assert first.new_articles == 1 and any("alerting failed" in e for e in first.errors)
    assert fstore.pending_alert_articles() == {2: first.new_article_ids}
    fail[0] = False
    clock.advance(10)  # nothing is due, but the outbox is drained
    second = poller.poll_due()
    assert second.feeds == 0 and len(second.alerts) == 1
    assert calls[-1] == (first.new_article_ids, True)  # still a backfill
    assert fstore.pending_alert_articles() == {}
    assert len(poller.poll_due().alerts) == 0  # handed over once


def test_entries_are_recorded_with_their_articles(
    server: FeedServer, fstore: Store, settings: Settings, clock: FakeClock
) -> None:
    server.routes["/a"] = Route(body=rss([story(1), story(2)]))
    server.routes["/b"] = Route(body=rss([story(2), story(3)], title="Other Wire"))
    poller = make_poller(fstore, settings, clock)
    a = add(fstore, server.url("/a"), clock)
    b = add(fstore, server.url("/b"), clock)
    report = poller.poll_due()
    assert report.new_articles == 3  # story 2 is in both feeds: indexed once
    assert fstore.count_feed_entries(a) == 2 and fstore.count_feed_entries(b) == 2
    rows = fstore.db.execute("SELECT count(*) FROM feed_entries WHERE article_id IS NULL")
    assert rows.fetchone()[0] == 0


def test_per_host_limit(
    server: FeedServer, fstore: Store, settings: Settings, clock: FakeClock
) -> None:
    import threading
    import time

    lock = threading.Lock()
    state = {"now": 0, "max": 0}
    body = rss([story(1)])

    def counted(h: Any) -> None:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.2)
        with lock:
            state["now"] -= 1
        h._send(200, body, {"Content-Type": "application/rss+xml"})

    for n in range(4):
        server.routes[f"/h{n}"] = Route(handler=counted)
        add(fstore, server.url(f"/h{n}"), clock)
    make_poller(fstore, settings, clock, max_workers=4, per_host=1).poll_due()
    assert state["max"] == 1
    for n in range(4):
        fstore.update_feed(n + 1, next_check=iso(clock()))
    state["max"] = 0
    make_poller(fstore, settings, clock, max_workers=4, per_host=4).poll_all()
    assert state["max"] >= 2


def test_permanent_redirect_updates_the_feed_url(
    server: FeedServer, fstore: Store, settings: Settings, clock: FakeClock
) -> None:
    server.routes["/old"] = Route(status=301, headers={"Location": "/new"})
    server.routes["/tmp"] = Route(status=302, headers={"Location": "/new"})
    server.routes["/new"] = Route(body=rss([story(1)]))
    poller = make_poller(fstore, settings, clock)
    moved = add(fstore, server.url("/old"), clock)
    temporary = add(fstore, server.url("/tmp"), clock)
    poller.poll_due()
    assert fstore.get_feed(moved)["url"] == server.url("/new")  # type: ignore[index]
    assert fstore.get_feed(temporary)["url"] == server.url("/tmp")  # type: ignore[index]


def test_poll_once_returns_the_alerts(
    server: FeedServer, fstore: Store, settings: Settings, clock: FakeClock
) -> None:
    server.routes["/f"] = Route(body=rss([story(1)]))

    def on_new(ids: list[int], backfill: bool) -> list[dict[str, Any]]:
        return [] if backfill else [{"watch_id": 1, "channel": "C", "article_id": ids[0]}]

    poller = make_poller(fstore, settings, clock, on_new_articles=on_new)
    add(fstore, server.url("/f"), clock)
    assert poller.poll_once() == []  # backfill
    server.routes["/f"] = Route(body=rss([story(1), story(2)]))
    alerts = poller.poll_once()
    assert len(alerts) == 1 and alerts[0]["article_id"] == fstore.count_articles()


# -- issue 17: slow or hostile feeds cannot starve polling -----------------------------------


def _held_handler(
    body: bytes, release: Any, state: dict[str, int], lock: Any
) -> Any:
    """A feed that answers validly only once ``release`` is set (at most 10 s)."""

    def handler(h: Any) -> None:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        release.wait(10)
        with lock:
            state["now"] -= 1
        h._send(200, body, {"Content-Type": "application/rss+xml"})

    return handler


def test_free_workers_take_feeds_of_free_hosts(
    server: FeedServer, other_server: FeedServer, fstore: Store, settings: Settings,
    clock: FakeClock,
) -> None:
    """Eight held feeds on one host use its two slots; the other host's feed is fetched
    while they are still held (the old worker-side semaphore kept it behind all eight)."""
    import threading
    import time

    release, healthy_seen, lock = threading.Event(), threading.Event(), threading.Lock()
    state = {"now": 0, "max": 0}
    handler = _held_handler(rss([story(1)]), release, state, lock)
    for n in range(8):
        server.routes[f"/slow{n}"] = Route(handler=handler)
        add(fstore, server.url(f"/slow{n}"), clock)

    def healthy(h: Any) -> None:
        healthy_seen.set()
        h._send(200, rss([story(2)], title="Healthy"), {"Content-Type": "application/rss+xml"})

    other_server.routes["/ok"] = Route(handler=healthy)
    good = add(fstore, other_server.url("/ok"), clock)
    fetcher = Fetcher(settings, read_timeout=15)
    poller = make_poller(fstore, settings, clock, fetcher=fetcher, max_workers=4, per_host=2)
    reports: list[Any] = []
    round_thread = threading.Thread(target=lambda: reports.append(poller.poll_due()))
    round_thread.start()
    try:
        assert healthy_seen.wait(5), "the healthy feed waited behind the slow host"
        # both of the slow host's slots fill (the second request may still be on its way when
        # the healthy feed is answered); a third would show as state["max"] == 3
        deadline = time.monotonic() + 5
        while state["now"] < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # room for a wrongly started third fetch to arrive
    finally:
        release.set()
        round_thread.join(30)
    assert state["max"] == 2  # never more than per_host in flight on the slow host
    assert reports[0].feeds == 9 and not reports[0].errors
    assert fstore.get_feed(good)["status"] == "ok"  # type: ignore[index]


def test_slow_success_backs_off_keeps_entries_and_never_disables(
    server: FeedServer, fstore: Store, settings: Settings, clock: FakeClock
) -> None:
    server.routes["/slow"] = Route(body=rss([story(1)]), delay=0.6)
    fetcher = Fetcher(settings, read_timeout=5)
    poller = make_poller(fstore, settings, clock, fetcher=fetcher, slow_seconds=0.3,
                         max_failures=2)
    feed_id = add(fstore, server.url("/slow"), clock)
    gaps = []
    for n in range(1, 4):
        report = poller.poll_due()
        row = fstore.get_feed(feed_id)
        assert row and row["status"] == "slow" and row["slow_count"] == n
        assert row["error_count"] == 0 and "slow: took" in (row["error"] or "")
        assert any("slow: took" in e for e in report.errors)
        assert row["hold_until"] == row["next_check"]  # a manual poll waits too
        gaps.append((dt(row["next_check"]) - clock()).total_seconds())
        clock.now = dt(row["next_check"])
    assert fstore.count_articles() == 1  # its entries were read
    assert 900 <= gaps[0] <= 990 and 1800 <= gaps[1] <= 1980 and 3600 <= gaps[2] <= 3960
    # quick again: back to the normal interval, nothing held
    server.routes["/slow"] = Route(body=rss([story(1), story(2)]))
    assert poller.poll_due().new_articles == 1
    row = fstore.get_feed(feed_id)
    assert row and row["status"] == "ok" and row["slow_count"] == 0 and row["error"] is None
    assert row["hold_until"] is None


def test_round_budget_leaves_the_rest_due(
    server: FeedServer, fstore: Store, settings: Settings, clock: FakeClock
) -> None:
    server.routes["/first"] = Route(body=rss([story(1)]), delay=0.6)
    server.routes["/b"] = Route(body=rss([story(2)]))
    server.routes["/c"] = Route(body=rss([story(3)]))
    fetcher = Fetcher(settings, read_timeout=5)
    poller = make_poller(fstore, settings, clock, fetcher=fetcher, max_workers=1, per_host=1,
                         round_budget=0.3)
    ids = [add(fstore, server.url(p), clock) for p in ("/first", "/b", "/c")]
    before = {i: fstore.get_feed(i)["next_check"] for i in ids}  # type: ignore[index]
    report = poller.poll_due()
    assert report.feeds == 1 and report.deferred == 2
    assert [r.feed_id for r in report.results] == [ids[0]]
    for i in ids[1:]:  # not reached: untouched, still due
        row = fstore.get_feed(i)
        assert row and row["next_check"] == before[i] and row["last_polled"] is None
    assert {f["id"] for f in fstore.due_feeds(iso(clock()))} == set(ids[1:])
    assert server.hits("/b") == [] and server.hits("/c") == []
    poller.round_budget = 60
    again = poller.poll_due()
    assert again.feeds == 2 and again.deferred == 0 and again.new_articles == 2


def test_manual_poll_respects_holds_and_never_disables(
    server: FeedServer, fstore: Store, settings: Settings, clock: FakeClock
) -> None:
    server.routes["/busy"] = Route(status=503, body=b"", headers={"Retry-After": "3600"})
    server.routes["/down"] = Route(status=500, body=b"")
    poller = make_poller(fstore, settings, clock, max_failures=2)
    busy = add(fstore, server.url("/busy"), clock)
    down = add(fstore, server.url("/down"), clock)
    fstore.update_feed(down, error_count=1)  # one more scheduled failure would switch it off
    first = poller.poll_manual()
    assert first.feeds == 2 and len(first.errors) == 2
    for feed_id in (busy, down):
        row = fstore.get_feed(feed_id)
        assert row and row["status"] == "failing"  # not disabled: a manual poll
    assert fstore.get_feed(down)["error_count"] == 1  # type: ignore[index]
    busy_row = fstore.get_feed(busy)
    assert busy_row and (dt(busy_row["hold_until"]) - clock()).total_seconds() >= 3600
    for _ in range(5):
        clock.advance(60)
        report = poller.poll_manual()
        assert report.feeds == 0
        assert {s.feed_id for s in report.skipped} == {busy, down}
        held = next(s for s in report.skipped if s.feed_id == busy)
        assert held.until == busy_row["hold_until"] and "backing off" in held.why
    assert len(server.hits("/busy")) == 1 and len(server.hits("/down")) == 1
    assert fstore.get_feed(busy)["status"] == "failing"  # type: ignore[index]
    # scheduled rounds still count: the next due failure switches /down off
    clock.now = dt(fstore.get_feed(down)["next_check"])  # type: ignore[index]
    poller.poll_due()
    assert fstore.get_feed(down)["status"] == "disabled"  # type: ignore[index]


def test_a_success_with_retry_after_holds_manual_polls(
    server: FeedServer, fstore: Store, settings: Settings, clock: FakeClock
) -> None:
    server.routes["/f"] = Route(body=rss([story(1)]), headers={"Retry-After": "600"})
    poller = make_poller(fstore, settings, clock)
    feed_id = add(fstore, server.url("/f"), clock)
    poller.poll_manual()
    clock.advance(30)
    report = poller.poll_manual()
    assert report.feeds == 0 and len(server.hits("/f")) == 1
    assert report.skipped[0].feed_id == feed_id and "Retry-After" in report.skipped[0].why
    clock.advance(600)
    assert poller.poll_manual().feeds == 1  # the pause is over (not yet due: fetched anyway)
    assert len(server.hits("/f")) == 2
