"""Slack faults: the fake Slack answers 429 with Retry-After, 503, timeouts and connection
resets (some after it accepted the message) for a while.  When it recovers every alert is in
its channel exactly once, in order per channel; nothing is dropped; ``status`` shows the
backlog while Slack is down.

Runs in-process through real HTTP (slack_sdk's WebClient → the fake on 127.0.0.1) with an
injected clock, so waits for Retry-After and backoff cost no real time; only the client's
own timeout (0.4 s) is real.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.alerts import AlertPipeline, AlertView, DigestView
from bot.ingest import ArticleDraft, ingest_drafts
from bot.settings import Settings
from bot.wiring import Wirewatch as App
from bot.wiring import build
from handlers.alerts import SlackSender
from tests.hardening_crash.fault_slack import Fault, FaultySlack
from tests.hardening_crash.news import TOPIC, topic_item
from tests.watch.conftest import FakeClock
from watchlists.decide import iso

CHANNELS = ("C111", "C222")
CLIENT_TIMEOUT = 0.4


class Clock(FakeClock):
    """The watch tests' fake clock, starting on a Monday morning of 2026."""

    def __init__(self) -> None:
        super().__init__(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))


@pytest.fixture
def fake() -> Iterator[FaultySlack]:
    f = FaultySlack(lifetime=90).start()
    yield f
    f.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(tmp_path: Path, clock: Clock) -> Iterator[App]:
    a = build(Settings(db_path=tmp_path / "faults.db"), clock=clock, seed=False)
    a.alerts = AlertPipeline(a.store, clock=clock, sleeper=clock.sleep)
    for channel in CHANNELS:
        a.store.add_watch(channel=channel, query=TOPIC, understood="", mode="central",
                          created_by="U1", created_at=iso(clock()))
    yield a
    a.close()


def sender(fake: FaultySlack) -> SlackSender:
    # like serve's alert client (bot.slack_app.make_alert_sender): no slack_sdk retries
    return SlackSender(WebClient(token="xoxb-t", base_url=fake.api_url,
                                 timeout=CLIENT_TIMEOUT, retry_handlers=[]))


class Blind:
    """A sender that cannot look a post up (what the pipeline did before): posts again."""

    def __init__(self, inner: SlackSender) -> None:
        self.inner = inner

    def post(self, channel: str, view: AlertView | DigestView, thread_ts: str | None) -> str:
        return self.inner.post(channel, view, thread_ts)


def new_articles(app: App, first: int, count: int) -> list[int]:
    drafts = [ArticleDraft(title=i.title, text=i.text, source="Topic Wire",
                           url=f"http://news.test/{i.n}", published=i.published.isoformat())
              for i in (topic_item(n) for n in range(first, first + count))]
    ids = ingest_drafts(app.store, drafts).new_ids
    assert len(ids) == count
    app.alerts.on_new_articles(ids, backfill=False)
    return ids


def fault_mix(rng: random.Random, n: int) -> list[Fault]:
    kinds = [
        lambda: Fault("429", retry_after=rng.choice([1, 3, 45, 120])),
        lambda: Fault("503"),
        lambda: Fault("timeout", seconds=CLIENT_TIMEOUT + 0.4, posted=rng.random() < 0.5),
        lambda: Fault("reset", posted=rng.random() < 0.5),
    ]
    return [rng.choice(kinds)() for _ in range(n)]


def drain(app: App, clock: Clock, fake: FaultySlack, snd: object, rounds: int = 80) -> int:
    """Deliver until nothing is pending, as serve's loop does (every 30 s)."""
    for n in range(rounds):
        app.alerts.deliver_pending(snd)  # type: ignore[arg-type]
        if app.store.counts()["alerts_pending"] == 0:
            return n + 1
        clock.advance(30)
    raise AssertionError(f"still pending after {rounds} rounds; faults left "
                         f"{fake.pending_faults('chat.postMessage')}")


