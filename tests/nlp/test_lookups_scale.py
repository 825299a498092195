"""Lookups at scale: the tables migration m102 derives stay exact, replies say what they omit.

``who`` and ``events`` read per-actor tables kept by triggers (mention texts, articles,
co-mention pairs, event actors) and trigram indexes (event text, actor names) instead of every
row of a popular actor.  These tests check the derived tables against a recomputation from the
base rows after ingestion, a surname merge, re-analysis and a date change, and that bounded
replies give exact totals.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import bot.nlp.lookups as lookups_mod
from bot.ingest import ArticleDraft
from bot.nlp.analyzer import NlpAnalyzer, save_analysis
from bot.nlp.extract import ActorX, ArticleAnalysis, EventX, MentionX, QuoteX, RoleX
from bot.nlp.lookups import WHO_QUOTES, EventFilter, Lookups
from bot.render import render
from bot.replies import ActorReply, EventsReply, NotFoundReply
from bot.store import Store

M102_INDEXES = {"idx_mentions_sentence", "idx_quotes_speaker_article", "idx_events_type",
                "idx_roles_actor_role", "idx_events_group_article", "idx_actor_articles_date",
                "idx_actor_articles_article", "idx_event_actors_event"}
M102_TABLES = {"actor_mention_texts", "actor_articles", "actor_pairs", "event_actors",
               "events_fts", "actor_names_fts"}


def _names(store: Store, kind: str) -> set[str]:
    return {str(r[0]) for r in store.db.execute(
        "SELECT name FROM sqlite_master WHERE type = ?", [kind])}


def test_migration_creates_the_lookup_indexes_tables_and_triggers(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    assert _names(store, "index") >= M102_INDEXES
    assert _names(store, "table") >= M102_TABLES
    assert len({t for t in _names(store, "trigger") if t.startswith("trg_m102_")}) == 13
    assert len({t for t in _names(store, "trigger") if t.startswith("trg_m103_")}) == 6
    assert _names(store, "table") >= {"actor_keys_fts", "alias_keys_fts"}
    applied = {str(r[0]) for r in store.db.execute("SELECT name FROM _sqlite_migrations")}
    assert "m102_nlp_lookup_indexes" in applied
    plan = " ".join(str(r[3]) for r in store.db.execute(
        "EXPLAIN QUERY PLAN SELECT count(*) FROM events WHERE type GLOB 'sanction*'"))
    assert "idx_events_type" in plan
    store.close()


# -- the derived tables match the base rows ---------------------------------------------------


def _derived(store: Store) -> dict[str, set[tuple[Any, ...]]]:
    q = store.db.execute
    return {
        "texts": set(q("SELECT actor_id, text, n FROM actor_mention_texts WHERE n > 0")),
        "articles": set(q("SELECT actor_id, article_id, published FROM actor_articles")),
        "pairs": set(q("SELECT actor_id, other_id, n FROM actor_pairs WHERE n > 0")),
        "events": set(q("SELECT actor_id, event_id FROM event_actors")),
    }


def _recomputed(store: Store) -> dict[str, set[tuple[Any, ...]]]:
    q = store.db.execute
    events: set[tuple[Any, ...]] = set()
    for event_id, ids in q("SELECT id, actor_ids FROM events"):
        events |= {(int(i), event_id) for i in json.loads(ids or "[]")}
    return {
        "texts": set(q("SELECT actor_id, text, count(*) FROM mentions GROUP BY 1, 2")),
        "articles": set(q(
            "SELECT x.actor_id, x.article_id, a.published FROM ("
            "SELECT actor_id, article_id FROM mentions UNION "
            "SELECT speaker_id, article_id FROM quotes WHERE speaker_id IS NOT NULL) x "
            "JOIN articles a ON a.id = x.article_id")),
        "pairs": set(q(
            "SELECT m1.actor_id, m2.actor_id, count(*) FROM mentions m1 JOIN mentions m2 "
            "ON m2.article_id = m1.article_id AND m2.sentence = m1.sentence "
            "AND m2.actor_id != m1.actor_id GROUP BY 1, 2")),
        "events": events,
    }


def _analysis(i: int) -> ArticleAnalysis:
    a = ArticleAnalysis()
    a.actors["smith"] = ActorX("smith", "Smith", "PERSON", {"Smith"})
    a.actors["acme"] = ActorX("acme", "Acme", "ORG", {"Acme"})
    a.actors["spain"] = ActorX("spain", "Spain", "GPE", {"Spain"})
    a.mentions += [
        MentionX("smith", "Smith", "PERSON", 0, 5, 0),
        MentionX("acme", "Acme", "ORG", 10, 14, 0),
        MentionX("acme", "ACME", "ORG", 20, 24, 0),
        MentionX("spain", "Spain", "GPE", 30, 35, 1),
        MentionX("smith", "Mr Smith", "PERSON", 40, 48, 1),
    ]
    a.roles.append(RoleX("smith", "chairman" if i % 2 else "Chairman", None))
    a.quotes.append(QuoteX(f"We will grow {i}", "smith", "Smith", "“We will grow,” he said.",
                           None))
    a.events.append(EventX("sanction", "sanctioned", f"Spain sanctioned Acme ({i}).", 1,
                           actors=["spain"], targets=["acme"], date=f"2024-0{1 + i % 9}-10",
                           date_precision="day"))
    return a


def _full_name(i: int) -> ArticleAnalysis:
    a = ArticleAnalysis()
    a.actors["john smith"] = ActorX("john smith", "John Smith", "PERSON", {"John Smith"})
    a.actors["spain"] = ActorX("spain", "Spain", "GPE", {"Spain"})
    a.mentions += [MentionX("john smith", "John Smith", "PERSON", 0, 10, 0),
                   MentionX("spain", "Spain", "GPE", 12, 17, 0)]
    a.events.append(EventX("agreement", "agreed", f"John Smith agreed with Spain ({i}).", 0,
                           actors=["john smith"], targets=["spain"]))
    return a


def _save(store: Store, article_id: int, analysis: ArticleAnalysis) -> None:
    with store.transaction():
        save_analysis(store, article_id, ArticleDraft(title="t", text="x"), analysis,
                      NlpAnalyzer(None).aliases)


def _article(store: Store, i: int, published: str | None = "2024-01-01") -> int:
    return store.insert_article(ArticleDraft(
        title=f"Article {i}", text=f"Body {i}", published=published,
        url=f"https://example.org/{i}").fields())


def test_derived_tables_follow_ingestion_merges_reanalysis_and_dates(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    ids = [_article(store, i, None if i == 3 else f"2024-0{1 + i}-01") for i in range(5)]
    for i, article_id in enumerate(ids):
        _save(store, article_id, _analysis(i))
    assert _derived(store) == _recomputed(store)
    assert _derived(store)["pairs"]  # Smith and Acme share sentence 0: a real co-mention

    # "John Smith" absorbs the surname-alone actor: its mentions, quotes, events follow
    extra = _article(store, 9)
    _save(store, extra, _full_name(9))
    assert store.nlp_actor_by_key("smith") is None
    assert _derived(store) == _recomputed(store)

    # re-analysis clears an article's rows first; a merge by hand; a corrected date
    _save(store, ids[1], _full_name(1))
    spain, acme = store.nlp_actor_by_key("spain"), store.nlp_actor_by_key("acme")
    assert spain is not None and acme is not None
    store.nlp_merge_actor(int(acme["id"]), int(spain["id"]))
    store.db.execute("UPDATE articles SET published = '2023-12-31' WHERE id = ?", [ids[3]])
    assert _derived(store) == _recomputed(store)
    fts = store.db.execute(
        "SELECT count(*) FROM events_fts WHERE events_fts MATCH 'targets : \"acme\"'"
    ).fetchone()[0]
    assert fts == 0  # the merge renamed the events' targets: the index followed
    for index in ("events_fts", "actor_names_fts"):  # index == content, row by row
        store.db.execute(f"INSERT INTO {index}({index}) VALUES ('integrity-check')")
    store.close()


def test_migration_backfills_an_existing_database(tmp_path: Path) -> None:
    """A database from before m102 gets the derived tables filled from its rows."""
    path = tmp_path / "old.db"
    store = Store(path)
    for i in range(3):
        _save(store, _article(store, i), _analysis(i))
    expected = _derived(store)
    for table in ("actor_mention_texts", "actor_articles", "actor_pairs", "event_actors"):
        store.db.execute(f"DROP TABLE {table}")
    store.db.execute("DROP TABLE events_fts")
    store.db.execute("DROP TABLE actor_names_fts")
    for trigger in [t for t in _names(store, "trigger") if t.startswith("trg_m102_")]:
        store.db.execute(f"DROP TRIGGER {trigger}")
    for index in M102_INDEXES - {"idx_actor_articles_date", "idx_actor_articles_article",
                                 "idx_event_actors_event"}:
        store.db.execute(f"DROP INDEX {index}")
    store.db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm102_nlp_lookup_indexes'")
    store.db.conn.commit()
    store.close()
    store = Store(path)
    assert _derived(store) == expected == _recomputed(store)
    lk = Lookups(store)
    assert lk.suggestions("Smiht") == ["Smith"]
    store.close()


# -- replies that show part of a long list say how long it is ----------------------------------


def _quotes_analysis(n: int) -> ArticleAnalysis:
    a = ArticleAnalysis()
    a.actors["ada lovelace"] = ActorX("ada lovelace", "Ada Lovelace", "PERSON", {"Ada Lovelace"})
    a.mentions.append(MentionX("ada lovelace", "Ada Lovelace", "PERSON", 0, 12, 0))
    a.quotes += [QuoteX(f"Quote number {k}", "ada lovelace", "Ada Lovelace", "s", None)
                 for k in range(n)]
    return a


def test_who_says_how_many_quotes_and_articles_when_it_shows_the_first(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    for i in range(12):
        _save(store, _article(store, i, f"2024-01-{10 + i}"), _quotes_analysis(3))
    reply = Lookups(store).who("Ada Lovelace")
    assert isinstance(reply, ActorReply)
    actor = reply.to_dict()["actor"]
    assert len(actor["quotes"]) == WHO_QUOTES < 36
    assert actor["quotes_total"] == 36 and actor["articles_total"] == 12
    assert [q["text"] for q in actor["quotes"][:2]] == ["Quote number 0", "Quote number 1"]
    assert actor["first_seen"] == "2024-01-10" and actor["last_seen"] == "2024-01-21"
    text = render(reply, ansi=False)
    assert "36 mentions" not in text and "12 mentions in 12 articles" in text
    assert "… 31 more quotes (36 in all)" in text
    assert "… 4 more articles (12 in all)" in text
    store.close()


def test_who_of_a_small_actor_shows_everything_without_more_lines(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    _save(store, _article(store, 1), _quotes_analysis(2))
    reply = Lookups(store).who("Ada Lovelace")
    assert isinstance(reply, ActorReply)
    assert reply.actor.quotes_total == 2 and len(reply.actor.quotes) == 2
    assert "more" not in render(reply, ansi=False)
    store.close()


def _event_row(store: Store, article_id: int, day: int, sentence: str) -> None:
    store.nlp_insert_event({
        "article_id": article_id, "type": "deportation_flight", "date": f"2024-03-{day:02d}",
        "date_precision": "day", "actors": '["Acme Air"]', "targets": "[]", "actor_ids": "[]",
        "sentence": sentence, "negated": 0, "modality": "asserted",
    })


def test_events_beyond_the_row_cap_show_the_oldest_and_count_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "w.db")
    article = _article(store, 1)
    for day in (9, 3, 7, 1, 5, 8, 2, 6, 4):
        _event_row(store, article, day, f"Acme Air flew deportees on day {day}.")
    lk = Lookups(store)
    exact = lk.events("deportation", None, None)
    monkeypatch.setattr(lookups_mod, "ROW_CAP", 4)
    bounded = lk.events("deportation", None, None)
    assert exact.total == bounded.total == 9
    assert [e.id for e in bounded.events] == [e.id for e in exact.events]
    page, total = lk.event_page(EventFilter(types=("deportation_flight",)), limit=4)
    assert total == 9
    assert [e.date for e in page] == [f"2024-03-0{d}" for d in range(1, 5)]
    text = render(EventsReply(topic="deportation", since=None, until=None, events=page,
                              total=total), ansi=False)
    assert text.startswith("9 events") and "… 5 more" in text
    since = lk.events("deportation", "2024-03-06", None)
    assert since.total == 4 and since.events[0].date == "2024-03-06"
    store.close()


def test_event_words_find_what_like_finds(tmp_path: Path) -> None:
    """The trigram index answers ``LIKE '%word%'``: substrings, any case, in any column."""
    store = Store(tmp_path / "w.db")
    article = _article(store, 1)
    sentences = ["Refugees crossed the border.", "An anti-refugee law passed.",
                 "Nothing here.", "REFUGEE camp closed.", "Ré-fugee typo."]
    for i, s in enumerate(sentences, 1):
        _event_row(store, article, i, s)
    store.nlp_insert_event({"article_id": article, "type": "request", "actors": "[]",
                            "targets": '["Refugee Council"]', "actor_ids": "[]",
                            "sentence": "They asked for help.", "negated": 0})
    reply = Lookups(store).events("refugees", None, None)
    assert isinstance(reply, EventsReply)
    assert sorted(e.sentence for e in reply.events) == sorted(
        [sentences[0], sentences[1], sentences[3], "They asked for help."])
    both = Lookups(store).events("deportation refugee camp", None, None)
    assert [e.sentence for e in both.events] == [sentences[3]]
    store.close()


def test_suggestions_beyond_the_scan_limit_use_the_name_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "w.db")
    for i in range(3):
        _save(store, _article(store, i), _analysis(i))
    _save(store, _article(store, 7), _quotes_analysis(1))
    lk = Lookups(store)
    scanned = lk.who("Ada Lovelase")
    monkeypatch.setattr(lookups_mod, "SUGGEST_SCAN", 0)
    indexed = lk.who("Ada Lovelase")
    assert isinstance(scanned, NotFoundReply) and isinstance(indexed, NotFoundReply)
    assert indexed.suggestions == scanned.suggestions and "Ada Lovelace" in indexed.suggestions
    nothing_close = lk.suggestions("Qqqqxx")
    assert nothing_close and nothing_close[0] == "Smith"  # the most mentioned actor first
    store.close()


def test_actors_by_name_word_match_the_full_scan(tmp_path: Path) -> None:
    """The trigram-indexed word lookup finds exactly the whole-word matches of a scan."""
    store = Store(tmp_path / "w.db")
    for i in range(3):
        _save(store, _article(store, i), _analysis(i))
    _save(store, _article(store, 8), _full_name(8))
    _save(store, _article(store, 9), _quotes_analysis(1))
    store.nlp_add_alias(int(store.nlp_actor_by_key("spain")["id"]),  # type: ignore[index]
                        "Kingdom of Spain", "kingdom of spain")
    scan = ("SELECT a.id FROM actors a WHERE ' ' || a.key || ' ' LIKE ? OR a.id IN ("
            "SELECT actor_id FROM actor_aliases WHERE ' ' || alias_key || ' ' LIKE ?)")
    for word in ("smith", "john", "spain", "kingdom", "lovelace", "ada", "acm", "ace", "pain",
                 "of", "zzz"):
        expected = {r[0] for r in store.db.execute(scan, [f"% {word} %"] * 2)}
        assert {r["id"] for r in store.nlp_find_actors_by_word(word)} == expected, word
    assert [r["key"] for r in store.nlp_find_actors_by_word("kingdom")] == ["spain"]
    assert store.nlp_find_actors_by_word("pain") == []  # a part of a word is not a word
    store.close()


def test_a_group_larger_than_the_rows_read_still_lists_every_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "w.db")
    articles = [_article(store, i) for i in range(8)]
    for a in articles:
        _event_row(store, a, 5, "Acme Air flew deportees.")
    first = int(store.db.execute("SELECT min(id) FROM events").fetchone()[0])
    for row in store.db.execute("SELECT id FROM events").fetchall():
        store.nlp_set_event_group(int(row[0]), first)
    lk = Lookups(store)
    whole = lk.events("deportation", None, None)
    monkeypatch.setattr(lookups_mod, "MEMBER_CAP", 3)
    capped = lk.events("deportation", None, None)
    assert whole.total == capped.total == 1
    assert sorted(capped.events[0].sources) == sorted(whole.events[0].sources) == articles
    assert capped.events[0].sources[0] == whole.events[0].sources[0]
    store.close()


def test_odd_rows_are_stored_and_indexed_as_far_as_they_go(tmp_path: Path) -> None:
    """Malformed ``actor_ids`` or a mention without an actor never make a write fail."""
    store = Store(tmp_path / "w.db")
    article = _article(store, 1)
    _save(store, article, _analysis(1))
    spain = int(store.nlp_actor_by_key("spain")["id"])  # type: ignore[index]
    for ids in ("not json", f'[{spain}, null, "x"]', None):
        store.nlp_insert_event({"article_id": article, "type": "request", "actor_ids": ids,
                                "sentence": "Odd.", "negated": 0})
    store.nlp_insert_rows("mentions", [{"article_id": article, "actor_id": None,
                                        "text": "Nobody", "sentence": 0}])
    odd = [int(r[0]) for r in store.db.execute(
        "SELECT id FROM events WHERE sentence = 'Odd.' ORDER BY id")]
    assert len(odd) == 3
    linked = {(a, e) for a, e in _derived(store)["events"] if e in odd}
    assert linked == {(spain, odd[1])}
    assert store.db.execute("SELECT count(*) FROM mentions WHERE actor_id IS NULL"
                            ).fetchone()[0] == 1
    assert all(a is not None for a, _t, _n in _derived(store)["texts"])
    store.close()
