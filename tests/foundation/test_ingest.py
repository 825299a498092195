from __future__ import annotations

import json
from pathlib import Path

from bot.ingest import (
    bundled_corpus_files,
    ensure_corpus,
    ingest_paths,
    parse_text_article,
    read_file,
)
from bot.store import Store

SEEDS = {p.name[:3]: p for p in bundled_corpus_files()}


def _seed(n: str):  # type: ignore[no-untyped-def]
    drafts, errors = read_file(SEEDS[n])
    assert not errors and len(drafts) == 1
    return drafts[0]


def test_bundled_corpus_is_the_five_seeds() -> None:
    assert sorted(SEEDS) == ["000", "001", "002", "003", "004"]
    shared = Path(__file__).resolve().parents[3] / "shared" / "corpus"
    if shared.is_dir():  # the package ships an exact copy
        for p in shared.glob("*.txt"):
            assert (SEEDS[p.name[:3]]).read_bytes() == p.read_bytes()


def test_seed_004_date_header_and_colon_dateline() -> None:
    d = _seed("004")
    assert d.published == "2025-03-23" and d.published_precision == "day"
    assert d.dateline == "CARACAS"
    assert d.text.startswith("Venezuela announced Saturday")
    assert "date 2025-03-23" not in d.text


def test_seed_003_dash_dateline_stays_undated() -> None:
    d = _seed("003")
    assert d.dateline == "CARACAS, Venezuela"
    assert d.published is None and d.published_precision is None
    assert d.text.startswith("A new chapter")


def test_latin_post_seeds_have_source_and_author_and_no_promos() -> None:
    d0, d2 = _seed("000"), _seed("002")
    assert (d0.source, d0.author) == ("Latin Post", "Bert Hoover")
    assert (d2.source, d2.author) == ("Latin Post", "Rick Martin")
    assert d2.title.startswith("Mexico, Venezuela Begin Repatriation Flights")
    for d in (d0, d2):
        assert "READ NEXT" not in d.text and "WATCH:" not in d.text
        assert "Written by" not in d.text and "owned by" not in d.text


def test_title_is_first_sentence_when_no_headline() -> None:
    d = parse_text_article("The flights resumed. More followed.\n\nSecond paragraph.")
    assert d.title == "The flights resumed"
    assert d.text.startswith("The flights resumed.")


def test_ingest_is_idempotent(store: Store, tmp_path: Path) -> None:
    first = ingest_paths(store, [SEEDS["000"].parent])
    assert len(first.new_ids) == 5 and first.duplicates == 0
    again = ingest_paths(store, [SEEDS["000"].parent, SEEDS["004"]])
    assert again.new_ids == [] and again.duplicates == 6
    assert store.count_articles() == 5


def test_jsonl_html_and_errors(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_text(
        "\n".join([
            json.dumps({"title": "One", "text": "Flights resumed to Caracas.",
                        "url": "https://example.org/1", "date": "2025-03-23T10:00:00Z",
                        "source": "Example", "author": "A. Writer"}),
            json.dumps({"title": "One again, new title", "text": "Changed text entirely.",
                        "url": "https://example.org/1"}),
            json.dumps({"title": "Two", "body": "<p>Deportation <b>flights</b></p>",
                        "guid": "g-2", "published": "March 2025"}),
            "{not json",
            json.dumps({"title": "No text"}),
        ])
    )
    (folder / "b.html").write_text(
        "<html><head><title>Site | Story</title>"
        '<meta property="og:title" content="Story headline">'
        '<meta name="author" content="Jane Doe">'
        '<meta property="article:published_time" content="2024-10-06T08:00:00Z">'
        '<link rel="canonical" href="https://example.org/story"></head>'
        "<body><nav>Menu</nav><h1>Story headline</h1><p>CARACAS — The first flight landed."
        "</p><script>alert(1)</script><p>Second para.</p></body></html>"
    )
    (folder / "ignored.bin").write_bytes(b"\x00\x01")
    calls: list[tuple[int, int]] = []
    result = ingest_paths(store, [folder], progress=lambda d, t: calls.append((d, t)))
    assert len(result.new_ids) == 3
    assert result.duplicates == 1  # same url
    assert len(result.errors) == 2
    assert calls[-1] == (2, 2)
    rows = {r.title: r for r in (store.get_article(i) for i in result.new_ids) if r}
    one = rows["One"]
    assert (one.published, one.source, one.author) == ("2025-03-23", "Example", "A. Writer")
    two = rows["Two"]
    assert two.text == "Deportation flights" and two.published == "2025-03"
    assert two.published_precision == "month"
    story = rows["Story headline"]
    assert story.url == "https://example.org/story" and story.author == "Jane Doe"
    assert story.published == "2024-10-06" and story.dateline == "CARACAS"
    assert "alert(1)" not in story.text and "Menu" not in story.text


def test_undated_never_today(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("Headline here\n\nSomething happened on Tuesday.")
    ingest_paths(store, [f])
    row = store.get_article(1)
    assert row is not None and row.published is None and row.title == "Headline here"


def test_ensure_corpus_only_once(store: Store) -> None:
    first = ensure_corpus(store)
    assert first is not None and len(first.new_ids) == 5
    assert ensure_corpus(store) is None
    assert store.count_articles() == 5
