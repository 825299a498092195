from __future__ import annotations

from pathlib import Path

import pytest

from bot.replies import ArticleReply, ErrorReply, HelpReply, SearchReply, StatusReply
from bot.settings import Settings
from bot.wiring import build


@pytest.fixture
def app(db_path: Path):  # type: ignore[no-untyped-def]
    app = build(Settings(db_path=db_path))
    yield app
    app.close()


def test_first_use_indexes_bundled_corpus(app) -> None:  # type: ignore[no-untyped-def]
    assert app.seeded is not None and len(app.seeded.new_ids) == 5
    assert app.store.count_articles() == 5


def test_search_deportation_flights_lists_four_seeds(app) -> None:  # type: ignore[no-untyped-def]
    reply = app.service.handle("search deportation flights")
    assert isinstance(reply, SearchReply)
    assert reply.total >= 4 and len(reply.results) >= 4
    d = reply.to_dict()
    assert d["kind"] == "search"
    for hit in d["results"]:
        assert set(hit) >= {"article_id", "title", "snippet", "date", "source", "url", "score"}
        assert "**" in hit["snippet"]


def test_article_004_shape(app) -> None:  # type: ignore[no-untyped-def]
    # find seed 004 by its date rather than assuming an id
    hits = app.service.handle("search accept additional deportation flights")
    assert isinstance(hits, SearchReply)
    aid = next(h.article_id for h in hits.results if h.date == "2025-03-23")
    reply = app.service.handle(f"article {aid}")
    assert isinstance(reply, ArticleReply)
    d = reply.to_dict()
    assert d["kind"] == "article"
    art = d["article"]
    assert set(art) >= {"id", "title", "date", "source", "author", "url", "actors", "events",
                        "quotes"}
    assert art["date"] == "2025-03-23" and art["dateline"] == "CARACAS"


def test_errors_change_nothing(app) -> None:  # type: ignore[no-untyped-def]
    before = app.store.counts()
    for text in ["article 999", "frob", "article x", "x" * 20_000, 'search "', "search ((("]:
        reply = app.service.handle(text)
        assert isinstance(reply, (ErrorReply, SearchReply)), text
        if isinstance(reply, ErrorReply):
            assert reply.to_dict()["kind"] == "error" and reply.message
    assert app.store.counts() == before


def test_unbuilt_commands_say_not_available(app) -> None:  # type: ignore[no-untyped-def]
    # every request type parses; each is either served or answers clearly
    from bot import grammar as g

    for text in ["who Maduro", "events", "watch x", "watches", "unwatch 1", "mute 1",
                 "unmute 1", "digest 1 off", "feeds", "feed add https://e.org/x",
                 "feed remove 1", "feed import x.opml", "poll"]:
        g.parse(text)
        reply = app.service.handle(text)
        if isinstance(reply, ErrorReply):
            assert reply.message


def test_status_and_help(app) -> None:  # type: ignore[no-untyped-def]
    status = app.service.handle("status")
    assert isinstance(status, StatusReply) and status.articles == 5
    assert status.to_dict()["kind"] == "status"
    helped = app.service.handle("help search")
    assert isinstance(helped, HelpReply) and [c.name for c in helped.commands] == ["search"]
