"""Channel access through the service (``bot.access``): `watch … in #channel` needs a member
and a channel wirewatch can post in; buttons re-check authority; channels that refuse posts
for good are paused (not retried, not counted, shown with the reason) until wirewatch is back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.alerts import AlertPipeline, DeliveryError
from bot.home import build_home
from bot.replies import ErrorReply, TextReply, WatchesReply, WatchReply
from bot.service import Context
from bot.settings import Settings
from bot.wiring import Wirewatch, build
from tests.watch.conftest import FakeClock, RecordingSender, StaticAccess, draft, ingest

TOPIC = "deportation flights to Venezuela"


def _news(app: Wirewatch, *tags: str) -> list[int]:
    """New on-topic articles (one per tag), as a poll would bring in."""
    return ingest(app.store, [draft(
        f"Deportation flights to Venezuela: {tag} {' '.join(_WORDS[n::7][:6])}",
        f"Deportation flights to Venezuela ({tag}). " + " ".join(
            f"{w} {tag} {n}." for w in _WORDS[n::3]) + " More deportation flights to "
        "Venezuela are planned.",
        source="Wire", url=f"https://news.example/{tag}",
    ) for n, tag in enumerate(tags)])


_WORDS = ["harbour", "ministry", "budget", "orchestra", "glacier", "vaccine", "railway",
    "senate", "tribunal", "festival", "copper", "harvest", "lighthouse", "satellite", "monsoon",
    "archive", "cathedral", "reservoir", "embassy", "quarry", "tariff", "pension", "stadium",
    "vineyard", "refinery", "bridge", "telescope"]


@pytest.fixture
def app(tmp_path: Path, clock: FakeClock) -> Iterator[Wirewatch]:
    a = build(Settings(db_path=tmp_path / "acc.db"), clock=clock)  # no admins: everyone
    yield a
    a.close()


def slack(channel: str = "C1", user: str = "U1", access: StaticAccess | None = None,
          via: str = "command") -> Context:
    return Context(channel=channel, user=user, front_end="slack", access=access, via=via)


def _watches(app: Wirewatch) -> list[tuple[int, str, str]]:
    return [(w.id, w.channel, w.query) for w in app.store.active_watches()]


def test_watch_in_another_channel_needs_membership(app: Wirewatch) -> None:
    access = StaticAccess(members={"CPRIV": {"U9"}, "COPEN": {"U1"}})
    refused = app.service.handle("watch oil in <#CPRIV|secret>", slack(access=access))
    assert isinstance(refused, ErrorReply) and refused.code == "forbidden"
    assert "Only members of #CPRIV" in refused.message
    unknown = app.service.handle("watch oil in <#CELSE|else>", slack(access=access))
    assert isinstance(unknown, ErrorReply) and "can't check that you are in" in unknown.message
    no_port = app.service.handle("watch oil in <#COPEN|open>", slack())  # fail closed
    assert isinstance(no_port, ErrorReply) and no_port.code == "forbidden"
    assert _watches(app) == []  # nothing stored
    ok = app.service.handle("watch oil in <#COPEN|open>", slack(access=access))
    assert isinstance(ok, WatchReply) and ok.watch.channel == "COPEN"


def test_watch_where_wirewatch_cannot_post_says_how_to_invite_it(app: Wirewatch) -> None:
    access = StaticAccess(members={"C22": {"U1"}}, bot_in={"C9"})
    for text, ctx in (("watch oil in <#C22|two>", slack(access=access)),
                      ("watch oil", slack("C22", access=access))):
        reply = app.service.handle(text, ctx)
        assert isinstance(reply, ErrorReply), text
        assert "/invite @wirewatch" in reply.message and "#C22" in reply.message
    assert _watches(app) == []


def test_watch_here_is_allowed_when_slack_cannot_tell(app: Wirewatch) -> None:
    class Unknown:
        def is_member(self, user: str, channel: str) -> bool | None:
            return None

        def bot_can_post(self, channel: str) -> bool | None:
            return None

    reply = app.service.handle("watch oil", slack("C3", access=Unknown()))
    assert isinstance(reply, WatchReply) and reply.watch.channel == "C3"
    # the console and `ask` are not checked: their user runs wirewatch itself
    console = app.service.handle("watch oil in #desk", Context(front_end="console"))
    assert isinstance(console, WatchReply) and console.watch.channel == "desk"


def test_buttons_recheck_who_may_act(app: Wirewatch) -> None:
    made = app.service.handle("watch deportation flights", slack("CPRIV", "UOWNER"))
    assert isinstance(made, WatchReply)
    wid = made.watch.id
    stranger = StaticAccess(members={"CPRIV": {"UOWNER", "UMEMBER"}})
    # an App Home click names the watch; its channel comes from the store: not a member
    home = slack("CPRIV", "USTRANGER", stranger, via="home")
    for text in (f"unwatch {wid}", f"mute {wid} for 24h"):
        reply = app.service.handle(text, home)
        assert isinstance(reply, ErrorReply) and reply.code == "forbidden", text
    # the same click when Slack cannot tell: refused too (Home is not in the channel)
    blind = slack("CPRIV", "USTRANGER", StaticAccess(), via="home")
    assert isinstance(app.service.handle(f"unwatch {wid}", blind), ErrorReply)
    w = app.store.get_watch(wid)
    assert w is not None and w.active and w.muted_until is None
    # a member of the channel may (no WIREWATCH_ADMINS: everyone manages), so may the creator
    member = slack("CPRIV", "UMEMBER", stranger, via="home")
    assert isinstance(app.service.handle(f"mute {wid} for 24h", member), WatchReply)
    owner = slack("CPRIV", "UOWNER", StaticAccess(members={"CPRIV": set()}), via="home")
    assert isinstance(app.service.handle(f"unwatch {wid}", owner), TextReply)


def test_listed_admin_may_act_from_home(tmp_path: Path, clock: FakeClock) -> None:
    a = build(Settings(db_path=tmp_path / "adm.db", admins=frozenset({"UADMIN"})), clock=clock)
    try:
        made = a.service.handle("watch oil", slack("CPRIV", "UOWNER"))
        assert isinstance(made, WatchReply)
        ctx = slack("CPRIV", "UADMIN", StaticAccess(members={"CPRIV": set()}), via="home")
        assert isinstance(a.service.handle(f"unwatch {made.watch.id}", ctx), TextReply)
    finally:
        a.close()


def test_home_shows_only_own_watches_when_channels_unknown(app: Wirewatch) -> None:
    app.service.handle("watch oil", slack("CPRIV", "UOTHER"))
    app.service.handle("watch gold", slack("CMINE", "UME"))
    unknown = build_home(app.service, "UME", None)
    assert [w.query for w in unknown.watches] == ["gold"] and unknown.scope == "own"
    known = build_home(app.service, "UME", ["CPRIV"])
    assert [w.query for w in known.watches] == ["oil"] and known.scope == "channels"
    assert build_home(app.service, None, None).watches == []


def _deliver_one_refused(app: Wirewatch, clock: FakeClock, error: str) -> AlertPipeline:
    pipeline = AlertPipeline(app.store, clock=clock, sleeper=clock.sleep)
    app.service.handle(f"watch {TOPIC}", slack("CGONE"))
    app.service.handle(f"watch {TOPIC}", slack("COK"))
    pipeline.on_new_articles(_news(app, "a1", "a2"), backfill=False)
    sender = RecordingSender(clock, failures=[DeliveryError(
        error, permanent=True, channel_error=error)])
    report = pipeline.deliver_pending(sender)
    assert report.failed == 1
    return pipeline


def test_channel_refusing_posts_is_paused_not_retried_nor_counted(
        app: Wirewatch, clock: FakeClock) -> None:
    pipeline = _deliver_one_refused(app, clock, "not_in_channel")
    statuses = sorted((a.channel, a.status) for a in app.store.list_alerts())
    assert ("CGONE", "failed") in statuses and ("CGONE", "paused") in statuses
    assert {s for c, s in statuses if c == "COK"} == {"sent"}
    # nothing of that channel is tried again, and new matches are recorded as paused
    again = RecordingSender(clock)
    clock.advance(3600)
    pipeline.deliver_pending(again)
    assert again.calls == 0
    more = _news(app, "b1")
    pipeline.on_new_articles(more, backfill=False)
    pipeline.deliver_pending(again)
    assert {p.channel for p in again.posts} == {"COK"}
    listing = app.service.handle("watches", slack("CGONE"))
    assert isinstance(listing, WatchesReply)
    [w] = listing.watches
    assert w.alerts == 0  # none reached the channel
    assert w.paused == "paused: wirewatch is not in #CGONE; /invite @wirewatch there"
    assert listing.to_dict()["watches"][0]["paused"] == w.paused
    home = build_home(app.service, "U1", ["CGONE", "COK"])
    assert [bool(v.paused) for v in home.watches] == [True, False]


def test_paused_channel_resumes_when_wirewatch_is_back(app: Wirewatch, clock: FakeClock) -> None:
    pipeline = _deliver_one_refused(app, clock, "not_in_channel")
    assert app.store.channel_pause("CGONE") == "not_in_channel"
    # `watches` from the channel, once Slack says wirewatch can post there again
    still_out = StaticAccess(bot_in={"COK"})
    listing = app.service.handle("watches", slack("CGONE", access=still_out))
    assert isinstance(listing, WatchesReply) and listing.watches[0].paused
    back = app.service.handle("watches", slack("CGONE", access=StaticAccess()))
    assert isinstance(back, WatchesReply) and back.watches[0].paused is None
    # or the member_joined_channel event (the service's bot_joined)
    app.store.pause_channel("CGONE", "is_archived", "2025-01-01T00:00:00+00:00")
    assert app.service.bot_joined("CGONE") and not app.service.bot_joined("CGONE")
    more = _news(app, "c1")
    pipeline.on_new_articles(more, backfill=False)
    sender = RecordingSender(clock)
    pipeline.deliver_pending(sender)
    assert "CGONE" in {p.channel for p in sender.posts}


def test_message_level_refusal_does_not_pause_the_channel(
        app: Wirewatch, clock: FakeClock) -> None:
    pipeline = AlertPipeline(app.store, clock=clock, sleeper=clock.sleep)
    app.service.handle(f"watch {TOPIC}", slack("C1"))
    pipeline.on_new_articles(_news(app, "d1", "d2"), backfill=False)
    sender = RecordingSender(clock, failures=[DeliveryError("msg_too_long", permanent=True)])
    report = pipeline.deliver_pending(sender)
    assert report.failed == 1 and report.waiting == 1  # the channel keeps its order
    assert app.store.channel_pause("C1") is None
    assert pipeline.deliver_pending(sender).sent == 1  # the next alert still goes out
