"""A surname alone merged into a full name of the SAME article keeps every row valid.

Regression: "Views" (a surname-looking PERSON) was stored first, then a new full name ending in
"Views" absorbed and deleted it while the article's pending mentions still pointed at its id:
``sqlite3.IntegrityError: FOREIGN KEY constraint failed`` in ``Store.nlp_insert_rows``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.ingest import ArticleDraft, ingest_drafts
from bot.nlp.analyzer import NlpAnalyzer, save_analysis
from bot.nlp.extract import ActorX, ArticleAnalysis, EventX, MentionX, QuoteX, RoleX
from bot.store import Store

ARTICLE = ArticleDraft(
    title="Hollander wins big at the music awards",
    text=(
        "Hollander took home three prizes on Sunday night, the academy said.\n\n"
        "The winners included Marta Hollander for her album Northern Lights and Peter "
        "Hollander for the best single.\n\n"
        "Marta Hollander thanked her fans. Peter Hollander did not attend the ceremony in "
        "Chicago."
    ),
    published="2024-02-05",
    url="https://example.org/awards",
)


def _fk_problems(store: Store) -> list[Any]:
    return list(store.db.execute("PRAGMA foreign_key_check").fetchall())


def _analysis() -> ArticleAnalysis:
    """The pattern, by hand: the surname alone comes first, then two full names."""
    a = ArticleAnalysis()
    a.actors["smith"] = ActorX("smith", "Smith", "PERSON", {"Smith"})
    a.actors["john smith"] = ActorX("john smith", "John Smith", "PERSON", {"John Smith"})
    a.actors["mary smith"] = ActorX("mary smith", "Mary Smith", "PERSON", {"Mary Smith"})
    a.mentions += [
        MentionX("smith", "Smith", "PERSON", 0, 5, 0),
        MentionX("john smith", "John Smith", "PERSON", 20, 30, 1),
        MentionX("mary smith", "Mary Smith", "PERSON", 40, 50, 2),
    ]
    a.roles.append(RoleX("smith", "singer", None))
    a.quotes.append(QuoteX("We won", "smith", "Smith", "“We won,” Smith said.", None))
    a.events.append(EventX("agreement", "agreed", "Smith agreed with Mary Smith.", 3,
                           actors=["smith"], targets=["mary smith"]))
    return a


def test_surname_merged_into_a_full_name_of_the_same_article(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    article_id = store.insert_article(ArticleDraft(title="t", text="Smith met Mary Smith.")
                                      .fields())
    analyzer = NlpAnalyzer(None)  # the alias table only: no model
    with store.transaction():
        save_analysis(store, article_id, ARTICLE, _analysis(), analyzer.aliases)
    assert _fk_problems(store) == []
    john = store.nlp_actor_by_key("john smith")
    assert john is not None
    assert store.nlp_actor_by_key("smith") is None  # merged away…
    assert "Smith" in store.nlp_actor_aliases(int(john["id"]))  # …into the full name
    rows = list(store.db.execute(
        "SELECT a.key FROM mentions m JOIN actors a ON a.id = m.actor_id ORDER BY m.start"
    ).fetchall())
    assert [r[0] for r in rows] == ["john smith", "john smith", "mary smith"]
    speaker = store.db.execute("SELECT speaker_id FROM quotes").fetchone()[0]
    assert speaker == john["id"]
    role_actor = store.db.execute("SELECT actor_id FROM roles").fetchone()[0]
    assert role_actor == john["id"]
    assert store.get_article(article_id) is not None
    assert store.db.execute("SELECT nlp_version FROM articles").fetchone()[0] > 0
    store.close()


@pytest.mark.model
def test_written_article_with_the_pattern_is_ingested(tmp_path: Path, nlp: Any) -> None:
    store = Store(tmp_path / "w.db")
    result = ingest_drafts(store, [ARTICLE], NlpAnalyzer(None, nlp=nlp))
    assert len(result.new_ids) == 1
    assert _fk_problems(store) == []
    counts = store.db.execute(
        "SELECT count(*) FROM mentions WHERE article_id = ?", [result.new_ids[0]]
    ).fetchone()[0]
    assert counts >= 4
    store.close()
