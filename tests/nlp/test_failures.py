"""One article whose analysis fails never loses the other articles of its batch, and the
start-up backfill neither crashes on it nor retries it on every start (no model needed)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import bot.nlp.analyzer as analyzer_mod
import bot.nlp.extract as extract_mod
from bot.ingest import ArticleDraft, ingest_drafts
from bot.nlp import NLP_VERSION
from bot.nlp.analyzer import AnalysisFailed, NlpAnalyzer
from bot.nlp.extract import ActorX, ArticleAnalysis, MentionX
from bot.settings import Settings
from bot.store import Store
from bot.wiring import build


class FakeNlp:
    """Stands for the spaCy pipeline: "docs" are the paragraph texts themselves."""

    pipe_names = ("ww_alias_linker",)

    def pipe(self, texts: Sequence[str], **_kw: Any) -> list[str]:
        return list(texts)


def fake_analyses(_aliases: Any, docs: Sequence[str], _plan: Any, _published: Any) -> Any:
    """Stands for extraction: one ORG per article; "BOOM" in the text raises."""
    if any("BOOM" in d for d in docs):
        raise RuntimeError("extraction blew up")
    a = ArticleAnalysis()
    a.actors["acme corp"] = ActorX("acme corp", "Acme Corp", "ORG", {"Acme Corp"})
    a.mentions.append(MentionX("acme corp", "Acme Corp", "ORG", 0, 9, 0))
    return a


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract_mod, "analyses_from_docs", fake_analyses)


@pytest.fixture
def save_fails_for(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Titles listed here fail in save_analysis AFTER writing some rows (a partial save)."""
    real = analyzer_mod.save_analysis
    failing: list[str] = []

    def save(store: Store, article_id: int, draft: ArticleDraft, analysis: Any,
             aliases: Any) -> None:
        real(store, article_id, draft, analysis, aliases)
        if draft.title in failing:
            raise RuntimeError("FOREIGN KEY constraint failed (simulated)")

    monkeypatch.setattr(analyzer_mod, "save_analysis", save)
    return failing


def drafts(*titles: str) -> list[ArticleDraft]:
    return [ArticleDraft(title=t, text=f"Acme Corp said {t} on Monday.",
                         url=f"https://example.org/{n}") for n, t in enumerate(titles)]


