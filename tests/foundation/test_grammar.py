from __future__ import annotations

import pytest

from bot import grammar as g
from bot.errors import BadCommand


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("who Maduro", g.Who("Maduro")),
        ("who is Jorge Rodríguez?", g.Who("Jorge Rodríguez")),
        ("Who's Trump", g.Who("Trump")),
        ("<@U123ABC> who is Trump?", g.Who("Trump")),
        ("tell me about the U.S.", g.Who("the U.S")),
        ("events", g.Events()),
        ("events deportation since 2025-01-01 until 2025-04-01",
         g.Events("deportation", "2025-01-01", "2025-04-01")),
        ("what happened with deportation flights", g.Events("deportation flights")),
        ("what happened?", g.Events()),
        ("search deportation flights", g.Search("deportation flights")),
        ("find Tren de Aragua", g.Search("Tren de Aragua")),
        ("search flights page 2", g.Search("flights", page=2)),
        ("article 5", g.Article(5)),
        ("article #5", g.Article(5)),
        ("watch deportation flights to Venezuela", g.Watch("deportation flights to Venezuela")),
        ("watch Maduro in #migration-desk", g.Watch("Maduro", "migration-desk")),
        ("watch Maduro in <#C123|desk>", g.Watch("Maduro", "C123")),
        ("watches", g.Watches()),
        ("what are we watching here?", g.Watches()),
        ("unwatch 3", g.Unwatch(3)),
        ("stop watching 3", g.Unwatch(3)),
        ("mute 3", g.Mute(3)),
        ("mute 3 for 2h", g.Mute(3, duration="2h")),
        ("mute 3 until 2025-05-01", g.Mute(3, until="2025-05-01")),
        ("unmute 3", g.Unmute(3)),
        ("digest 3 daily 8:30", g.Digest(3, "08:30")),
        ("digest 3 off", g.Digest(3, None)),
        ("feeds", g.Feeds()),
        ("feed add https://example.org/rss", g.FeedAdd("https://example.org/rss")),
        ("feed add <https://example.org/rss>", g.FeedAdd("https://example.org/rss")),
        ("feed remove 2", g.FeedRemove(2)),
        ("feed import feeds.opml", g.FeedImport("feeds.opml")),
        ("poll", g.Poll()),
        ("STATUS", g.Status()),
        ("help", g.Help()),
        ("help watch", g.Help("watch")),
        ("", g.Help()),
        ("   \u202e\u0000  ", g.Help()),
    ],
)
def test_parses(text: str, expected: g.Request) -> None:
    assert g.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("frobnicate now", "don't know `frobnicate`"),
        ("article five", "must be a number"),
        ("article 0", "out of range"),
        ("article 99999999999999999999", "must be a number"),
        ("mute 3 for a while", "not a duration"),
        ("digest 3 daily 25:00", "not a time"),
        ("feed frob x", "not a feed command"),
        ("who", "Who?"),
        ("search", "Search for what"),
        ("help nonsense", "no command `nonsense`"),
        ("x" * 20_000, "too long"),
    ],
)
def test_errors_say_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(BadCommand) as exc:
        g.parse(text)
    assert fragment in exc.value.message
    assert len(exc.value.message) < 300


def test_control_and_bidi_characters_are_removed() -> None:
    assert g.parse("search de\u202eport\u0007ation") == g.Search("deportation")


def test_every_command_has_help() -> None:
    names = {c.name for c in g.COMMANDS}
    assert {"who", "events", "search", "article", "watch", "watches", "unwatch", "mute",
            "unmute", "digest", "feeds", "feed", "poll", "status", "help"} <= names
