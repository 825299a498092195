"""Block Kit rendering: Slack's limits, paging, the generic fallback, and escaping."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.home import HomeReply, WatchView
from bot.replies import (
    ArticleReply,
    ArticleView,
    ErrorReply,
    EventView,
    FeedsReply,
    FeedView,
    HelpEntry,
    HelpReply,
    QuoteView,
    Reply,
    SearchHit,
    SearchReply,
    StatusReply,
    TextReply,
)
from bot.store import HL_END, HL_START
from handlers import blocks
from handlers.mrkdwn import escape, fit, link, safe_url, truncate

DANGEROUS = ["<!channel>", "<!here>", "<!everyone>", "<@U123ABC>", "<#C123|x>",
             "<https://evil.example|https://bank.example>", "<!subteam^S1>"]


def _all_text(obj: Any) -> list[tuple[str, str]]:
    """Every (type, text) of text objects in a block structure, plus the fallback."""
    out: list[tuple[str, str]] = []
    if isinstance(obj, dict):
        if "text" in obj and isinstance(obj["text"], str):
            out.append((str(obj.get("type", "fallback")), obj["text"]))
        for value in obj.values():
            out += _all_text(value)
    elif isinstance(obj, list):
        for value in obj:
            out += _all_text(value)
    return out


def _check_limits(message: blocks.Message, max_blocks: int = 50) -> None:
    assert message.text and len(message.text) <= blocks.TEXT_CHARS
    assert 0 < len(message.blocks) <= max_blocks
    for block in message.blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= 3000
            for f in block.get("fields", []):
                assert len(f["text"]) <= 2000
            assert len(block.get("fields", [])) <= 10
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
        if block["type"] == "actions":
            for e in block["elements"]:
                assert len(e.get("value", "")) <= 2000
                assert len(e["text"]["text"]) <= 75


def _no_live_markup(message: blocks.Message | dict[str, Any]) -> None:
    payload = message.blocks if isinstance(message, blocks.Message) else message
    dumped = json.dumps(payload, ensure_ascii=False)
    if isinstance(message, blocks.Message):
        dumped += message.text
    for bad in DANGEROUS:
        assert bad not in dumped, bad


def _hit(i: int, title: str = "Title", snippet: str = "snippet") -> SearchHit:
    return SearchHit(article_id=i, title=title, snippet=snippet, date="2025-01-0" + str(i % 9 + 1),
                     source="AP", url=f"https://news.example/{i}", score=1.0)


def _feed(i: int, title: str = "Feed", error: str | None = None) -> FeedView:
    return FeedView(id=i, url=f"https://f.example/{i}.xml", title=title, status="failing",
                    last_polled="2025-01-01T00:00:00+00:00", next_check=None, error=error,
                    articles=i)


def _article(title: str = "A title", n_events: int = 0, text: str = "lead") -> ArticleReply:
    events = [EventView(id=i, type="deport", date="2025-02-01", date_text=None,
                        actors=["US"], targets=[], place=None, quantity=None, negated=False,
                        sentence=f"{text} sentence {i}", article_id=1, sources=[1])
              for i in range(n_events)]
    return ArticleReply(article=ArticleView(
        id=1, title=title, date=None, date_precision=None, source=text, author=text,
        url="https://news.example/1", dateline=text, feed_id=None, words=10, lead=text,
        events=events, quotes=[QuoteView(text=text, speaker=text)],
    ))


def test_every_known_kind_renders_within_limits_with_fallback_text() -> None:
    help_reply = HelpReply(topic=None, commands=[HelpEntry("search", "search QUERY", "find",
                                                           ["search x"])], intro="hi")
    replies: list[Reply] = [
        ErrorReply(message="bad", hint="try help"),
        TextReply(text="done"),
        help_reply,
        SearchReply(query="q", total=3, results=[_hit(1), _hit(2), _hit(3)]),
        SearchReply(query="q", total=0, results=[]),
        _article(n_events=3),
        StatusReply(articles=1, actors=2, events=3, quotes=4, watches=5, alerts=6,
                    alerts_pending=1, feeds=[_feed(1)], last_poll=None, database="/x.db"),
        FeedsReply(feeds=[_feed(i, "<!channel>", "<!here>") for i in range(80)]),
        FeedsReply(feeds=[]),
    ]
    for reply in replies:
        message = blocks.render(reply, command="x")
        _check_limits(message)
        _no_live_markup(message)


def test_long_article_is_paged_with_a_more_button() -> None:
    reply = _article(n_events=120)
    first = blocks.render(reply, command="article 1")
    _check_limits(first)
    [actions] = [b for b in first.blocks if b["type"] == "actions"]
    button = actions["elements"][0]
    assert button["action_id"] == "ww_more"
    assert blocks.parse_more_value(button["value"]) == ("article 1", 2)
    seen = json.dumps(first.blocks)
    page = 2
    while True:
        message = blocks.render(reply, command="article 1", page=page)
        _check_limits(message)
        seen += json.dumps(message.blocks)
        more = [b for b in message.blocks if b["type"] == "actions"]
        if not more:
            break
        page += 1
    assert page >= 3
    for i in range(120):  # every event shows on some page
        assert f"lead sentence {i}\"" in seen


def test_search_more_button_asks_the_service_for_the_next_page() -> None:
    reply = SearchReply(query="flights", total=25, results=[_hit(i) for i in range(10)], page=1)
    message = blocks.render(reply, command="search flights")
    [actions] = [b for b in message.blocks if b["type"] == "actions"]
    assert blocks.parse_more_value(actions["elements"][0]["value"]) == (
        "search flights page 2", 1)
    last = SearchReply(query="flights", total=25, results=[_hit(i) for i in range(5)], page=3)
    assert not [b for b in blocks.render(last).blocks if b["type"] == "actions"]


def test_huge_text_is_split_into_sections_within_limits() -> None:
    text = ("word " * 2000 + "\n") * 10 + "x" * 10000
    message = blocks.render(TextReply(text=text), command="x")
    _check_limits(message)


@dataclass
class ActorLikeReply(Reply):
    """A reply kind this module does not know (later issues add kinds like this)."""

    kind: ClassVar[str] = "actor"
    name: str
    notes: list[str]


def test_unknown_kind_uses_the_escaped_console_text() -> None:
    reply = ActorLikeReply(name="Nicolás <!channel> Maduro",
                           notes=[f"note {i} <@U999> & more " * 5 for i in range(400)])
    message = blocks.render(reply, command="who Maduro")
    _check_limits(message)
    _no_live_markup(message)
    assert "Nicolás &lt;!channel&gt; Maduro" in json.dumps(message.blocks, ensure_ascii=False)
    assert any(b["type"] == "actions" for b in message.blocks)  # long: paged


def test_search_snippet_highlights_become_bold_and_are_escaped() -> None:
    hit = _hit(1, title="<!here> & co",
               snippet=f"the {HL_START}flights{HL_END} <@U123ABC> *resumed*")
    message = blocks.render(SearchReply(query="<!channel>", total=1, results=[hit]))
    dumped = json.dumps(message.blocks, ensure_ascii=False)
    assert "*flights*" in dumped and "&lt;@U123ABC&gt;" in dumped
    assert "&lt;!here&gt; &amp; co" in dumped
    _no_live_markup(message)


def test_home_view_within_limits_and_escaped() -> None:
    help_reply = HelpReply(topic=None, commands=[HelpEntry("help", "help", "usage")])
    watches = [WatchView(id=i, channel="C111" if i % 2 else "<!channel>",
                         query=f"<!channel> q{i}", understood="<@U123ABC>") for i in range(60)]
    home = HomeReply(user="U1", scope="all", watches=watches,
                     feeds=[_feed(i, "<!everyone>", "<!here>") for i in range(70)],
                     help=help_reply, notice="<!channel> done")
    view = blocks.render_home(home)
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    _no_live_markup(view)
    assert "<#C111>" in json.dumps(view)  # our own channel link survives


def test_escape_and_fit() -> None:
    assert escape("a & <b> c") == "a &amp; &lt;b&gt; c"
    assert escape("&lt;") == "&amp;lt;"
    cut = fit(escape("&" * 100), 50)
    assert len(cut) <= 50 and not re.search(r"&[a-z]{0,3}…$", cut)
    assert truncate("<!channel> " + "x" * 200, 150).startswith("‹!channel› ")
    assert len(truncate("x" * 200, 150)) == 150


def test_links_are_safe() -> None:
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("ftp://x") is None
    assert link("javascript:alert(1)", "<!channel>") == "&lt;!channel&gt;"
    made = link("https://x.example/a?b=1&c=<d>|e f", "T | <b>")
    assert made.startswith("<https://x.example/a?b=1&amp;c=%3Cd%3E%7Ce%20f|")
    assert made.count("<") == 1 and made.count(">") == 1


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from([*list("<>&|!@#^ abcCUH:/.\n*_~`"), HL_START, HL_END]),
               max_size=200))
def test_no_untrusted_text_becomes_markup(text: str) -> None:
    replies: list[Reply] = [
        TextReply(text=text),
        ErrorReply(message=text, hint=text),
        SearchReply(query=text, total=1, results=[_hit(1, title=text, snippet=text)]),
        _article(title=text, n_events=2, text=text),
        StatusReply(articles=1, actors=1, events=1, quotes=1, watches=1, alerts=1,
                    alerts_pending=0, feeds=[_feed(1, text, text)], last_poll=text,
                    database=text),
        ActorLikeReply(name=text, notes=[text]),
    ]
    for reply in replies:
        message = blocks.render(reply, command=text)
        _check_limits(message)
        for kind, value in [*_all_text(message.blocks), ("fallback", message.text)]:
            if kind == "plain_text":
                assert "<" not in value and ">" not in value
                continue
            # the only markup left is our own links: <https://news.example/…|label>
            stripped = re.sub(r"<https://news\.example/[^<>|]*\|[^<>]*>", "", value)
            assert "<" not in stripped and ">" not in stripped, (kind, value)


def test_fit_keeps_text_with_a_stray_star() -> None:
    text = "a * b " + "word " * 1000
    assert len(fit(text, 3000)) > 2900
