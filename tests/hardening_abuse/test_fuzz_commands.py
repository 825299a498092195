"""Issue 8 part 4: hypothesis over the grammar and the service for the watch and feed commands
(tests/foundation/test_fuzz.py covers search/article/help).  Network-free: the fetcher refuses
every fetch.  Properties: no command ever raises; every reply is JSON; a command never changes
another channel's watches; a non-admin never changes the feeds."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.feeds.fetch import Fetcher, FetchError, FetchResult, check_url
from bot.replies import Reply
from bot.service import Context
from bot.settings import Settings
from tests.hardening_abuse.conftest import ADMIN


class NoNetwork(Fetcher):
    def check(self, url: str) -> None:
        check_url(url)
        raise FetchError("no network in this test")

    def fetch(self, url: str, **kw: Any) -> FetchResult:
        raise FetchError("no network in this test")


VERBS = ["watch", "watches", "unwatch", "stop watching", "mute", "unmute", "digest", "feed add",
         "feed remove", "feed import", "feeds", "feed", "poll", "status", "events", "who",
         "keep an eye on", "what are we watching here?"]
ARGS = ["1", "2", "3", "0", "-1", "99999999999999999999", "for", "until", "daily", "off", "2h",
        "99999d", "08:30", "99:99", "tomorrow", "99999-01-01", "since", "OR", "AND", "NOT",
        "(", ")", '"', "-", "actor:", "place:", "type:", "source:", "mode:any", "in",
        "<#C2|other>", "<#C1|here>", "#general", "<@U1>", "<!channel>", "\u202e", "\x00",
        "\x1b[0m", "deportation", "flights", "Venezuela", "http://127.0.0.1/",
        "file:///etc/passwd", "gopher://x/", "https://feeds.example/rss", "/etc/passwd",
        "'; DROP TABLE watches; --", "*", "NEAR(", "😀", "ß", "İ"]
commands = st.one_of(
    st.tuples(st.sampled_from(VERBS),
              st.lists(st.one_of(st.sampled_from(ARGS), st.text(max_size=12)), max_size=6))
    .map(lambda t: " ".join([t[0], *t[1]])),
    st.text(max_size=200),
)
contexts = st.sampled_from([
    Context(channel="C1", user="U1", front_end="slack"),
    Context(channel="C1", user="U2", front_end="slack"),
    Context(channel="C2", user="U2", front_end="slack"),
    Context(channel="C2", user=ADMIN, front_end="slack"),
    Context(channel="console", user=None, front_end="console"),
])


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from bot.ingest import ensure_corpus
    from bot.wiring import build

    db: Path = tmp_path_factory.mktemp("fuzzw") / "fuzz.db"
    settings = Settings(db_path=db, admins=frozenset({ADMIN}))
    app = build(settings, fetcher=NoNetwork(settings), seed=False, backfill=False)
    ensure_corpus(app.store, None)
    for ctx in (Context(channel="C1", user="U1", front_end="slack"),
                Context(channel="C2", user="U2", front_end="slack")):
        app.service.handle("watch deportation flights", ctx)
    app.store.add_feed("https://feeds.example/rss", now="2026-01-01T00:00:00+00:00",
                       channel="C1")
    yield app
    app.close()


def _rows(app: Any, table: str, where: str = "", args: tuple[Any, ...] = ()) -> list[Any]:
    sql = f"SELECT * FROM {table} {where} ORDER BY id"
    return [tuple(r) for r in app.store.db.execute(sql, list(args)).fetchall()]


def _feed_set(app: Any) -> list[Any]:
    return [tuple(r) for r in app.store.db.execute(
        "SELECT f.id, f.url, ff.channel FROM feeds f LEFT JOIN feed_followers ff "
        "ON ff.feed_id = f.id ORDER BY f.id, ff.channel").fetchall()]


@given(commands, contexts)
@settings(max_examples=3000 if os.environ.get("WIREWATCH_LONG_TESTS") else 300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_watch_and_feed_commands_never_raise_nor_cross_channels(
        fuzz_app: Any, text: str, ctx: Context) -> None:
    others = _rows(fuzz_app, "watches", "WHERE channel != ?", (ctx.channel,))
    feeds = _feed_set(fuzz_app)
    reply = fuzz_app.service.handle(text, ctx)
    assert isinstance(reply, Reply)
    data = reply.to_dict()
    json.dumps(data)
    if data["kind"] == "error":
        assert data["message"] and "Traceback" not in data["message"]
    # `watch … in <#C2|other>` may add a watch to another channel; nothing else may touch them
    after = _rows(fuzz_app, "watches", "WHERE channel != ?", (ctx.channel,))
    assert after[: len(others)] == others, (text, ctx)
    if ctx.user != ADMIN and ctx.front_end == "slack":
        assert _feed_set(fuzz_app) == feeds, (text, ctx)  # `poll` (open) updates health only
