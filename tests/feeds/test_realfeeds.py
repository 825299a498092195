"""Robustness over real-world feeds (../shared/realfeeds/, skipped when absent), served over
real HTTP and polled by the real poller: nothing crashes, entry counts match feedparser,
errors are recorded per feed, and a second poll finds nothing new."""

from __future__ import annotations

import random

import pytest

from bot.feeds.fetch import Fetcher
from bot.feeds.poller import Poller, iso
from bot.settings import Settings
from bot.store import Store
from tests.feeds.conftest import REALFEEDS, FakeClock, FeedServer, Route

FILES = (
    sorted(p for p in REALFEEDS.glob("*") if p.suffix in (".xml", ".rss"))
    if (REALFEEDS.is_dir())
    else []
)
CONTENT_TYPE = "application/xml"

pytestmark = pytest.mark.skipif(not FILES, reason="../shared/realfeeds/ is not here")


def test_every_real_feed_polls_without_crashing(
    server: FeedServer, fstore: Store, settings: Settings, clock: FakeClock
) -> None:
    import feedparser

    ids: dict[int, str] = {}
    for path in FILES:
        server.routes[f"/{path.name}"] = Route(body=path.read_bytes(), content_type=CONTENT_TYPE)
        feed_id, _ = fstore.add_feed(server.url(f"/{path.name}"), now=iso(clock()))
        ids[feed_id] = path.name
    poller = Poller(fstore, settings, Fetcher(settings), clock=clock, rng=random.Random(3))
    report = poller.poll_due()
    assert report.feeds == len(FILES)
    by_id = {r.feed_id: r for r in report.results}
    assert set(by_id) == set(ids)
    for feed_id, name in ids.items():
        data = (REALFEEDS / name).read_bytes()
        expected = feedparser.parse(
            data,
            response_headers={
                "content-type": CONTENT_TYPE,
                "content-location": server.url(f"/{name}"),
            },
        )
        result, row = by_id[feed_id], fstore.get_feed(feed_id)
        assert row is not None
        if expected.entries and any(
            e.get("title") or e.get("summary") or e.get("content") for e in expected.entries
        ):
            assert result.status == "ok", (name, result.error)
            assert result.found == len(expected.entries), name
            assert fstore.count_feed_entries(feed_id) >= result.entries > 0
            assert row["articles"] <= result.entries
        else:  # nothing usable: a failure in words, recorded on the feed
            assert result.status == "failing", name
            assert row["error"] and row["status"] == "failing", name
        if expected.get("bozo") and result.status == "ok":
            kind = type(expected.get("bozo_exception")).__name__
            if kind != "NonXMLContentType":
                assert row["error"], name  # recorded even though the entries were used
    assert report.new_articles > 1000
    assert fstore.get_feed_by_url(server.url("/almonitor.xml"))["articles"] == 11  # type: ignore[index]

    # a second poll of the unchanged feeds finds nothing new
    again = poller.poll_all()
    assert again.new_articles == 0
