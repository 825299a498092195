"""Watch commands through the service: replies, JSON contract, ownership, channels."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bot.alerts import AlertPipeline
from bot.render import render
from bot.replies import ErrorReply, TextReply, WatchesReply, WatchReply
from bot.service import Context
from bot.settings import Settings
from bot.wiring import Wirewatch, build
from tests.watch.conftest import (
    FakeClock,
    RecordingSender,
    StaticAccess,
    ingest,
    seed_drafts,
)

HERE = Context(channel="C1", user="U1", front_end="slack")
OTHER_USER = Context(channel="C1", user="U2", front_end="slack")
ELSEWHERE = Context(channel="C2", user="U1", front_end="slack")


@pytest.fixture
def app(tmp_path: Path, clock: FakeClock) -> Wirewatch:
    settings = Settings(db_path=tmp_path / "svc.db", admins=frozenset({"UADMIN"}))
    a = build(settings, clock=clock)  # indexes the bundled corpus
    yield a
    a.close()


def test_watch_reply_explains_and_shows_recent_matches(app: Wirewatch) -> None:
    reply = app.service.handle("watch deportation flights to Venezuela", HERE)
    assert isinstance(reply, WatchReply) and reply.created
    data = reply.to_dict()
    assert data["kind"] == "watch"
    assert {"id", "channel", "query", "understood"} <= set(data["watch"])
    assert data["watch"]["channel"] == "C1"
    assert "repatriation" in data["watch"]["understood"]
    assert len(data["matches"]) == 5
    assert any(m["title"].startswith("Mexico, Venezuela") for m in data["matches"])
    json.dumps(data)
    text = render(reply)
    assert "Recent articles it would have matched" in text and "why:" in text


def test_watch_in_another_channel_and_plain_english(app: Wirewatch) -> None:
    member = replace(HERE, access=StaticAccess(members={"C0DESK": {"U1"}}))
    reply = app.service.handle("keep an eye on Tren de Aragua in <#C0DESK|desk>", member)
    assert isinstance(reply, WatchReply) and reply.watch.channel == "C0DESK"
    assert "in #C0DESK" in reply.message
    reply = app.service.handle("watch oil in #desk", HERE)  # a bare name from Slack: no ID
    assert isinstance(reply, ErrorReply) and "link" in reply.message
    console = Context(channel="console", user="me", front_end="console")
    reply = app.service.handle("watch oil in #desk", console)
    assert isinstance(reply, WatchReply) and reply.watch.channel == "desk"
    again = app.service.handle("watch deportation flights", HERE)
    same = app.service.handle("watch deportation flights", HERE)
    assert isinstance(again, WatchReply) and isinstance(same, WatchReply)
    assert same.watch.id == again.watch.id and not same.created


def test_malformed_query_points_at_the_error(app: Wirewatch) -> None:
    reply = app.service.handle('watch deportation ("flights', HERE)
    assert isinstance(reply, ErrorReply) and reply.code == "bad_command"
    assert "never closed" in reply.message and reply.hint and "^" in reply.hint
    assert app.store.channel_watches("C1") == []


def test_watches_lists_the_channels_own(app: Wirewatch) -> None:
    app.service.handle("watch deportation flights to Venezuela", HERE)
    app.service.handle("watch oil OR sanctions", ELSEWHERE)
    reply = app.service.handle("what are we watching here?", HERE)
    assert isinstance(reply, WatchesReply)
    data = reply.to_dict()
    assert data["kind"] == "watches" and [w["query"] for w in data["watches"]] == [
        "deportation flights to Venezuela"]
    assert "0 alerts" in render(reply)


def test_only_creator_or_admin_and_only_from_its_channel(app: Wirewatch) -> None:
    wid = app.service.handle("watch deportation flights", HERE).watch.id  # type: ignore[attr-defined]
    reply = app.service.handle(f"unwatch {wid}", ELSEWHERE)
    assert isinstance(reply, ErrorReply) and reply.code == "not_found"
    # an admin elsewhere may only remove it (see test_admin_unwatches_from_anywhere)
    reply = app.service.handle(f"mute {wid} for 2h", Context(channel="C2", user="UADMIN"))
    assert isinstance(reply, ErrorReply) and reply.code == "not_found"
    reply = app.service.handle(f"stop watching {wid}", OTHER_USER)
    assert isinstance(reply, ErrorReply) and reply.code == "forbidden"
    assert app.store.get_watch(wid).active  # type: ignore[union-attr]
    reply = app.service.handle(f"mute {wid} for 2h", OTHER_USER)
    assert isinstance(reply, ErrorReply) and reply.code == "forbidden"
    reply = app.service.handle(f"unwatch {wid}", Context(channel="C1", user="UADMIN"))
    assert isinstance(reply, TextReply) and "Stopped watching" in reply.text
    assert app.store.channel_watches("C1") == []
    reply = app.service.handle(f"unwatch {wid}", HERE)
    assert isinstance(reply, ErrorReply) and reply.code == "not_found"


def test_mute_unmute_digest(app: Wirewatch, clock: FakeClock) -> None:
    wid = app.service.handle("watch deportation flights", HERE).watch.id  # type: ignore[attr-defined]
    reply = app.service.handle(f"mute {wid} for 2h", HERE)
    assert isinstance(reply, WatchReply) and reply.watch.muted_until == "2025-03-24T11:00:00+00:00"
    reply = app.service.handle(f"mute {wid} until 2025-03-25 08:00", HERE)
    assert isinstance(reply, WatchReply)
    assert reply.watch.muted_until == "2025-03-25T08:00:00+00:00"
    reply = app.service.handle(f"mute {wid} until 2020-01-01", HERE)
    assert isinstance(reply, ErrorReply) and "past" in reply.message
    reply = app.service.handle(f"mute {wid}", HERE)
    assert isinstance(reply, WatchReply) and "unmute" in reply.message
    reply = app.service.handle(f"unmute {wid}", HERE)
    assert isinstance(reply, WatchReply) and reply.watch.muted_until is None
    reply = app.service.handle(f"digest {wid} daily 08:30", HERE)
    assert isinstance(reply, WatchReply) and reply.watch.digest_time == "08:30"
    assert "digest 08:30" in render(reply)
    reply = app.service.handle(f"digest {wid} off", HERE)
    assert isinstance(reply, WatchReply) and reply.watch.digest_time is None


def test_not_relevant_is_recorded_and_counted(app: Wirewatch, clock: FakeClock) -> None:
    wid = app.service.handle("watch deportation flights to Venezuela", HERE).watch.id  # type: ignore[attr-defined]
    pipeline = AlertPipeline(app.store, clock=clock, sleeper=clock.sleep)
    # fresh copies (different text) so they are new articles
    drafts = seed_drafts()[:2]
    for d in drafts:
        d.text += "\n\nUpdated."
    alerts = pipeline.on_new_articles(ingest(app.store, drafts), backfill=False)
    assert len(alerts) == 2
    pipeline.deliver_pending(RecordingSender(clock))
    reply = app.service.mark_not_relevant(HERE, alert_id=alerts[0]["alert_id"])
    assert isinstance(reply, TextReply) and "noted" in reply.text
    reply = app.service.mark_not_relevant(OTHER_USER, watch_id=wid,
                                          article_id=alerts[0]["article_id"])
    assert isinstance(reply, TextReply) and "Already" in reply.text
    reply = app.service.mark_not_relevant(ELSEWHERE, alert_id=alerts[1]["alert_id"])
    assert isinstance(reply, ErrorReply) and reply.code == "not_found"
    reply = app.service.not_relevant(wid, alerts[1]["article_id"], HERE)  # the Slack button
    assert isinstance(reply, TextReply) and "noted" in reply.text
    reply = app.service.mark_not_relevant(HERE, alert_id=99999)
    assert isinstance(reply, ErrorReply)
    listing = app.service.handle("watches", HERE)
    assert isinstance(listing, WatchesReply)
    assert (listing.watches[0].alerts, listing.watches[0].not_relevant) == (2, 2)
    assert "2 marked not relevant" in render(listing)


def test_bad_ids_change_nothing(app: Wirewatch) -> None:
    for text in ("unwatch 999", "mute 999 for 2h", "unmute 999", "digest 999 off"):
        reply = app.service.handle(text, HERE)
        assert isinstance(reply, ErrorReply) and reply.code == "not_found", text


# -- issue 17: depth bombs are refused; broken watches show as broken; admins remove any --------

BOMB = "(" * 242 + "deportation" + ")" * 242


def test_a_depth_bomb_is_refused_before_it_is_stored(app: Wirewatch) -> None:
    reply = app.service.handle(f"watch {BOMB}", HERE)
    assert isinstance(reply, ErrorReply) and reply.code == "bad_command"
    assert "nests too deep" in reply.message and "limit is 20" in reply.message
    assert reply.hint and "^" in reply.hint
    assert app.store.channel_watches("C1") == []


def _broken_watch(app: Wirewatch, clock: FakeClock) -> int:
    """A poison watch stored before the fix, in a DM, then found broken by the pipeline."""
    from watchlists.decide import iso

    wid = app.store.add_watch(channel="D0ATTACK", query=BOMB, understood="", mode="central",
                              created_by="UEVIL", created_at=iso(clock()))
    pipeline = AlertPipeline(app.store, clock=clock, sleeper=clock.sleep)
    drafts = seed_drafts()[:1]
    drafts[0].text += "\n\nUpdated."
    pipeline.on_new_articles(ingest(app.store, drafts), backfill=False)
    assert app.store.get_watch(wid).broken  # type: ignore[union-attr]
    return wid


def test_watches_show_a_broken_watch_as_broken(app: Wirewatch, clock: FakeClock) -> None:
    from handlers import blocks
    from handlers.alerts import render_watches as slack_watches

    wid = _broken_watch(app, clock)
    dm = Context(channel="D0ATTACK", user="UEVIL", front_end="slack")
    listing = app.service.handle("watches", dm)
    assert isinstance(listing, WatchesReply)
    data = listing.to_dict()
    assert "nests too deep" in data["watches"][0]["broken"]
    text = render(listing)
    assert "BROKEN" in text and f"unwatch {wid}" in text
    slack = json.dumps([b.to_dict() for b in slack_watches(listing).items[0]])
    assert "broken, no longer alerts" in slack and f"unwatch {wid}" in slack
    fine = app.service.handle("watch deportation flights", HERE)
    assert isinstance(fine, WatchReply) and fine.to_dict()["watch"]["broken"] is None
    from bot.home import build_home

    home = build_home(app.service, "UADMIN", ["C1", "D0ATTACK"])  # the admin's channels
    shown = {w.id: w.broken for w in home.watches}
    assert shown[fine.watch.id] is None and "nests too deep" in (shown[wid] or "")
    view = json.dumps(blocks.render_home(home))
    assert view.count("broken, no longer alerts") == 1


def test_admin_unwatches_from_anywhere(app: Wirewatch, clock: FakeClock) -> None:
    wid = _broken_watch(app, clock)  # made in a DM nobody else can post in
    for ctx in (HERE, Context(channel="C2", user="UEVIL"), OTHER_USER):
        reply = app.service.handle(f"unwatch {wid}", ctx)
        assert isinstance(reply, ErrorReply) and reply.code == "not_found"
    reply = app.service.handle(f"mute {wid}", Context(channel="C1", user="UADMIN"))
    assert isinstance(reply, ErrorReply) and reply.code == "not_found"  # only removal
    reply = app.service.handle(f"unwatch {wid}", Context(channel="C1", user="UADMIN"))
    assert isinstance(reply, TextReply) and "in #D0ATTACK" in reply.text
    assert not app.store.get_watch(wid).active  # type: ignore[union-attr]
    reply = app.service.handle(f"unwatch {wid}", Context(channel="C1", user="UADMIN"))
    assert isinstance(reply, ErrorReply) and reply.code == "not_found"
