"""Issue 17 part 1, red team: one watch must not stop alerts for everyone.

The attack: ``watch`` + 242 × ``(`` + ``deportation`` + 242 × ``)`` fits the 500-character
limit, was stored, and then made the matcher raise RecursionError on every new article
("alerting failed (RecursionError); it will be retried") for every watch of every channel,
retry after retry; made in a DM, not even an admin could remove it.

Replayed here over the real poller (a feed on 127.0.0.1), the real store and the fake Slack
Web API: the bomb is refused with the limit named; one stored before the fix is set aside as
broken, its channel told once, and every other watch keeps alerting; an admin removes it.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.feeds.fetch import Fetcher
from bot.feeds.poller import Poller
from bot.service import Context
from bot.settings import Settings
from bot.wiring import Wirewatch, build
from tests.hardening_abuse.conftest import ADMIN, HostileServer, snapshot
from watchlists.decide import iso

_watches_BOMB = "(" * 242 + "deportation" + ")" * 242
_watches_EVIL_DM = Context(channel="D0EVIL", user="UEVIL", front_end="slack")
_watches_DESK = Context(channel="C0DESK", user="U1", front_end="slack")
_watches_NEWS = Context(channel="C0NEWS", user="U2", front_end="slack")
_watches_ADMIN = Context(channel="C0DESK", user=ADMIN, front_end="slack")
_watches_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _watches_rss(items: list[tuple[str, str]]) -> bytes:
    parts = ['<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
             "<title>Wire</title><link>http://example.com/</link>"]
    for n, (title, text) in enumerate(items):
        parts.append(f"<item><guid>wire-{n}</guid><title>{title}</title>"
                     f"<link>http://example.com/{n}</link><description>{text}</description>"
                     "</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


_watches_OLD = ("Port strike ends", "Dockworkers return after a week of talks.")
_watches_NEW = (
    "Deportation flights to Venezuela resume",
    "A charter carrying deported Venezuelans landed in Caracas on Monday, the first of "
    "several repatriation flights agreed this month.",
)


class _watches_Clock:
    def __init__(self) -> None:
        self.now = _watches_START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def _watches_app(tmp_path: Path) -> Iterator[tuple[Wirewatch, Poller, _watches_Clock]]:
    """The wired app (admins set) and a real poller on it (no NLP: plain text matching)."""
    clock = _watches_Clock()
    settings = Settings(db_path=tmp_path / "rt.db", admins=frozenset({ADMIN}),
                        allow_private_feeds=True)
    app = build(settings, clock=clock, seed=False, backfill=False)
    fetcher = Fetcher(allow_private=True, connect_timeout=2, read_timeout=2, total_timeout=5)
    poller = Poller(app.store, settings, fetcher, analyzer=None, clock=clock)
    poller.on_new_articles = app.alerts.on_new_articles
    try:
        yield app, poller, clock
    finally:
        app.close()


def _watches_poll(poller: Poller, clock: _watches_Clock) -> Any:
    clock.now += timedelta(hours=1)
    return poller.poll_all(clock.now)


def test_depth_bomb_other_watches_still_alert(
    _watches_app: tuple[Wirewatch, Poller, _watches_Clock], hostile: HostileServer
) -> None:
    app, poller, clock = _watches_app
    store, service = app.store, app.service
    # 1. the attack, as typed: refused before anything is stored, with the limit named
    before = snapshot(store)
    reply = service.handle(f"watch {_watches_BOMB}", _watches_EVIL_DM).to_dict()
    assert reply["kind"] == "error" and "limit is 20 levels" in reply["message"]
    assert "^" in (reply.get("hint") or "")
    assert snapshot(store) == before
    # 2. the same watch stored before the fix (in a DM), beside the victims' watches
    poison = store.add_watch(channel="D0EVIL", query=_watches_BOMB, understood="",
                             mode="central", created_by="UEVIL", created_at=iso(clock()))
    desk = service.handle("watch deportation flights to Venezuela", _watches_DESK).to_dict()
    news = service.handle("watch Venezuela", _watches_NEWS).to_dict()
    victims = {desk["watch"]["id"], news["watch"]["id"]}
    hostile.routes["/wire"] = hostile.body(_watches_rss([_watches_OLD]))
    store.add_feed(hostile.base + "/wire", now=iso(clock()), channel="C0DESK")
    first = _watches_poll(poller, clock)  # the back catalogue: never alerts
    assert first.new_articles == 1 and first.alerts == [] and first.errors == []
    # 3. a new article: every other watch alerts; nothing is left to retry
    hostile.routes["/wire"] = hostile.body(_watches_rss([_watches_OLD, _watches_NEW]))
    report = _watches_poll(poller, clock)
    assert report.new_articles == 1
    assert not any("alerting failed" in e for e in report.errors), report.errors
    assert {a["watch_id"] for a in report.alerts} == victims
    assert store.pending_alert_articles() == {}
    broken = store.get_watch(poison)
    assert broken is not None and broken.broken and "nests too deep" in broken.broken
    # 4. it stays set aside (and quiet) on the next polls and after a restart
    hostile.routes["/wire"] = hostile.body(_watches_rss(
        [_watches_OLD, _watches_NEW, ("Venezuela deportation flights go on", "More flights.")]))
    again = _watches_poll(poller, clock)
    assert again.errors == [] and {a["watch_id"] for a in again.alerts} == victims
    notices = store.pending_watch_notices()
    assert [(n["watch_id"], n["channel"]) for n in notices] == [(poison, "D0EVIL")]
    # 5. shown as broken where its channel looks
    listing = service.handle("watches", _watches_EVIL_DM).to_dict()
    assert "nests too deep" in listing["watches"][0]["broken"]
    assert all(w["broken"] is None
               for w in service.handle("watches", _watches_DESK).to_dict()["watches"])
    # 6. an admin removes it from another channel
    gone = service.handle(f"unwatch {poison}", _watches_ADMIN).to_dict()
    assert gone["kind"] == "text" and "Stopped watching" in gone["text"]
    assert not store.get_watch(poison).active  # type: ignore[union-attr]


def test_broken_watch_notice_reaches_its_slack_channel_once_escaped(tmp_path: Path) -> None:
    from bot.alerts import AlertPipeline
    from bot.ingest import ArticleDraft, ingest_drafts
    from bot.slack_app import deliver_feed_notices, make_client
    from bot.store import Store
    from tests.slack.fake_slack import FakeSlack

    fake = FakeSlack(lifetime=60).start()
    store = Store(tmp_path / "n.db")
    try:
        query = "<!channel> " + _watches_BOMB[:200]  # an untrusted query, echoed back
        poison = store.add_watch(channel="D0EVIL", query=query, understood="", mode="central",
                                 created_by="UEVIL", created_at=iso(_watches_START))
        pipeline = AlertPipeline(store, clock=lambda: _watches_START)
        ids = ingest_drafts(store, [ArticleDraft(title=_watches_NEW[0], text=_watches_NEW[1])])
        pipeline.on_new_articles(ids.new_ids, backfill=False)
        client = make_client(Settings(db_path=tmp_path / "n.db", slack_bot_token="xoxb-rt",
                                      slack_api_url=fake.api_url))
        assert deliver_feed_notices(store, client) == 1
        assert deliver_feed_notices(store, client) == 0
        posts = fake.of("chat.postMessage")
        assert len(posts) == 1 and posts[0].body["channel"] == "D0EVIL"
        text = posts[0].body["text"]
        assert f"unwatch {poison}" in text and "broken" in text
        assert "<!channel>" not in text and "&lt;!channel&gt;" in text
        assert store.pending_watch_notices() == []
    finally:
        store.close()
        fake.stop()


def _watches_with_little_stack(work: Callable[[], None], headroom: int) -> None:
    """Run ``work`` with only ``headroom`` frames left before the recursion limit (as deep
    in a poller thread as the original report)."""
    def down(n: int) -> None:
        if n > 0:
            down(n - 1)
        else:
            work()

    down(sys.getrecursionlimit() - len(inspect.stack(0)) - headroom)


def test_every_path_over_the_deepest_accepted_query_is_shallow() -> None:
    from watchlists.document import ArticleDoc, analyze
    from watchlists.matcher import Matcher, naive_match
    from watchlists.query import MAX_DEPTH, QueryError, parse
    from watchlists.relevance import reasons, score

    deepest = [
        "(" * MAX_DEPTH + "deportation" + ")" * MAX_DEPTH,
        "(oil OR Venezuela NOT (" * (MAX_DEPTH // 3) + "flights deportation"
        + "))" * (MAX_DEPTH // 3),
        "(oil OR (Venezuela (" * (MAX_DEPTH // 3) + "flights deportation"
        + ")))" * (MAX_DEPTH // 3),
        "deportation " + "NOT " * (MAX_DEPTH - 1) + "x",
        "deportation " + "-(" * (MAX_DEPTH // 2) + "x" + ")" * (MAX_DEPTH // 2),
    ]
    adoc = analyze(ArticleDoc(id=1, title="Deportation flights to Venezuela",
                              text="Venezuela deported oil flights. " * 5))
    done: list[str] = []

    def work() -> None:
        for text in deepest:
            query = parse(text)
            assert query.explain()
            Matcher([(1, query)]).match(adoc)
            naive_match([(1, query)], adoc)
            reasons(query, adoc)
            score(query, adoc)
            done.append(text)
        for bomb in (_watches_BOMB, "NOT " * 120 + "x", "-(" * 120 + "x" + ")" * 120):
            with pytest.raises(QueryError, match="nests too deep"):
                parse(bomb)  # refused the same way however deep the caller is

    _watches_with_little_stack(work, headroom=150)
    assert done == deepest
