from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.ingest import ArticleDraft, ingest_drafts
from bot.schema import migrations
from bot.store import HL_END, HL_START, Store, fts_query


def _draft(title: str, text: str, **kw: object) -> ArticleDraft:
    return ArticleDraft(title=title, text=text, **kw)  # type: ignore[arg-type]


def test_wal_mode_and_migrations(db_path: Path) -> None:
    store = Store(db_path)
    assert store.db.journal_mode == "wal"
    applied = [m.name for m in migrations.applied(store.db)]
    assert applied == [m.name for m in migrations._migrations]
    store.close()
    # reopening applies nothing twice and keeps data
    store = Store(db_path)
    assert [m.name for m in migrations.applied(store.db)] == applied
    assert set(store.db.table_names()) >= {
        "articles", "articles_fts", "actors", "mentions", "events", "quotes", "feeds",
        "watches", "alerts", "meta",
    }
    assert store.integrity_check() == "ok"
    store.close()


def test_search_ranks_title_matches_first_and_highlights(store: Store) -> None:
    ingest_drafts(store, [
        _draft("Weather report", "Sunny skies. Deportation was mentioned once in passing."),
        _draft("Deportation flights resume", "The flights to Caracas resumed on Sunday."),
        _draft("Oil prices", "Nothing to see here."),
    ])
    total, rows, broadened = store.search("deportation")
    assert total == 2 and not broadened
    assert rows[0].title == "Deportation flights resume"
    assert all(HL_START in r.snippet and HL_END in r.snippet for r in rows)
    assert rows[0].score >= rows[1].score


def test_search_stems_and_broadens(store: Store) -> None:
    ingest_drafts(store, [_draft("A", "One deportation flight left."), _draft("B", "Oil.")])
    total, rows, _ = store.search("flights")
    assert total == 1 and rows[0].title == "A"
    total, rows, broadened = store.search("flights bananas")
    assert total == 1 and broadened


@pytest.mark.parametrize(
    "hostile",
    ['"', '""', "*", "AND", "OR NOT", "(((", ")", "a NEAR/3 b", "title:x", "x" * 20_000,
     "'; DROP TABLE articles; --", "\x00\x01", "^x", "{a b}", "-", "a*b"],
)
def test_hostile_queries_are_safe(store: Store, hostile: str) -> None:
    ingest_drafts(store, [_draft("AND OR", "and or not near title x deportation")])
    store.search(hostile)  # must not raise
    assert store.count_articles() == 1


def test_fts_query_quotes_everything() -> None:
    assert fts_query('deportation "tren de aragua" AND*') == '"deportation" "tren de aragua" "AND"'
    assert fts_query("***") is None
    assert fts_query("a b", any_term=True) == '"a" OR "b"'


def test_foreign_connection_sees_committed_rows(db_path: Path) -> None:
    store = Store(db_path)
    ingest_drafts(store, [_draft("T", "Body text.")])
    other = sqlite3.connect(db_path)
    assert other.execute("select count(*) from articles").fetchone()[0] == 1
    assert other.execute(
        "select count(*) from articles_fts where articles_fts match 'body'"
    ).fetchone()[0] == 1
    other.close()
    store.close()


def test_transaction_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.insert_article(_draft("T", "x").fields())
        raise RuntimeError("boom")
    assert store.count_articles() == 0


def test_meta(store: Store) -> None:
    assert store.get_meta("k") is None
    store.set_meta("k", "1")
    store.set_meta("k", "2")
    assert store.get_meta("k") == "2"