def state(store: Store) -> dict[str, tuple[int, int | None, int]]:
    rows = store.db.execute(
        "SELECT title, coalesce(nlp_version, 0), nlp_failed_version, "
        "(SELECT count(*) FROM mentions m WHERE m.article_id = a.id) FROM articles a"
    ).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_a_failing_save_keeps_the_rest_of_the_batch(
    tmp_path: Path, fake_model: None, save_fails_for: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    save_fails_for.append("two")
    store = Store(tmp_path / "w.db")
    with caplog.at_level(logging.ERROR):
        result = ingest_drafts(store, drafts("one", "two", "three"),
                               NlpAnalyzer(None, nlp=FakeNlp()))
    assert len(result.new_ids) == 3
    assert state(store) == {
        "one": (NLP_VERSION, None, 1),
        "two": (0, NLP_VERSION, 0),  # stored, its partial rows rolled back, marked failed
        "three": (NLP_VERSION, None, 1),
    }
    failure = [r for r in caplog.records if "could not be saved" in r.getMessage()]
    assert failure and failure[0].exc_info is not None  # logged with its traceback
    assert store.nlp_articles_to_analyse(NLP_VERSION) == []
    assert store.nlp_failed_count(NLP_VERSION) == 1
    assert "two" in [r.title for r in store.nlp_articles_to_analyse(NLP_VERSION + 1)]
    store.close()


def test_a_failing_extraction_keeps_the_rest_of_the_batch(
    tmp_path: Path, fake_model: None, caplog: pytest.LogCaptureFixture,
) -> None:
    analyzer = NlpAnalyzer(None, nlp=FakeNlp())
    batch = drafts("one", "BOOM", "three")
    out = analyzer.analyze(batch)
    assert [type(a) for a in out] == [ArticleAnalysis, AnalysisFailed, ArticleAnalysis]
    store = Store(tmp_path / "w.db")
    with caplog.at_level(logging.ERROR):
        result = ingest_drafts(store, batch, analyzer)
    assert len(result.new_ids) == 3
    assert state(store)["BOOM"] == (0, NLP_VERSION, 0)
    assert state(store)["one"] == (NLP_VERSION, None, 1)
    assert any(r.exc_info for r in caplog.records if "BOOM" in r.getMessage()
               or "analysis failed" in r.getMessage())
    store.close()


class BrokenAnalyzer:
    """Any analyzer (not only the NLP one) whose save raises for one article."""

    version = 7

    def analyze(self, drafts: Sequence[ArticleDraft]) -> list[Any]:
        return [d.title for d in drafts]

    def save(self, store: Store, article_id: int, draft: ArticleDraft, analysis: Any) -> None:
        store.nlp_set_version(article_id, self.version)
        if analysis == "two":
            raise ValueError("bad analysis")


def test_ingest_guards_any_analyzer(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    result = ingest_drafts(store, drafts("one", "two", "three"), BrokenAnalyzer())
    assert len(result.new_ids) == 3
    assert state(store)["two"] == (0, 7, 0)  # its own writes rolled back (savepoint)
    assert state(store)["three"][0] == 7
    assert len(result.errors) == 1 and "ValueError: bad analysis" in result.errors[0]
    store.close()


def test_startup_backfill_survives_and_does_not_retry_forever(
    tmp_path: Path, fake_model: None, save_fails_for: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = tmp_path / "w.db"
    store = Store(db)
    ingest_drafts(store, drafts("one", "two", "BOOM", "four"), None)  # indexed without NLP
    store.close()
    save_fails_for.append("two")
    calls: list[str] = []
    real_save = NlpAnalyzer.save

    def counting_save(self: NlpAnalyzer, store: Store, article_id: int, draft: ArticleDraft,
                      analysis: Any) -> None:
        calls.append(draft.title)
        real_save(self, store, article_id, draft, analysis)

    monkeypatch.setattr(NlpAnalyzer, "save", counting_save)

    app = build(Settings(db_path=db), nlp=FakeNlp(), seed=False)  # does not raise
    assert sorted(calls) == ["BOOM", "four", "one", "two"]
    assert state(app.store) == {
        "one": (NLP_VERSION, None, 1), "two": (0, NLP_VERSION, 0),
        "BOOM": (0, NLP_VERSION, 0), "four": (NLP_VERSION, None, 1),
    }
    app.close()

    calls.clear()
    build(Settings(db_path=db), nlp=FakeNlp(), seed=False).close()
    assert calls == []  # the next start does not try them again

    monkeypatch.setattr(NlpAnalyzer, "version", NLP_VERSION + 1)  # a new NLP version retries
    save_fails_for.clear()
    app = build(Settings(db_path=db), nlp=FakeNlp(), seed=False)
    assert sorted(calls) == ["BOOM", "four", "one", "two"]
    assert state(app.store)["two"][1:] == (None, 1)  # analysed now: the mark is cleared
    assert state(app.store)["BOOM"] == (0, NLP_VERSION + 1, 0)  # still failing: marked again
    app.close()


def test_startup_survives_a_backfill_that_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    db = tmp_path / "w.db"
    store = Store(db)
    ingest_drafts(store, drafts("one"), None)
    store.close()

    def broken(*_a: Any, **_k: Any) -> int:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(analyzer_mod, "backfill", broken)
    with caplog.at_level(logging.ERROR):
        app = build(Settings(db_path=db), nlp=FakeNlp(), seed=False)
    assert app.store.count_articles() == 1
    assert any("backfill stopped" in r.getMessage() and r.exc_info for r in caplog.records)
    app.close()


def test_a_feed_poll_keeps_every_entry_when_one_analysis_fails(
    tmp_path: Path, fake_model: None, save_fails_for: list[str],
) -> None:
    """The poller's recorder wraps the analyzer: every entry of the poll is stored AND
    remembered (so it is neither lost nor fetched again as new), even the failing one."""
    from bot.feeds.parse import ParsedEntry
    from bot.feeds.poller import _EntryRecorder

    save_fails_for.append("two")
    store = Store(tmp_path / "w.db")
    feed_id, _ = store.add_feed("https://example.org/feed", now="2024-02-05T10:00:00Z")
    batch = drafts("one", "two", "three")
    entries = [ParsedEntry(key=f"k{n}", draft=d, base_key=f"k{n}") for n, d in enumerate(batch)]
    recorder = _EntryRecorder(NlpAnalyzer(None, nlp=FakeNlp()), feed_id, entries,
                              "2024-02-05T10:00:00Z", 1, False)
    result = ingest_drafts(store, batch, recorder)
    assert len(result.new_ids) == 3
    assert store.seen_entry_keys(feed_id, ["k0", "k1", "k2"]) == {"k0", "k1", "k2"}
    assert state(store)["two"] == (0, NLP_VERSION, 0)
    store.close()
