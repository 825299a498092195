"""Real-world feeds (``../shared/realfeeds``, read in place, skipped when absent): the watch
stays silent on 1,400 unrelated world-news entries, and the index agrees with naive matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchlists.document import Analyzed, ArticleDoc, analyze
from watchlists.matcher import Matcher, naive_match
from watchlists.query import parse
from watchlists.relevance import matches

ROOT = Path(__file__).resolve().parents[2]
# ../shared beside the checkout (main), or beside the worktrees' folder (wt/<area>)
REALFEEDS = next(
    (p for p in (ROOT.parent / "shared" / "realfeeds", ROOT.parent.parent / "shared" / "realfeeds")
     if p.is_dir()),
    ROOT.parent / "shared" / "realfeeds",
)


@pytest.fixture(scope="module")
def entries() -> list[Analyzed]:
    if not REALFEEDS.is_dir():
        pytest.skip("../shared/realfeeds is not here")
    from bot.feeds.parse import parse_feed

    out: list[Analyzed] = []
    for path in sorted(REALFEEDS.iterdir()):
        if path.suffix not in (".xml", ".rss", ".atom"):
            continue
        try:
            feed = parse_feed(path.read_bytes(), url=f"http://feeds.example/{path.name}")
        except Exception:  # malformed samples are the feeds tests' business
            continue
        for entry in feed.entries:
            d = entry.draft
            out.append(analyze(ArticleDoc(id=len(out) + 1, title=d.title, text=d.text)))
    assert len(out) > 500
    return out


def test_topic_watch_is_silent_on_unrelated_world_news(entries: list[Analyzed]) -> None:
    topic = parse("deportation flights to Venezuela")
    assert [a.doc.title for a in entries if matches(topic, a)] == []


def test_removed_from_office_is_not_deportation(entries: list[Analyzed]) -> None:
    q = parse("deportation")
    for a in entries:
        if matches(q, a):
            text = f"{a.doc.title} {a.doc.text}".lower()
            assert any(w in text for w in ("deport", "repatria", "removal", "expulsion")), (
                a.doc.title)


def test_index_equals_naive_on_real_entries(entries: list[Analyzed]) -> None:
    texts = ["deportation flights to Venezuela", "Venezuela", "migrants -Libya",
             "Maduro OR Machado", '"peace talks" Ukraine', "Trump tariffs mode:any",
             "oil OR crude", "Gaza ceasefire",
             "place:Caracas", "election fraud", "(China OR Taiwan) military"]
    watches = [(i, parse(t)) for i, t in enumerate(texts, 1)]
    m = Matcher(watches)
    for a in entries:
        assert m.match(a) == naive_match(watches, a)
