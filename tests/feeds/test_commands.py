"""The feed commands through the real service and wiring, and the `poll` command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.feeds.fetch import Fetcher
from bot.service import Context
from bot.settings import Settings
from bot.wiring import Wirewatch, build
from tests.feeds.conftest import FakeClock, FeedServer, Route, rss, story

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> Iterator[Wirewatch]:
    application = build(
        settings, fetcher=Fetcher(settings, read_timeout=1.0), clock=clock, seed=False
    )
    yield application
    application.close()


def ask(app: Wirewatch, text: str, **ctx: str) -> dict[str, object]:
    return app.service.handle(text, Context(**ctx)).to_dict()  # type: ignore[arg-type]


def test_feed_add_backfills_then_poll_finds_nothing_new(app: Wirewatch, server: FeedServer) -> None:
    server.routes["/rss"] = Route(body=rss([story(1), story(2)]), etag='"x"')
    out = ask(app, f"feed add {server.url('/rss')}", channel="C1", user="U1")
    assert out["kind"] == "feed" and out["new_articles"] == 2
    feed = out["feed"]
    assert isinstance(feed, dict)
    for key in ("id", "url", "title", "status", "last_polled", "error", "articles"):
        assert key in feed
    assert feed["title"] == "Test Wire" and feed["articles"] == 2 and feed["status"] == "ok"
    row = app.store.get_feed(int(feed["id"]))
    assert row and row["channel"] == "C1" and row["added_by"] == "U1"

    poll = ask(app, "poll")
    assert poll["kind"] == "poll"
    assert {k: poll[k] for k in ("feeds", "new_articles", "alerts", "errors")} == {
        "feeds": 1,
        "new_articles": 0,
        "alerts": [],
        "errors": [],
    }
    assert server.hits("/rss")[-1].headers.get("if-none-match") == '"x"'

    listing = ask(app, "feeds")
    assert listing["kind"] == "feeds"
    assert [f["articles"] for f in listing["feeds"]] == [2]  # type: ignore[index, union-attr]


def test_feed_add_discovers_the_feed_of_a_page(app: Wirewatch, server: FeedServer) -> None:
    server.routes["/site/"] = Route(
        body=b'<html><head><link rel="alternate" type="application/atom+xml" '
        b'href="/site/feed.xml"></head><body>news</body></html>',
        content_type="text/html; charset=utf-8",
    )
    server.routes["/site/feed.xml"] = Route(body=rss([story(1)]))
    out = ask(app, f"feed add <{server.url('/site/')}>")
    assert out["kind"] == "feed"
    assert out["feed"]["url"] == server.url("/site/feed.xml")  # type: ignore[index]
    assert out["discovered_from"] == server.url("/site/")


def test_feed_add_refuses_what_is_not_a_feed(app: Wirewatch, server: FeedServer) -> None:
    server.routes["/page"] = Route(
        body=b"<html><body>no feed</body></html>", content_type="text/html"
    )
    server.routes["/down"] = Route(status=503)
    out = ask(app, f"feed add {server.url('/page')}")
    assert out["kind"] == "error" and "not a feed" in str(out["message"])
    out = ask(app, f"feed add {server.url('/down')}")
    assert out["kind"] == "error" and "server said 503" in str(out["message"])
    out = ask(app, "feed add file:///etc/passwd")
    assert out["kind"] == "error" and "only http and https" in str(out["message"])
    assert app.store.list_feeds() == []


def test_ssrf_refused_through_the_command(
    settings: Settings, clock: FakeClock, server: FeedServer
) -> None:
    strict = replace(settings, allow_private_feeds=False)
    application = build(strict, clock=clock, seed=False)
    try:
        server.routes["/rss"] = Route(body=rss([story(1)]))
        out = ask(application, f"feed add {server.url('/rss')}")
        assert out["kind"] == "error" and "private, local or reserved" in str(out["message"])
        assert not server.requests
    finally:
        application.close()


def test_only_admins_manage_feeds(settings: Settings, clock: FakeClock, server: FeedServer) -> None:
    application = build(replace(settings, admins=frozenset({"UADMIN"})), clock=clock, seed=False)
    try:
        server.routes["/rss"] = Route(body=rss([story(1)]))
        denied = ask(application, f"feed add {server.url('/rss')}", user="UOTHER")
        assert denied["kind"] == "error" and denied["code"] == "forbidden"
        assert application.store.list_feeds() == []
        ok = ask(application, f"feed add {server.url('/rss')}", user="UADMIN")
        assert ok["kind"] == "feed"
        assert ask(application, "feed remove 1", user="UOTHER")["code"] == "forbidden"
        assert ask(application, "feeds", user="UOTHER")["kind"] == "feeds"
    finally:
        application.close()


def test_feed_remove(app: Wirewatch, server: FeedServer) -> None:
    server.routes["/rss"] = Route(body=rss([story(1)]))
    ask(app, f"feed add {server.url('/rss')}")
    out = ask(app, "feed remove 1")
    assert out["kind"] == "text" and "Removed feed 1" in str(out["text"])
    assert app.store.list_feeds() == [] and app.store.count_articles() == 1
    assert ask(app, "feed remove 1")["code"] == "not_found"


def test_feed_import_opml_file_and_url(app: Wirewatch, server: FeedServer, tmp_path: Path) -> None:
    opml = f"""<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>
      <outline text="World"><outline type="rss" text="A" xmlUrl="{server.url("/a")}"/>
      <outline type="rss" text="B" xmlUrl="{server.url("/b")}"/></outline>
      <outline text="bad" xmlUrl="ftp://nope/"/></body></opml>"""
    path = tmp_path / "subs.opml"
    path.write_text(opml, encoding="utf-8")
    out = ask(app, f"feed import {path}")
    assert out["kind"] == "feed_import" and len(out["added"]) == 2  # type: ignore[arg-type]
    assert out["skipped"] == ["ftp://nope/"]
    server.routes["/subs.opml"] = Route(body=opml.encode(), content_type="text/x-opml")
    again = ask(app, f"feed import {server.url('/subs.opml')}")
    assert again["already"] == 2 and again["added"] == []
    slack = ask(app, f"feed import {path}", front_end="slack")
    assert slack["code"] == "forbidden"
    # imported feeds are due now; the first poll is a backfill
    server.routes["/a"] = Route(body=rss([story(1)]))
    server.routes["/b"] = Route(status=500)
    poll = ask(app, "poll")
    assert poll["feeds"] == 2 and poll["new_articles"] == 1
    assert poll["errors"] and "server said 500" in str(poll["errors"])


def test_feeds_and_status_show_a_broken_feed_in_plain_words(
    app: Wirewatch, server: FeedServer, clock: FakeClock
) -> None:
    from bot.render import render

    server.routes["/rss"] = Route(body=rss([story(1)]))
    ask(app, f"feed add {server.url('/rss')}")
    server.routes["/rss"] = Route(status=503)
    ask(app, "poll")
    listing = app.service.handle("feeds", Context())
    text = render(listing)
    assert "failing" in text and "server said 503" in text
    status = app.service.handle("status", Context())
    assert "server said 503" in render(status)
    assert status.to_dict()["feeds"][0]["error"] == "server said 503"


def test_cli_poll_once(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/rss"] = Route(body=rss([story(1), story(2)]))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WIREWATCH_", "SLACK_"))}
    env.update(
        {
            "WIREWATCH_DB": str(tmp_path / "cli.db"),
            "WIREWATCH_ALLOW_PRIVATE_FEEDS": "1",
            "PYTHONPATH": str(ROOT),
            "PYTHONIOENCODING": "utf-8",
        }
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=120,
        )

    added = run("ask", "--json", f"feed add {server.url('/rss')}")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["new_articles"] == 2
    out = run("poll", "--once")
    assert out.returncode == 0, out.stderr
    assert "Checked 0 feed(s)" in out.stdout  # nothing is due right after adding


def test_re_adding_a_disabled_feed_switches_it_back_on(app: Wirewatch, server: FeedServer) -> None:
    server.routes["/rss"] = Route(body=rss([story(1)]))
    ask(app, f"feed add {server.url('/rss')}", channel="C1")
    app.store.update_feed(1, status="disabled", error="server said 503", error_count=5)
    app.store.add_feed_notice(1, "C1", "disabled", "off", "2026-01-01T00:00:00+00:00")
    out = ask(app, f"feed add {server.url('/rss')}", channel="C2")
    assert out["created"] is False and "back on" in str(out["message"])
    row = app.store.get_feed(1)
    assert row and row["status"] == "failing" and row["error_count"] == 0
    assert app.store.feed_followers(1) == ["C1", "C2"]
    assert app.store.pending_feed_notices() == []
    assert ask(app, "poll")["errors"] == []
    assert app.store.get_feed(1)["status"] == "ok"  # type: ignore[index]


# -- issue 17: `poll` respects holds and is rate-limited; add/import do not wait or trust ------


def test_poll_is_rate_limited_per_channel_across_restarts(
    settings: Settings, clock: FakeClock, server: FeedServer
) -> None:
    from bot.render import render

    server.routes["/rss"] = Route(body=rss([story(1)]))
    application = build(settings, fetcher=Fetcher(settings), clock=clock, seed=False)
    try:
        ask(application, f"feed add {server.url('/rss')}", channel="C1")
        hits = len(server.hits("/rss"))
        assert ask(application, "poll", channel="C1")["feeds"] == 1
        clock.advance(20)
        second = application.service.handle("poll", Context(channel="C1"))
        out = second.to_dict()
        assert out["kind"] == "poll" and out["feeds"] == 0
        assert "once a minute per channel" in str(out["message"])
        assert "once a minute" in render(second)
        assert ask(application, "poll", channel="C2")["feeds"] == 1  # another channel
        assert len(server.hits("/rss")) == hits + 2
    finally:
        application.close()
    restarted = build(settings, fetcher=Fetcher(settings), clock=clock, seed=False)
    try:  # the limit is in the database
        assert ask(restarted, "poll", channel="C1")["feeds"] == 0
        clock.advance(41)
        assert ask(restarted, "poll", channel="C1")["feeds"] == 1
    finally:
        restarted.close()


def test_poll_lists_what_it_skipped_and_until_when(app: Wirewatch, server: FeedServer) -> None:
    from bot.render import render

    server.routes["/rss"] = Route(body=rss([story(1)]))
    ask(app, f"feed add {server.url('/rss')}")
    server.routes["/rss"] = Route(status=503, headers={"Retry-After": "3600"})
    first = ask(app, "poll", channel="C1")
    assert first["feeds"] == 1 and "server said 503" in str(first["errors"])
    reply = app.service.handle("poll", Context(channel="C2"))
    out = reply.to_dict()
    assert out["feeds"] == 0 and [s["feed_id"] for s in out["skipped"]] == [1]  # type: ignore[index, union-attr]
    until = app.store.get_feed(1)["hold_until"]  # type: ignore[index]
    assert out["skipped"][0]["until"] == until  # type: ignore[index]
    text = render(reply)
    assert "skipped: feed 1" in text and until in text and "server said 503" in text


def test_poll_while_a_round_runs_answers_soon(
    app: Wirewatch, server: FeedServer, clock: FakeClock
) -> None:
    import threading

    release, started = threading.Event(), threading.Event()

    def held(h: object) -> None:
        started.set()
        release.wait(10)
        h._send(200, rss([story(1)]), {"Content-Type": "application/rss+xml"})  # type: ignore[attr-defined]

    server.routes["/held"] = Route(handler=held)
    app.store.add_feed(server.url("/held"), now=clock().isoformat())
    app.poller.manual_wait = 0.2  # (15 s in the app) how long `poll` waits for a round
    round_thread = threading.Thread(target=app.poller.poll_due)
    round_thread.start()
    try:
        assert started.wait(5)
        out = ask(app, "poll", channel="C1")
        assert round_thread.is_alive()  # answered while the round still runs
        assert out["feeds"] == 0 and "poll round is running" in str(out["message"])
    finally:
        release.set()
        round_thread.join(15)
    assert ask(app, "poll", channel="C1")["feeds"] == 1  # the busy answer used no allowance


def test_feed_add_does_not_wait_for_a_round(
    app: Wirewatch, server: FeedServer, clock: FakeClock
) -> None:
    import threading

    release, started = threading.Event(), threading.Event()

    def held(h: object) -> None:
        started.set()
        release.wait(10)
        h._send(200, rss([story(1)]), {"Content-Type": "application/rss+xml"})  # type: ignore[attr-defined]

    for n in range(3):
        server.routes[f"/held{n}"] = Route(handler=held)
        app.store.add_feed(server.url(f"/held{n}"), now=clock().isoformat())
    server.routes["/new"] = Route(body=rss([story(5), story(6)], title="New Wire"))
    round_thread = threading.Thread(target=app.poller.poll_due)
    round_thread.start()
    try:
        assert started.wait(5)
        out = ask(app, f"feed add {server.url('/new')}", channel="C1")
        assert round_thread.is_alive()  # `feed add` answered while the round still runs
        assert out["kind"] == "feed" and out["new_articles"] == 2
        opml = (f'<opml version="2.0"><body><outline xmlUrl="{server.url("/other")}"/>'
                "</body></opml>")
        server.routes["/subs.opml"] = Route(body=opml.encode(), content_type="text/x-opml")
        imported = ask(app, f"feed import {server.url('/subs.opml')}", channel="C1")
        assert round_thread.is_alive() and len(imported["added"]) == 1  # type: ignore[arg-type]
    finally:
        release.set()
        round_thread.join(15)
    assert not round_thread.is_alive()
    assert app.store.count_articles() == 3


def test_feed_import_applies_the_checks_of_feed_add(
    settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    from bot.render import render

    strict = replace(settings, allow_private_feeds=False)
    application = build(strict, clock=clock, seed=False)
    private = ["http://127.0.0.1:9/feed", "http://10.0.0.1/feed", "http://[::1]/rss",
               "http://169.254.169.254/latest/meta-data/", "http://0x7f000001/",
               "http://localhost/rss"]
    public = "http://93.184.215.14/feed"  # a public address literal: no lookup needed
    outlines = "".join(f'<outline xmlUrl="{u}"/>' for u in [*private, public, "ftp://x/"])
    path = tmp_path / "subs.opml"
    path.write_text(f'<opml version="2.0"><body>{outlines}</body></opml>', encoding="utf-8")
    try:
        reply = application.service.handle(f"feed import {path}", Context())
        out = reply.to_dict()
        assert [f["url"] for f in out["added"]] == [public]  # type: ignore[index, union-attr]
        assert out["skipped"] == [*private, "ftp://x/"]
        why = {r["url"]: r["why"] for r in out["refused"]}  # type: ignore[index, union-attr]
        assert all("private, local or reserved" in why[u] for u in private)
        assert "only http and https" in why["ftp://x/"]
        assert [f["url"] for f in application.store.list_feeds()] == [public]
        text = render(reply)
        assert "Skipped 7 (nothing stored for them)" in text and "10.0.0.1" in text
    finally:
        application.close()
