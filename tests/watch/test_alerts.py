"""The alert pipeline over a real SQLite file: outbox, once-only, mute, digest, threading,
pacing and retries."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest

from bot.alerts import AlertPipeline, AlertView, ConsoleSender, DeliveryError, DigestView
from bot.demo_articles import NEAR_MISSES, SYNDICATED
from bot.store import Store
from tests.watch.conftest import (
    FakeClock,
    RecordingSender,
    draft,
    ingest,
    rate_limited,
    seed_drafts,
)
from watchlists.decide import iso

TOPIC = "deportation flights to Venezuela"


def add_watch(store: Store, clock: FakeClock, query: str = TOPIC, channel: str = "C1",
              **fields: object) -> int:
    wid = store.add_watch(channel=channel, query=query, understood="", mode="central",
                          created_by="U1", created_at=iso(clock()))
    if fields:
        store.update_watch(wid, **fields)
    return wid


def near_miss_drafts() -> list:
    return [draft(t, text, source=s) for _k, t, s, _d, text in NEAR_MISSES]


def test_on_topic_alerts_once_near_misses_never(wstore: Store, clock: FakeClock) -> None:
    wid = add_watch(wstore, clock)
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    seeds = ingest(wstore, seed_drafts())
    misses = ingest(wstore, near_miss_drafts())
    alerts = pipeline.on_new_articles(seeds + misses, backfill=False)
    assert sorted(a["article_id"] for a in alerts) == sorted(seeds)
    assert {a["watch_id"] for a in alerts} == {wid} and {a["channel"] for a in alerts} == {"C1"}
    assert all(a["title"] for a in alerts)
    # the same articles again (a re-poll, a retried callback): nothing new
    assert pipeline.on_new_articles(seeds + misses, backfill=False) == []
    assert len(wstore.list_alerts()) == 5


def test_backfill_never_alerts(wstore: Store, clock: FakeClock) -> None:
    add_watch(wstore, clock)
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    ids = ingest(wstore, seed_drafts())
    assert pipeline.on_new_articles(ids, backfill=True) == []
    assert wstore.list_alerts() == []


def test_once_across_restart_and_crash_before_delivery(db_file: Path, clock: FakeClock) -> None:
    store = Store(db_file)
    add_watch(store, clock)
    ids = ingest(store, seed_drafts()[:2])
    assert len(AlertPipeline(store, clock=clock).on_new_articles(ids, backfill=False)) == 2
    store.close()  # "crash": nothing was delivered yet

    store = Store(db_file)
    pipeline = AlertPipeline(store, clock=clock, sleeper=clock.sleep)
    assert pipeline.on_new_articles(ids, backfill=False) == []
    sender = RecordingSender(clock)
    report = pipeline.deliver_pending(sender)
    assert report.sent == 2 and len(sender.posts) == 2
    assert pipeline.deliver_pending(sender).sent == 0
    store.close()

    store = Store(db_file)
    pipeline = AlertPipeline(store, clock=clock, sleeper=clock.sleep)
    assert pipeline.on_new_articles(ids, backfill=False) == []
    assert pipeline.deliver_pending(sender).sent == 0
    assert len(sender.posts) == 2
    assert {a.status for a in store.list_alerts()} == {"sent"}
    store.close()


def test_alert_view_explains_itself(wstore: Store, clock: FakeClock) -> None:
    wid = add_watch(wstore, clock)
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    mexico = next(d for d in seed_drafts() if d.title.startswith("Mexico"))
    pipeline.on_new_articles(ingest(wstore, [mexico]), backfill=False)
    sender = RecordingSender(clock)
    pipeline.deliver_pending(sender)
    view = sender.posts[0].view
    assert isinstance(view, AlertView)
    assert view.watch_id == wid and view.watch_query == TOPIC and view.channel == "C1"
    assert view.title.startswith("Mexico, Venezuela Begin Repatriation Flights")
    why = {w.label: w.where for w in view.why}
    assert set(why) == {"deportation", "flights", "Venezuela"} and "headline" in why["flights"]
    assert [(b.action_id, b.value) for b in view.buttons] == [
        ("ww_mute", str(wid)), ("ww_unwatch", str(wid)),
        ("ww_not_relevant", f"{wid}:{view.article_id}")]
    lines: list[str] = []
    ConsoleSender(lines.append).post("console", view, None)
    assert "Why: deportation (headline" in lines[0] and "Repatriation" in lines[0]


def test_muted_watch_records_but_does_not_post(wstore: Store, clock: FakeClock) -> None:
    muted = add_watch(wstore, clock, muted_until=iso(clock() + timedelta(hours=2)))
    live = add_watch(wstore, clock, channel="C2")
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    alerts = pipeline.on_new_articles(ingest(wstore, seed_drafts()[:2]), backfill=False)
    assert len(alerts) == 4
    sender = RecordingSender(clock)
    pipeline.deliver_pending(sender)
    assert {p.channel for p in sender.posts} == {"C2"} and len(sender.posts) == 2
    assert {a.status for a in wstore.list_alerts(watch_id=muted)} == {"muted"}
    assert {a.status for a in wstore.list_alerts(watch_id=live)} == {"sent"}
    # after the mute expires new articles post again; the muted ones stay recorded only
    clock.advance(3 * 3600)
    pipeline.on_new_articles(ingest(wstore, seed_drafts()[2:3]), backfill=False)
    pipeline.deliver_pending(sender)
    assert [p.channel for p in sender.posts].count("C1") == 1


def test_digest_posts_one_summary_at_its_time(wstore: Store, clock: FakeClock) -> None:
    # clock: 09:00 UTC; digest at 10:30
    wid = add_watch(wstore, clock, digest_time="10:30", digest_last_sent=iso(clock()))
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    pipeline.on_new_articles(ingest(wstore, seed_drafts()), backfill=False)
    sender = RecordingSender(clock)
    pipeline.deliver_pending(sender)
    assert sender.posts == []
    assert {a.status for a in wstore.list_alerts(watch_id=wid)} == {"digest"}
    clock.advance(3600)  # 10:00: not yet
    assert pipeline.deliver_pending(sender).digests == 0
    clock.advance(1800)  # 10:30
    report = pipeline.deliver_pending(sender)
    assert report.digests == 1 and len(sender.posts) == 1
    digest = sender.posts[0].view
    assert isinstance(digest, DigestView) and len(digest.items) == 5
    clock.advance(3600)
    assert pipeline.deliver_pending(sender).digests == 0, "one summary per day"
    assert all(a.sent_at for a in wstore.list_alerts(watch_id=wid))


def test_near_duplicate_goes_into_the_thread(wstore: Store, clock: FakeClock) -> None:
    add_watch(wstore, clock)
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    first = seed_drafts()[0]
    pipeline.on_new_articles(ingest(wstore, [first]), backfill=False)
    sender = RecordingSender(clock)
    pipeline.deliver_pending(sender)
    root_ts = "ts.1"
    copy = draft(SYNDICATED[1], SYNDICATED[4], source=SYNDICATED[2])
    other = seed_drafts()[3]
    pipeline.on_new_articles(ingest(wstore, [copy, other]), backfill=False)
    pipeline.deliver_pending(sender)
    assert len(sender.posts) == 3
    reply = next(p for p in sender.posts if p.view.title == SYNDICATED[1])  # type: ignore[union-attr]
    assert reply.thread_ts == root_ts
    assert isinstance(reply.view, AlertView) and reply.view.thread_reply
    lines: list[str] = []
    ConsoleSender(lines.append).post("console", reply.view, reply.thread_ts)
    assert "Also reported by Wire Service Weekly" in lines[0]
    new_story = next(p for p in sender.posts if p.view.title == other.title)  # type: ignore[union-attr]
    assert new_story.thread_ts is None


def test_duplicate_waits_for_its_root_post(wstore: Store, clock: FakeClock) -> None:
    add_watch(wstore, clock)
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    copy = draft(SYNDICATED[1], SYNDICATED[4], source=SYNDICATED[2])
    pipeline.on_new_articles(ingest(wstore, [seed_drafts()[0], copy]), backfill=False)
    sender = RecordingSender(clock, failures=[DeliveryError("503", retry_after=120)])
    report = pipeline.deliver_pending(sender)
    assert report.sent == 0 and report.retrying == 1
    clock.advance(121)
    pipeline.deliver_pending(sender)
    assert [p.thread_ts for p in sender.posts] == [None, "ts.1"]


def test_delivery_retries_and_loses_nothing(wstore: Store, clock: FakeClock) -> None:
    add_watch(wstore, clock)
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    pipeline.on_new_articles(ingest(wstore, seed_drafts()), backfill=False)
    # 429 with Retry-After: retried in-process after waiting what the server asked
    sender = RecordingSender(clock, failures=[rate_limited(3)])
    report = pipeline.deliver_pending(sender)
    assert report.sent == 5 and 3 in clock.slept

    # a long outage: the alerts stay pending with a next attempt time, none lost
    add_watch(wstore, clock, channel="C9")
    pipeline.on_new_articles(ingest(wstore, [draft(SYNDICATED[1], SYNDICATED[4])]),
                             backfill=False)
    outage = [DeliveryError("500"), DeliveryError("500"), rate_limited(600)]
    down = RecordingSender(clock, failures=outage * 2)
    report = pipeline.deliver_pending(down)
    assert report.sent == 0 and report.retrying == 2
    pending = wstore.pending_alerts(iso(clock() + timedelta(days=1)))
    assert pending and all(a.attempts >= 1 and a.error for a in pending)
    assert pipeline.deliver_pending(down).sent == 0, "not before its next attempt time"
    clock.advance(601)
    up = RecordingSender(clock)
    assert pipeline.deliver_pending(up).sent == len(pending)
    assert {a.status for a in wstore.list_alerts()} == {"sent"}


def test_unexpected_sender_error_keeps_alert_pending(wstore: Store, clock: FakeClock) -> None:
    add_watch(wstore, clock)
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    pipeline.on_new_articles(ingest(wstore, seed_drafts()[:1]), backfill=False)
    sender = RecordingSender(clock, failures=[RuntimeError("bug")])
    try:
        pipeline.deliver_pending(sender)
    except RuntimeError:
        pass
    else:  # pragma: no cover
        raise AssertionError("a sender bug must propagate")
    [alert] = wstore.list_alerts()
    assert alert.status == "pending" and "RuntimeError" in (alert.error or "")


def test_permanent_failure_is_recorded(wstore: Store, clock: FakeClock) -> None:
    add_watch(wstore, clock)
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    pipeline.on_new_articles(ingest(wstore, seed_drafts()[:1]), backfill=False)
    sender = RecordingSender(clock, failures=[DeliveryError("channel_not_found",
                                                           permanent=True)])
    assert pipeline.deliver_pending(sender).failed == 1
    assert wstore.list_alerts()[0].status == "failed"


def test_posts_are_paced_per_channel(wstore: Store, clock: FakeClock) -> None:
    add_watch(wstore, clock, channel="C1")
    add_watch(wstore, clock, channel="C2")
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    pipeline.on_new_articles(ingest(wstore, seed_drafts()), backfill=False)
    sender = RecordingSender(clock)
    pipeline.deliver_pending(sender)
    assert len(sender.posts) == 10
    for channel in ("C1", "C2"):
        times = [p.at for p in sender.posts if p.channel == channel]
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        assert gaps and min(gaps) >= 1.0, gaps
    # the two channels interleave: the total wait is about 4 s, not 9 s
    assert sum(clock.slept) < 6


def test_article_facts_feed_filters(wstore: Store, clock: FakeClock) -> None:
    """When the NLP has stored actors, `actor:` filters use them."""
    add_watch(wstore, clock, query='actor:"Maduro" flights')
    ids = ingest(wstore, seed_drafts())
    with wstore.lock:
        wstore.db.execute("INSERT INTO actors(id, key, name, type) VALUES "
                          "(1, 'maduro', 'Nicolás Maduro', 'PERSON')")
        wstore.db.execute("INSERT INTO mentions(article_id, actor_id, text, label) "
                          "VALUES (?, 1, 'Maduro', 'PERSON')", [ids[3]])
        wstore.db.execute("UPDATE articles SET nlp_version = 1")
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    alerts = pipeline.on_new_articles(ids, backfill=False)
    assert [a["article_id"] for a in alerts] == [ids[3]]
    sender = RecordingSender(clock)
    pipeline.deliver_pending(sender)
    view = sender.posts[0].view
    assert isinstance(view, AlertView) and view.actors == ["Nicolás Maduro"]


def test_channel_filter_keeps_console_and_slack_apart(wstore: Store, clock: FakeClock) -> None:
    add_watch(wstore, clock, channel="console")
    add_watch(wstore, clock, channel="C1")
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    pipeline.on_new_articles(ingest(wstore, seed_drafts()[:1]), backfill=False)
    console = RecordingSender(clock)
    pipeline.deliver_pending(console, channels=lambda c: c == "console")
    assert [p.channel for p in console.posts] == ["console"]
    slack = RecordingSender(clock)
    pipeline.deliver_pending(slack, channels=lambda c: c != "console")
    assert [p.channel for p in slack.posts] == ["C1"]


def test_same_article_two_watches_one_channel_threads(wstore: Store, clock: FakeClock) -> None:
    add_watch(wstore, clock)
    second = add_watch(wstore, clock, query="Venezuela flights")
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    pipeline.on_new_articles(ingest(wstore, seed_drafts()[:1]), backfill=False)
    sender = RecordingSender(clock)
    pipeline.deliver_pending(sender)
    assert [p.thread_ts for p in sender.posts] == [None, "ts.1"]
    lines: list[str] = []
    ConsoleSender(lines.append).post("console", sender.posts[1].view, "ts.1")
    assert f"Also matches watch #{second}" in lines[0]


def test_unwatched_or_muted_before_delivery_never_posts(wstore: Store, clock: FakeClock) -> None:
    gone = add_watch(wstore, clock)
    hushed = add_watch(wstore, clock, channel="C2")
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    pipeline.on_new_articles(ingest(wstore, seed_drafts()[:1]), backfill=False)
    wstore.update_watch(gone, active=0)
    wstore.update_watch(hushed, muted_until=iso(clock() + timedelta(hours=1)))
    sender = RecordingSender(clock)
    report = pipeline.deliver_pending(sender)
    assert sender.posts == [] and report.skipped == 2
    assert [a.status for a in wstore.list_alerts()] == ["skipped", "muted"]


# -- issue 17: a watch that cannot be checked is set aside; the others keep alerting ---------

BOMB = "(" * 242 + "deportation" + ")" * 242


def test_poison_row_in_the_store_is_set_aside_and_the_others_alert(
    wstore: Store, clock: FakeClock
) -> None:
    good = add_watch(wstore, clock)
    poison = add_watch(wstore, clock, query=BOMB, channel="D0POISON")  # stored before the fix
    other = add_watch(wstore, clock, query="deportation", channel="C2")
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    seeds = ingest(wstore, seed_drafts())
    alerts = pipeline.on_new_articles(seeds, backfill=False)
    assert {a["watch_id"] for a in alerts} == {good, other}
    assert len([a for a in alerts if a["watch_id"] == good]) == len(seeds)
    w = wstore.get_watch(poison)
    assert w is not None and w.active and w.broken and "nests too deep" in w.broken
    assert w.broken_at == iso(clock())
    assert wstore.get_watch(good).broken is None  # type: ignore[union-attr]
    notices = wstore.pending_watch_notices()
    assert [(n["watch_id"], n["channel"]) for n in notices] == [(poison, "D0POISON")]
    assert f"unwatch {poison}" in notices[0]["text"] and "broken" in notices[0]["text"]
    # later articles, a restart: still set aside, told once, nothing raised
    more = ingest(wstore, near_miss_drafts())
    AlertPipeline(wstore, clock=clock, sleeper=clock.sleep).on_new_articles(more, False)
    assert len(wstore.pending_watch_notices()) == 1
    assert wstore.list_alerts(watch_id=poison) == []


def test_a_watch_whose_check_raises_is_set_aside_once(
    wstore: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from watchlists import matcher as matcher_module

    good = add_watch(wstore, clock)
    bad = add_watch(wstore, clock, query='"deportation flights" mode:any', channel="C9",
                    mode="any")
    real_term = matcher_module._Planner.term

    def term(self: object, node: matcher_module.Term, strict: bool) -> object:
        if not node.phrase:
            return real_term(self, node, strict)  # type: ignore[arg-type]

        def check(view: object) -> bool:  # fault injection: a bug in one watch's check
            raise RecursionError("maximum recursion depth exceeded")
        return check

    monkeypatch.setattr(matcher_module._Planner, "term", term)
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    seeds = ingest(wstore, seed_drafts())
    alerts = pipeline.on_new_articles(seeds[:1], backfill=False)
    assert [a["watch_id"] for a in alerts] == [good]
    w = wstore.get_watch(bad)
    assert w is not None and w.broken and "RecursionError" in w.broken
    assert "checking an article" in w.broken
    alerts = pipeline.on_new_articles(seeds[1:], backfill=False)
    assert {a["watch_id"] for a in alerts} == {good} and len(alerts) == len(seeds) - 1
    assert len(wstore.pending_watch_notices()) == 1


def test_an_article_that_fails_most_watches_blames_the_article(
    wstore: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from watchlists import matcher as matcher_module

    ids = [add_watch(wstore, clock, query=q, channel=f"C{i}")
           for i, q in enumerate(["deportation OR x1", "deportation OR x2", "Venezuela"])]

    def broken(*args: object) -> bool:  # fault injection: a bug on an odd article
        raise ValueError("odd article")

    monkeypatch.setattr(matcher_module, "is_central", broken)
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    pipeline.on_new_articles(ingest(wstore, seed_drafts()[:1]), backfill=False)
    assert all(wstore.get_watch(i).broken is None for i in ids)  # type: ignore[union-attr]
    assert wstore.pending_watch_notices() == []
    assert any("watches fail" in r.getMessage() for r in caplog.records)


def test_console_gets_the_broken_watch_notice_once(wstore: Store, clock: FakeClock) -> None:
    add_watch(wstore, clock, channel="console")
    add_watch(wstore, clock, query=BOMB, channel="console")
    slack = add_watch(wstore, clock, query=BOMB + " ", channel="C7")
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    pipeline.on_new_articles(ingest(wstore, seed_drafts()[:1]), backfill=False)
    printed: list[str] = []
    sender = ConsoleSender(printed.append)
    pipeline.deliver_pending(sender, channels=lambda c: c == "console")
    warnings = [p for p in printed if "is broken" in p]
    assert len(warnings) == 1 and "unwatch 2" in warnings[0]
    assert any("🔔 Watch #1" in p for p in printed)
    pipeline.deliver_pending(sender, channels=lambda c: c == "console")
    assert len([p for p in printed if "is broken" in p]) == 1
    # the Slack channel's notice is left for the Slack front end
    assert [n["watch_id"] for n in wstore.pending_watch_notices()] == [slack]


def test_m901_upgrade_keeps_watches_and_feed_notices(db_file: Path) -> None:
    from sqlite_utils import Database

    from bot.schema import migrations

    db = Database(db_file)
    migrations.apply(db, stop_before="m901_watch_health")
    db.execute("INSERT INTO watches(channel, query, mode, active) VALUES ('C1', 'oil', "
               "'central', 1)")
    db.execute("INSERT INTO feed_notices(feed_id, channel, kind, text, created_at) VALUES "
               "(3, 'C1', 'disabled', 'Feed 3 is off', '2026-01-01')")
    db.conn.commit()
    db.close()
    store = Store(db_file)
    try:
        (watch,) = store.active_watches()
        assert watch.query == "oil" and watch.broken is None
        assert [n["text"] for n in store.pending_feed_notices()] == ["Feed 3 is off"]
        assert store.add_feed_notice(3, "C1", "disabled", "again", "2026-01-02") is None
        assert store.pending_watch_notices() == []
        assert store.mark_watch_broken(watch.id, "why", "notice", "2026-01-03")
        assert not store.mark_watch_broken(watch.id, "why", "notice", "2026-01-04")
        assert [n["text"] for n in store.pending_watch_notices()] == ["notice"]
        assert store.integrity_check() == "ok"
    finally:
        store.close()