def check_once_in_order(app: App, fake: FaultySlack) -> None:
    alerts = app.store.list_alerts()
    assert alerts and {a.status for a in alerts} == {"sent"}, "an alert was dropped"
    posts = [m for m in fake.accepted() if m.get("metadata")]
    per = Counter((m["channel"], m["metadata"]["event_payload"]["article_id"]) for m in posts)
    assert {k: v for k, v in per.items() if v > 1} == {}, "an alert was posted twice"
    assert set(per) == {(a.channel, a.article_id) for a in alerts}
    for channel in CHANNELS:
        posted = [m["metadata"]["event_payload"]["alert_id"]
                  for m in fake.messages.get(channel, [])]
        assert posted == sorted(a.id for a in alerts if a.channel == channel), (
            f"out of order in {channel}")
    ts = {(m["channel"], m["metadata"]["event_payload"]["article_id"]): m["ts"] for m in posts}
    assert {(a.channel, a.article_id): a.ts for a in alerts} == ts


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_alert_once_in_order_through_a_fault_storm(
    app: App, clock: Clock, fake: FaultySlack, seed: int
) -> None:
    rng = random.Random(seed)
    fake.schedule("chat.postMessage", fault_mix(rng, 14))
    fake.schedule("conversations.history", [Fault("429", retry_after=2), Fault("503")])
    new_articles(app, 1, 4)
    app.alerts.deliver_pending(sender(fake))
    new_articles(app, 5, 3)  # more news while Slack is still failing
    drain(app, clock, fake, sender(fake))
    assert fake.pending_faults("chat.postMessage") == 0  # every fault was met
    check_once_in_order(app, fake)
    assert len(app.store.list_alerts()) == 7 * len(CHANNELS)


def test_accepted_but_unanswered_posts_are_not_posted_again(
    app: App, clock: Clock, fake: FaultySlack
) -> None:
    fake.schedule("chat.postMessage", [Fault("timeout", seconds=0.8, posted=True),
                                       Fault("reset", posted=True),
                                       Fault("reset", posted=False),
                                       Fault("timeout", seconds=0.8, posted=False)])
    new_articles(app, 1, 3)
    drain(app, clock, fake, sender(fake))
    check_once_in_order(app, fake)
    assert fake.faults_served == {"timeout": 2, "reset": 2}


def test_the_check_sees_doubles_from_a_blind_sender(
    app: App, clock: Clock, fake: FaultySlack
) -> None:
    """Without the lookup, Slack's accepted-but-unanswered posts are posted again: the
    assertion above would catch it (this is what the fix prevents)."""
    fake.schedule("chat.postMessage", [Fault("timeout", seconds=0.8, posted=True),
                                       Fault("reset", posted=True)])
    new_articles(app, 1, 2)
    drain(app, clock, fake, Blind(sender(fake)))
    with pytest.raises(AssertionError, match="posted twice"):
        check_once_in_order(app, fake)


def test_a_long_outage_keeps_everything_and_status_shows_the_backlog(
    app: App, clock: Clock, fake: FaultySlack
) -> None:
    from bot.render import render
    from bot.service import Context
    from handlers import blocks

    fake.schedule("chat.postMessage", [Fault("503")] * 40)
    new_articles(app, 1, 5)
    for _ in range(6):  # ~3 minutes of Slack down
        app.alerts.deliver_pending(sender(fake))
        clock.advance(30)
    ctx = Context(channel="C111", user="U1", front_end="console")
    reply = app.service.handle("status", ctx)
    assert reply.to_dict()["alerts_pending"] == 10
    text = render(reply, ansi=False)
    assert "10 alerts waiting to be posted" in text, text
    slack_text = str(blocks.render(reply).blocks)
    assert "10 alerts waiting to be posted" in slack_text, slack_text
    assert not fake.accepted()
    fake.schedule("chat.postMessage", [])
    with fake._mlock:
        fake._schedule["chat.postMessage"].clear()  # Slack is back
    drain(app, clock, fake, sender(fake))
    check_once_in_order(app, fake)
    after = render(app.service.handle("status", ctx), ansi=False)
    assert "waiting to be posted" not in after


@pytest.mark.parametrize("fault", [Fault("timeout", seconds=0.8, posted=True),
                                   Fault("reset", posted=True), Fault("503")])
def test_a_daily_digest_is_posted_once_through_a_fault(
    app: App, clock: Clock, fake: FaultySlack, fault: Fault
) -> None:
    wid = app.store.channel_watches("C111")[0].id
    app.store.update_watch(wid, digest_time="09:30", digest_last_sent=iso(clock()))
    new_articles(app, 1, 3)
    app.alerts.deliver_pending(sender(fake))  # the other channel's plain alerts go out
    fake.schedule("chat.postMessage", [fault])
    clock.advance(3600)  # 10:00: due
    for _ in range(4):
        app.alerts.deliver_pending(sender(fake))
        clock.advance(30)
    digests = [m for m in fake.accepted()
               if (m.get("metadata") or {}).get("event_type") == "wirewatch_digest"]
    assert len(digests) == 1, digests
    assert digests[0]["channel"] == "C111"
    sent = [a for a in app.store.list_alerts(watch_id=wid)]
    assert len(sent) == 3 and {a.ts for a in sent} == {digests[0]["ts"]}
    assert fake.faults_served == {fault.kind: 1}
