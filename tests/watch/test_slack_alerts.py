"""Alerts through the fake Slack (a local HTTP server): posted to the watch's channel,
escaped, unfurling off, threaded for duplicates, retried through 429 and 5xx, nothing lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.alerts import AlertPipeline
from bot.demo_articles import SYNDICATED
from bot.settings import Settings
from bot.slack_app import deliver_alerts, make_alert_sender, make_client
from bot.store import Store
from handlers.alerts import SlackSender
from tests.slack.fake_slack import FakeSlack
from tests.watch.conftest import FakeClock, draft, ingest, seed_drafts
from watchlists.decide import iso

TOPIC = "deportation flights to Venezuela"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    f = FakeSlack(lifetime=60).start()
    yield f
    f.stop()


def watch(store: Store, clock: FakeClock, channel: str = "C0DESK") -> int:
    return store.add_watch(channel=channel, query=TOPIC, understood="", mode="central",
                           created_by="U1", created_at=iso(clock()))


def bare_client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.api_url)  # no retry handlers


def test_alerts_are_posted_escaped_threaded_and_unfurl_free(
    wstore: Store, clock: FakeClock, fake: FakeSlack
) -> None:
    wid = watch(wstore, clock)
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    nasty = seed_drafts()[0]
    nasty.title = "<!channel> Deportation flights & <https://evil.example|click> to Venezuela"
    pipeline.on_new_articles(ingest(wstore, [nasty]), backfill=False)
    copy = draft(SYNDICATED[1], SYNDICATED[4], source=SYNDICATED[2])
    pipeline.on_new_articles(ingest(wstore, [copy]), backfill=False)
    report = pipeline.deliver_pending(SlackSender(bare_client(fake)))
    assert (report.sent, report.threaded) == (2, 1)
    first, reply = fake.of("chat.postMessage")
    assert first.body["channel"] == "C0DESK" and reply.body["channel"] == "C0DESK"
    raw = str(first.body)
    assert "<!channel>" not in raw and "&lt;!channel&gt;" in raw
    assert "<https://evil.example|click>" not in raw
    assert first.body["unfurl_links"] in (False, "0", "false", 0)
    assert "thread_ts" not in first.body or not first.body["thread_ts"]
    [root] = [a for a in wstore.list_alerts() if a.thread_ts is None]
    assert reply.body["thread_ts"] == root.ts
    assert "Also reported by" in reply.body["text"]
    actions = next(b for b in first.body["blocks"] if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == [
        "ww_mute", "ww_unwatch", "ww_not_relevant"]
    assert actions["elements"][0]["value"] == str(wid)


def test_429_and_5xx_are_retried_and_nothing_is_lost(
    wstore: Store, clock: FakeClock, fake: FakeSlack
) -> None:
    watch(wstore, clock)
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    pipeline.on_new_articles(ingest(wstore, seed_drafts()[:2]), backfill=False)
    fake.fail_next("chat.postMessage", 429, retry_after=7)
    fake.fail_next("chat.postMessage", 503, retry_after=None)
    report = pipeline.deliver_pending(SlackSender(bare_client(fake)))
    assert report.sent == 2
    assert 7 in clock.slept  # waited what Slack asked
    # Slack down for longer: alerts stay pending with a next attempt, then go out
    pipeline.on_new_articles(ingest(wstore, seed_drafts()[2:3]), backfill=False)
    fake.fail_next("chat.postMessage", 429, retry_after=600, times=1)
    report = pipeline.deliver_pending(SlackSender(bare_client(fake)))
    assert report.sent == 0 and report.retrying == 1
    clock.advance(601)
    assert pipeline.deliver_pending(SlackSender(bare_client(fake))).sent == 1
    assert {a.status for a in wstore.list_alerts()} == {"sent"}
    assert len([c for c in fake.of("chat.postMessage")]) == 3 + 3  # 3 posts + 3 refusals


def test_gone_channel_is_a_permanent_failure(wstore: Store, clock: FakeClock) -> None:
    class Gone:
        def chat_postMessage(self, **kw: object) -> object:
            from slack_sdk.errors import SlackApiError
            from slack_sdk.web.slack_response import SlackResponse

            resp = SlackResponse(client=None, http_verb="POST", api_url="x", req_args={},
                                 data={"ok": False, "error": "channel_not_found"},
                                 headers={}, status_code=200)
            raise SlackApiError("channel_not_found", resp)

    watch(wstore, clock)
    pipeline = AlertPipeline(wstore, clock=clock, sleeper=clock.sleep)
    pipeline.on_new_articles(ingest(wstore, seed_drafts()[:1]), backfill=False)
    assert pipeline.deliver_pending(SlackSender(Gone())).failed == 1
    assert wstore.list_alerts()[0].status == "failed"


def test_serve_side_delivery_leaves_console_alerts(
    tmp_path: Path, clock: FakeClock, fake: FakeSlack
) -> None:
    from bot.wiring import build

    settings = Settings(db_path=tmp_path / "serve.db", slack_bot_token="xoxb-test",
                        slack_api_url=fake.api_url)
    app = build(settings, clock=clock, seed=False)
    try:
        app.alerts = AlertPipeline(app.store, clock=clock, sleeper=clock.sleep)
        watch(app.store, clock, channel="C0DESK")
        watch(app.store, clock, channel="console")
        app.alerts.on_new_articles(ingest(app.store, seed_drafts()[:1]), backfill=False)
        deliver_alerts(app, make_alert_sender(make_client(settings)))
        assert [c.body["channel"] for c in fake.of("chat.postMessage")] == ["C0DESK"]
        assert sorted((a.channel, a.status) for a in app.store.list_alerts()) == [
            ("C0DESK", "sent"), ("console", "pending")]
    finally:
        app.close()


def test_serve_posts_alerts_from_polled_feeds(tmp_path: Path, fake: FakeSlack) -> None:
    """`wirewatch serve` end to end: the scheduler polls feeds on 127.0.0.1 carrying the five
    seed stories among near misses and off-topic news; the watch's channel gets exactly the
    five, paced one per second, and nothing else."""
    import dataclasses
    import itertools
    import os
    import queue
    import signal
    import subprocess
    import sys
    import threading

    from bot.demo import DemoFeedServer, add_demo_feeds, demo_items
    from tests.slack.test_serve import _lines

    root = Path(__file__).resolve().parents[2]
    every = demo_items()
    # the bundled corpus is indexed at start-up: the feed carries updated versions of the seeds
    updated = [dataclasses.replace(i, guid=i.guid + "-upd", text=i.text + "\n\nUpdated.")
               for i in every if i.kind == "seed"]
    silent = [i for i in every[1:] if i.kind in ("near-miss", "off-topic")]
    items = [every[0], *silent, *updated]
    server = DemoFeedServer(items, interval=None, initial=1, lifetime=90)
    server.start()
    db = tmp_path / "serve.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WIREWATCH_", "SLACK_"))}
    env.update(WIREWATCH_DB=str(db), SLACK_BOT_TOKEN="xoxb-serve", SLACK_SIGNING_SECRET="s",
               SLACK_API_URL=fake.api_url, WIREWATCH_ALLOW_PRIVATE_FEEDS="1",
               PYTHONPATH=str(root), PYTHONIOENCODING="utf-8")
    proc = None
    try:
        subprocess.run([sys.executable, "-m", "bot", "ask", "--channel", "C111", "watch", TOPIC],
                       cwd=root, env=env, check=True, capture_output=True, timeout=60)
        store = Store(db)
        add_demo_feeds(store, server, now="2000-01-01T00:00:00+00:00")
        store.close()
        subprocess.run([sys.executable, "-m", "bot", "poll", "--once"], cwd=root, env=env,
                       check=True, capture_output=True, timeout=60)  # the back catalogue
        server.release(len(items))
        store = Store(db)
        for feed in store.list_feeds():
            store.update_feed(feed["id"], next_check="2000-01-01T00:00:00+00:00")
        store.close()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--http", "--port", "0"], cwd=root, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        out: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_lines, args=(proc.stdout, out), daemon=True).start()
        posts = fake.wait_calls("chat.postMessage", 5, timeout=40)
        assert {p.body["channel"] for p in posts} == {"C111"}
        titles = " ".join(str(p.body["text"]) for p in posts)
        for seed in updated:  # every seed story, the Mexico "repatriation flights" one too
            assert seed.title[:40] in titles
        for item in silent:
            assert item.title[:30] not in titles
        gaps = [b.at - a.at for a, b in itertools.pairwise(posts)]
        assert min(gaps) >= 0.9, gaps  # paced: one post per second per channel
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        server.stop()
    assert len(fake.of("chat.postMessage")) == 5


def test_digest_message_keeps_links_whole() -> None:
    from bot.alerts import AlertView, DigestView
    from handlers.alerts import _retry_after, digest_message

    items = [AlertView(alert_id=i, watch_id=1, watch_query="q", channel="C1", article_id=i,
                       title=f"Story {i} <!here> " + "x" * 150,
                       url=f"https://news.example/{i}", source="Outlet", date="2025-03-23",
                       lead="", why=[]) for i in range(25)]
    msg = digest_message(DigestView(watch_id=1, watch_query="q", channel="C1", items=items,
                                    since=None, until="2025-03-24T08:00:00+00:00"))
    sections = [b for b in msg.blocks if b["type"] == "section"]
    assert len(sections) == 21 and "25 articles" in msg.text
    for b in sections[1:]:
        text = b["text"]["text"]
        assert text.count("<https://news.example/") == 1 and text.count(">") == 1
        assert "<!here>" not in text
    assert "… and 5 more" in str(msg.blocks[-1])
    assert _retry_after({"retry-after": "3"}) == 3.0
    assert _retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert _retry_after(None) is None


def test_watch_replies_render_as_block_kit_escaped(tmp_path: Path, clock: FakeClock) -> None:
    import json

    import handlers.alerts  # noqa: F401  (registers the renderers)
    from bot.service import Context
    from bot.wiring import build
    from handlers import blocks

    app = build(Settings(db_path=tmp_path / "r.db"), clock=clock)
    try:
        ctx = Context(channel="C1", user="U1", front_end="slack")
        reply = app.service.handle('watch deportation flights to Venezuela -"<!channel>"', ctx)
        msg = blocks.render(reply)
        raw = json.dumps(msg.blocks)
        assert "<!channel>" not in raw and "&lt;!channel&gt;" in raw
        assert "Recent articles it would have matched" in raw and "repatriation" in raw
        actions = next(b for b in msg.blocks if b["type"] == "actions")
        assert [e["action_id"] for e in actions["elements"]] == ["ww_mute", "ww_unwatch"]
        listing = blocks.render(app.service.handle("watches", ctx))
        assert "1 watch in this channel" in listing.text
        assert "#1" in json.dumps(listing.blocks)
    finally:
        app.close()
