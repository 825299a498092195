"""End to end over real HTTP on 127.0.0.1 through the real Poller: replay feeds mixing
on-topic stories, near misses and off-topic news → exactly the on-topic alerts, once;
re-poll and restart → none again."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import httpx

from bot.alerts import AlertPipeline, AlertView
from bot.demo import DEMO_QUERY, DemoFeedServer, FeedItem, add_demo_feeds, demo_items
from bot.settings import Settings
from bot.store import Store
from bot.wiring import Wirewatch, build
from tests.watch.conftest import FakeClock, RecordingSender
from watchlists.decide import iso

ROOT = Path(__file__).resolve().parents[2]


def demo_app(db_file: Path, clock: FakeClock) -> tuple[Wirewatch, AlertPipeline]:
    """The real app around the real Poller; delivery paced on the fake clock."""
    settings = Settings(db_path=db_file, allow_private_feeds=True)
    app = build(settings, clock=clock, seed=False)
    pipeline = AlertPipeline(app.store, clock=clock, sleeper=clock.sleep)
    app.poller.on_new_articles = pipeline.on_new_articles
    return app, pipeline


def test_replay_feeds_alert_exactly_the_on_topic_stories_once(
    db_file: Path, clock: FakeClock
) -> None:
    items = demo_items()
    on_topic = {i.title for i in items if i.kind in ("seed", "duplicate")}
    assert items[0].kind == "off-topic", "the back catalogue item"
    server = DemoFeedServer(items, interval=None, lifetime=60)
    server.start()
    try:
        app, pipeline = demo_app(db_file, clock)
        app.store.add_watch(channel="C1", query=DEMO_QUERY, understood="", mode="central",
                            created_by="U1", created_at=iso(clock()))
        add_demo_feeds(app.store, server, iso(clock()))
        sender = RecordingSender(clock)
        assert app.poller.poll_once() == []  # first poll: back catalogue, no alert
        assert app.store.count_articles() == 1
        alerted: list[str] = []
        for _ in range(len(items) - 1):
            server.release()
            alerted += [a["title"] for a in app.poller.poll_once()]
            pipeline.deliver_pending(sender)
        assert sorted(alerted) == sorted(on_topic)
        assert len(sender.posts) == 6 and {p.channel for p in sender.posts} == {"C1"}
        threaded = [p for p in sender.posts if p.thread_ts]
        assert len(threaded) == 1 and isinstance(threaded[0].view, AlertView)
        assert threaded[0].view.source == "Wire Service Weekly"
        assert app.poller.poll_once() == []  # re-poll: nothing new
        assert pipeline.deliver_pending(sender).sent == 0
        app.close()

        app, pipeline = demo_app(db_file, clock)  # restart
        assert app.poller.poll_once() == []
        assert pipeline.deliver_pending(sender).sent == 0
        assert len(sender.posts) == 6
        assert len(app.store.list_alerts()) == 6
        app.close()
    finally:
        server.stop()


def test_on_topic_back_catalogue_does_not_alert(db_file: Path, clock: FakeClock) -> None:
    items = [i for i in demo_items() if i.kind == "seed"]
    server = DemoFeedServer(items, interval=None, initial=3, lifetime=60)
    server.start()
    try:
        app, _pipeline = demo_app(db_file, clock)
        app.store.add_watch(channel="C1", query=DEMO_QUERY, understood="", mode="central",
                            created_by="U1", created_at=iso(clock()))
        add_demo_feeds(app.store, server, iso(clock()))
        assert app.poller.poll_once() == []
        assert app.store.count_articles() == 3
        server.release()
        assert [a["title"] for a in app.poller.poll_once()] == [items[3].title]
        app.close()
    finally:
        server.stop()


def test_feed_server_releases_over_time_and_stops_by_itself() -> None:
    now = [100.0]
    server = DemoFeedServer(interval=5, lifetime=2, clock=lambda: now[0])
    base = server.start()
    assert server.released() == 1

    def count() -> int:
        return sum(httpx.get(u, timeout=5).text.count("<item>") for u in server.feed_urls())

    assert count() == 1
    now[0] += 11
    assert count() == 3
    assert httpx.get(f"{base}/feeds/nope.xml", timeout=5).status_code == 404
    server._timer.join(5)  # type: ignore[union-attr]
    assert server._server is None


def test_wirewatch_demo_command_fires_alerts(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WIREWATCH_", "SLACK_"))}
    env.update(PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8",
               WIREWATCH_DB=str(tmp_path / "unused.db"))
    out = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--seconds", "11", "--interval", "0.4",
         "--db", str(tmp_path / "demo.db")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "Watching here as watch 1" in text
    assert text.count("🔔 Watch #1") == 5, text
    assert "Mexico, Venezuela Begin Repatriation Flights" in text
    assert "Also reported by Wire Service Weekly" in text
    for silent in ("Colombia receives", "Chevron winds down", "Brazil hold talks", "Honduras and",
                   "Caracas FC", "Storms ground"):
        assert silent not in text, silent
    assert not (tmp_path / "unused.db").exists()


def _updated_seed_feeds() -> tuple[DemoFeedServer, list[FeedItem]]:
    """Replay feeds carrying updated versions of the seeds (new articles: the CLI indexes
    the bundled corpus first), after one back-catalogue item."""
    every = demo_items()
    items = [every[0]] + [
        dataclasses.replace(i, guid=i.guid + "-upd", text=i.text + "\n\nUpdated.")
        for i in every if i.kind == "seed"
    ]
    server = DemoFeedServer(items, interval=None, initial=1, lifetime=60)
    server.start()
    return server, items


def _cli_env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WIREWATCH_", "SLACK_"))}
    env.update(PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8", WIREWATCH_DB=str(db),
               WIREWATCH_ALLOW_PRIVATE_FEEDS="1")
    return env


def test_wirewatch_poll_prints_console_alerts(tmp_path: Path) -> None:
    server, _items = _updated_seed_feeds()
    db = tmp_path / "poll.db"
    env = _cli_env(db)

    def run(*args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr + out.stdout
        return out.stdout

    try:
        run("ask", "--channel", "console", "watch", DEMO_QUERY)
        run("ask", "--channel", "C1", "watch", DEMO_QUERY)
        store = Store(db)
        add_demo_feeds(store, server, now="2000-01-01T00:00:00+00:00")
        store.close()
        def due_now() -> None:
            store = Store(db)
            for feed in store.list_feeds():
                store.update_feed(feed["id"], next_check="2000-01-01T00:00:00+00:00")
            store.close()

        first = run("poll", "--once")  # back catalogue
        assert "🔔" not in first and "1 new article" in first, first
        server.release(2)
        due_now()
        second = run("poll", "--once")
        assert second.count("🔔 Watch #1") == 2, second
        assert "Watch #2" not in second  # channel C1's alerts wait for the Slack sender
        due_now()
        assert "🔔" not in run("poll", "--once")
        store = Store(db)
        statuses = sorted((a.channel, a.status) for a in store.list_alerts())
        store.close()
        assert statuses == [("C1", "pending")] * 2 + [("console", "sent")] * 2
    finally:
        server.stop()


def test_shell_prints_console_alerts_after_poll(tmp_path: Path) -> None:
    """`wirewatch shell`: alerts of console watches print in the shell (here after `poll`)."""
    server, items = _updated_seed_feeds()
    env = _cli_env(tmp_path / "shell.db")
    try:
        def shell(commands: str) -> str:
            out = subprocess.run([sys.executable, "-m", "bot", "shell"], input=commands,
                                 cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
            assert out.returncode == 0, out.stderr + out.stdout
            return out.stdout

        adds = "".join(f"feed add {url}\n" for url in server.feed_urls())
        first = shell(f"watch {DEMO_QUERY}\n{adds}quit\n")
        assert "Watching here as watch 1" in first and "🔔" not in first, first
        server.release(len(items))
        second = shell("poll\nquit\n")
        assert "🔔 Watch #1" in second, second
        assert "🔔" not in shell("poll\nquit\n")  # once, ever
    finally:
        server.stop()
