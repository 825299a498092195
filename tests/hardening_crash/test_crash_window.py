"""The crash window of delivery, deterministic and fast: the process dies after the sender's
post went out and before the alert is marked sent (simulated by a BaseException escaping the
sender, as SIGKILL would stop everything there).  The next process finds the post instead of
posting again; without ``find_posted`` (the console) it posts again."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.alerts import AlertPipeline, AlertView, DigestView
from bot.ingest import ArticleDraft, ingest_drafts
from bot.store import Store
from tests.hardening_crash.news import TOPIC, topic_item
from watchlists.decide import iso


class Killed(BaseException):
    pass


class Channel:
    """What Slack holds: posts by (channel, alert_id)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, int, str]] = []


class Sender:
    def __init__(self, slack: Channel, *, die_after_post: bool = False,
                 can_look_up: bool = True) -> None:
        self.slack = slack
        self.die_after_post = die_after_post
        if not can_look_up:
            self.find_posted = None  # type: ignore[assignment]
        self.lookups = 0

    def post(self, channel: str, view: AlertView | DigestView, thread_ts: str | None) -> str:
        assert isinstance(view, AlertView)
        ts = f"{len(self.slack.posts) + 1}.0"
        self.slack.posts.append((channel, view.alert_id, ts))
        if self.die_after_post:
            raise Killed
        return ts

    def find_posted(self, channel: str, view: AlertView | DigestView,
                    thread_ts: str | None, since: str) -> str | None:
        self.lookups += 1
        assert isinstance(view, AlertView)
        return next((ts for c, a, ts in self.slack.posts
                     if c == channel and a == view.alert_id), None)


def _setup(db: Path) -> None:
    store = Store(db)
    try:
        store.add_watch(channel="C1", query=TOPIC, understood="", mode="central",
                        created_by="U1", created_at="2026-01-05T09:00:00+00:00")
        items = [topic_item(n) for n in (1, 2)]
        ids = ingest_drafts(store, [ArticleDraft(title=i.title, text=i.text, source="W",
                                                 url=f"http://news.test/{i.n}")
                                    for i in items]).new_ids
        AlertPipeline(store, pace=0).on_new_articles(ids, backfill=False)
    finally:
        store.close()


@pytest.mark.parametrize("can_look_up", [True, False])
def test_killed_after_the_post_is_not_posted_again(tmp_path: Path, can_look_up: bool) -> None:
    db = tmp_path / "w.db"
    _setup(db)
    slack = Channel()
    store = Store(db)  # the first process: dies right after Slack took the first post
    with pytest.raises(Killed):
        AlertPipeline(store, pace=0).deliver_pending(Sender(slack, die_after_post=True))
    first = store.list_alerts()[0]
    assert first.status == "pending" and first.posting_at is not None  # outcome unknown
    store.close()
    store = Store(db)  # the restarted process
    try:
        sender = Sender(slack, can_look_up=can_look_up)
        report = AlertPipeline(store, pace=0).deliver_pending(sender)
        alerts = store.list_alerts()
        assert report.sent == 2 and {a.status for a in alerts} == {"sent"}
        per_alert = [a for _, a, _ in slack.posts]
        if can_look_up:
            assert per_alert == [alerts[0].id, alerts[1].id]  # once each
            assert sender.lookups == 1  # only the alert whose outcome was unknown
            assert alerts[0].ts == slack.posts[0][2]
        else:  # the console cannot look up: at-least-once, as documented
            assert per_alert == [alerts[0].id, alerts[0].id, alerts[1].id]
    finally:
        store.close()


def test_a_definite_refusal_needs_no_lookup(tmp_path: Path) -> None:
    from bot.alerts import DeliveryError

    db = tmp_path / "w.db"
    _setup(db)
    slack = Channel()

    class Refusing(Sender):
        def post(self, channel: str, view: AlertView | DigestView,
                 thread_ts: str | None) -> str:
            raise DeliveryError("503", retry_after=600)

    store = Store(db)
    try:
        pipeline = AlertPipeline(store, pace=0, sleeper=lambda s: None)
        assert pipeline.deliver_pending(Refusing(slack)).retrying == 1
        first = store.list_alerts()[0]
        assert first.posting_at is None and first.next_attempt_at is not None
        sender = Sender(slack)
        later = pipeline.clock().replace(year=2099)
        assert pipeline.deliver_pending(sender, now=later).sent == 2
        assert sender.lookups == 0
        assert iso(later) > first.next_attempt_at
    finally:
        store.close()


def test_a_feed_notice_is_not_posted_twice_after_a_crash(tmp_path: Path) -> None:
    """serve posts a feed notice ("feed 3 was switched off"), then marks it delivered: killed
    in between, the next run finds it in the channel's history instead of posting again."""
    from slack_sdk import WebClient

    from bot.slack_app import deliver_feed_notices
    from bot.store import utcnow_iso
    from tests.hardening_crash.fault_slack import FaultySlack

    fake = FaultySlack(lifetime=30).start()
    store = Store(tmp_path / "n.db")
    try:
        store.add_feed_notice(3, "C111", "disabled", "Feed 3 is off", utcnow_iso())
        client = WebClient(token="xoxb-t", base_url=fake.api_url)

        class DiesAfterPost(WebClient):
            def chat_postMessage(self, **kwargs: object) -> object:  # type: ignore[override]
                client.chat_postMessage(**kwargs)  # type: ignore[arg-type]
                raise Killed

        with pytest.raises(Killed):
            deliver_feed_notices(store, DiesAfterPost(token="xoxb-t", base_url=fake.api_url))
        assert len(store.pending_feed_notices()) == 1  # not marked: the crash window
        assert deliver_feed_notices(store, client) == 0
        assert store.pending_feed_notices() == []
        assert [m["text"] for m in fake.accepted()] == ["Feed 3 is off"]
    finally:
        store.close()
        fake.stop()
