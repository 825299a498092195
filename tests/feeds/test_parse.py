"""Parsing fixture feeds: formats, encodings, bozo feeds, text, links, dates, entry keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.feeds.parse import NotAFeed, parse_feed
from tests.feeds.conftest import rss, story

URL = "http://example.org/feed.xml"


def test_rss2_entries_become_drafts_with_clean_text_and_dates() -> None:
    parsed = parse_feed(rss([story(1), story(2)]), url=URL)
    assert parsed.version == "rss20" and parsed.title == "Test Wire" and parsed.error is None
    first = parsed.entries[0]
    assert first.key == "guid:story-1"
    d = first.draft
    assert d.title == "Story number 1"
    assert d.text.startswith("Story number 1\n\nBody of story 1: deportation flights")
    assert "<p>" not in d.text
    assert d.url == "http://example.org/story/1"
    assert d.published == "2026-02-01" and d.published_precision == "day"
    assert d.source == "Test Wire"


def test_missing_or_unreadable_date_stays_unknown() -> None:
    parsed = parse_feed(
        rss([story(1, date="Seg, 24 Set 2018 10:00:00"), {"title": "t", "description": "x y"}]),
        url=URL,
    )
    assert [e.draft.published for e in parsed.entries] == [None, None]


ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://news.example.com/world/">
  <title>Atom Wire</title><link href="/" /><id>urn:x</id><updated>2026-02-03T00:00:00Z</updated>
  <entry><title type="html">&lt;b&gt;Flights&lt;/b&gt; resume</title>
    <link href="story/7" /><id>urn:story:7</id><updated>2026-02-03T08:00:00Z</updated>
    <content type="html">&lt;p&gt;Full text &lt;a href="/x"&gt;here&lt;/a&gt;.&lt;/p&gt;
      &lt;script&gt;bad()&lt;/script&gt;</content>
    <summary>short</summary></entry>
</feed>"""


def test_atom_relative_links_html_title_and_content_preferred() -> None:
    parsed = parse_feed(ATOM, url=URL)
    assert parsed.version == "atom10"
    d = parsed.entries[0].draft
    assert d.title == "Flights resume"
    assert d.url == "http://news.example.com/world/story/7"
    assert d.text == "Flights resume\n\nFull text here."  # script dropped
    assert d.published == "2026-02-03"


RSS1 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
 <channel rdf:about="http://e.org/"><title>RDF Wire</title><link>http://e.org/</link>
 <description>d</description></channel>
 <item rdf:about="http://e.org/a"><title>A</title><link>http://e.org/a</link>
  <dc:date>2026-01-05</dc:date></item>
</rdf:RDF>"""

RSS091 = b"""<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title>
<link>http://e.org/</link><description>d</description>
<item><title>Old item</title><link>http://e.org/old</link><description>Old text</description></item>
</channel></rss>"""


def test_rss1_and_rss091() -> None:
    rdf = parse_feed(RSS1, url=URL)
    assert rdf.version == "rss10"
    entry = rdf.entries[0]
    assert entry.key == "guid:http://e.org/a" or entry.key == "link:http://e.org/a"
    assert entry.draft.text == "A"  # no description: the title stands in as text
    assert entry.draft.published == "2026-01-05"
    old = parse_feed(RSS091, url=URL)
    assert old.version == "rss091u" or old.version.startswith("rss09")
    assert old.entries[0].key == "link:http://e.org/old"


def test_declared_and_header_encodings() -> None:
    body = rss([story(1, title="Депортация")]).replace(
        b'encoding="utf-8"', b'encoding="windows-1251"'
    )
    body = body.decode("utf-8").encode("windows-1251")
    assert parse_feed(body, url=URL).entries[0].draft.title == "Депортация"
    latin = rss([story(1, title="Notícias")]).replace(
        b'<?xml version="1.0" encoding="utf-8"?>', b""
    )
    latin = latin.decode("utf-8").encode("latin-1")
    parsed = parse_feed(
        latin, url=URL, headers={"Content-Type": "application/rss+xml; charset=ISO-8859-1"}
    )
    assert parsed.entries[0].draft.title == "Notícias"


def test_bozo_feed_with_entries_is_used_and_error_recorded() -> None:
    broken = rss([story(1), story(2)]).replace(b"</channel></rss>", b"")
    parsed = parse_feed(broken, url=URL)
    assert len(parsed.entries) == 2
    assert parsed.error and "not well-formed" in parsed.error


def test_html_page_is_not_a_feed_but_links_are_discovered() -> None:
    page = b"""<html><head><title>Site</title>
    <link rel="alternate" type="application/rss+xml" href="/rss.xml">
    </head><body>hi</body></html>"""
    with pytest.raises(NotAFeed) as err:
        parse_feed(page, url="http://site.example/news/", headers={"content-type": "text/html"})
    assert err.value.feed_links == ["http://site.example/rss.xml"]
    with pytest.raises(NotAFeed):
        parse_feed(b"just some text", url=URL)


def test_entry_keys_guid_then_link_then_hash() -> None:
    parsed = parse_feed(
        rss(
            [
                story(1),
                {"title": "No guid", "link": "http://example.org/n", "description": "x"},
                {"title": "Nothing", "description": "only text"},
            ]
        ),
        url=URL,
    )
    keys = [e.key for e in parsed.entries]
    assert keys[0] == "guid:story-1"
    assert keys[1] == "link:http://example.org/n"
    assert keys[2].startswith("hash:")
    again = parse_feed(rss([{"title": "Nothing", "description": "only text"}]), url=URL)
    assert again.entries[0].key == keys[2]  # stable


def test_repeated_guid_distinct_stories_are_kept_and_copies_collapse() -> None:
    items = [
        story(1, guid="same", link="http://example.org/a", title="Story A"),
        story(2, guid="same", link="http://example.org/b", title="Story B"),
        story(3, guid="dup"),
        story(3, guid="dup"),
        story(3, guid="dup"),
    ]
    parsed = parse_feed(rss(items), url=URL)
    assert parsed.found == 5
    titles = [e.draft.title for e in parsed.entries]
    assert titles == ["Story A", "Story B", "Story number 3"]
    keys = [e.key for e in parsed.entries]
    assert len(set(keys)) == 3
    assert keys[0].startswith("guid:same#") and keys[1].startswith("guid:same#")
    assert keys[2] == "guid:dup"


def test_boilerplate_summaries_do_not_merge_distinct_stories() -> None:
    items = [story(n, description="Read the full story on our site.") for n in (1, 2)]
    parsed = parse_feed(rss(items), url=URL)
    hashes = {e.draft.content_hash for e in parsed.entries}
    assert len(hashes) == 2
    assert parsed.entries[0].draft.text == "Story number 1\n\nRead the full story on our site."


def test_a_body_naming_a_local_file_is_not_read_as_that_file(tmp_path: Path) -> None:
    local = tmp_path / "secret.xml"
    local.write_bytes(rss([story(1, title="SECRET")]))
    with pytest.raises(NotAFeed):
        parse_feed(str(local).encode(), url=URL)


def test_external_entities_are_not_fetched(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET", encoding="utf-8")
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<rss version="2.0"><channel><title>t</title><item><title>a &x; b</title>'
        "<description>d</description></item></channel></rss>"
    ).encode()
    parsed = parse_feed(doc, url=URL)
    assert all("TOPSECRET" not in e.draft.title + e.draft.text for e in parsed.entries)
