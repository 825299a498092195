"""The analyzer in the application: lazy model, backfill, ingestion, batching, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.ingest import bundled_corpus_files, ingest_drafts, read_file
from bot.nlp import NLP_VERSION
from bot.nlp.analyzer import NlpAnalyzer
from bot.service import Context
from bot.settings import Settings
from bot.store import Store

ROOT = Path(__file__).resolve().parents[2]


def _drafts() -> list[Any]:
    return [d for path in bundled_corpus_files()[:2] for d in read_file(path)[0]]


def test_lookups_never_load_the_model(tmp_path: Path, nlp: Any) -> None:
    from bot.wiring import build

    settings = Settings(db_path=tmp_path / "w.db")
    build(settings, nlp=nlp).close()  # analyse the corpus once
    app = build(settings)  # a fresh process would start like this
    try:
        for text in ("who Maduro", "events deportation", "article 1", "who nobody-at-all"):
            app.service.handle(text, Context())
        assert isinstance(app.analyzer, NlpAnalyzer)
        assert app.analyzer.loaded is False
    finally:
        app.close()


def test_articles_stored_without_nlp_are_backfilled(tmp_path: Path, nlp: Any) -> None:
    from bot.wiring import build

    db = tmp_path / "old.db"
    store = Store(db)
    result = ingest_drafts(store, _drafts(), analyzer=None)  # a foundation-era database
    assert len(result.new_ids) == 2
    assert store.nlp_articles_to_analyse(NLP_VERSION)
    assert store.counts()["events"] == 0
    store.close()
    app = build(Settings(db_path=db), nlp=nlp, seed=False)
    try:
        assert not app.store.nlp_articles_to_analyse(NLP_VERSION)
        assert app.store.counts()["events"] > 0
        reply = app.service.handle("who Maduro", Context()).to_dict()
        assert reply["kind"] == "actor" and reply["actor"]["type"] == "PERSON"
        events_before = app.store.counts()["events"]
    finally:
        app.close()
    # a second build finds nothing to do and duplicates nothing
    app = build(Settings(db_path=db), nlp=nlp, seed=False)
    try:
        assert app.store.counts()["events"] == events_before
    finally:
        app.close()


class _SpyNlp:
    """The real pipeline, recording how ``pipe`` was called."""

    def __init__(self, nlp: Any) -> None:
        self._nlp = nlp
        self.pipe_names = nlp.pipe_names
        self.calls: list[dict[str, Any]] = []

    def pipe(self, texts: Any, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return self._nlp.pipe(texts, batch_size=kwargs.get("batch_size", 64))


def test_pipe_in_batches_in_process(nlp: Any) -> None:
    spy = _SpyNlp(nlp)
    analyzer = NlpAnalyzer(None, nlp=spy)
    out = analyzer.analyze(_drafts())
    assert len(out) == 2 and spy.calls
    assert all(c.get("n_process", 1) == 1 for c in spy.calls)  # processes are the pool's job


class _BatchRecorder:
    """Records the batches ``nlp.pipe`` gets; returns the texts as stand-in docs."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def pipe(self, texts: Any, **kwargs: Any) -> Any:
        batch = list(texts)
        self.batches.append(batch)
        return iter(batch)


def test_pipe_batches_are_bounded_by_count_and_characters() -> None:
    from bot.nlp.analyzer import PIPE_BATCH, PIPE_CHARS, _parse

    texts = ["a" * 10] * (PIPE_BATCH + 5) + ["b" * (PIPE_CHARS // 3)] * 4 + ["c" * (PIPE_CHARS + 1)]
    rec = _BatchRecorder()
    assert list(_parse(rec, texts)) == texts  # every text, in order
    assert [len(b) for b in rec.batches][:2] == [PIPE_BATCH, 5 + 2]
    assert all(len(b) <= PIPE_BATCH for b in rec.batches)
    assert all(sum(map(len, b)) <= PIPE_CHARS or len(b) == 1 for b in rec.batches)
    assert rec.batches[-1] == ["c" * (PIPE_CHARS + 1)]  # longer than a batch: alone


def test_headline_does_not_merge_into_the_first_sentence(nlp: Any) -> None:
    from bot.ingest import ArticleDraft

    draft = ArticleDraft(
        title="Trump Administration Resumes Flights",
        text="Officials in Caracas confirmed the news on Monday.\n\nNo more details were given.",
    )
    analysis = NlpAnalyzer(None, nlp=nlp).analyze([draft])[0]
    assert all(m.sentence >= 0 or m.start is None for m in analysis.mentions)
    body = [m for m in analysis.mentions if m.start is not None]
    assert body and draft.text[body[0].start : body[0].end] == "Caracas"


def test_cli_ingest_analyses_and_ask_answers(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WIREWATCH_", "SLACK_"))}
    env.update(WIREWATCH_DB=str(tmp_path / "cli.db"), PYTHONPATH=str(ROOT),
               PYTHONIOENCODING="utf-8")
    folder = Path(__file__).parent / "articles"
    done = subprocess.run([sys.executable, "-m", "bot", "ingest", str(folder)], env=env,
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Indexed 3 new article(s)" in done.stdout
    asked = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json", "who", "Leyva"], env=env,
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert asked.returncode == 0, asked.stderr
    reply = json.loads(asked.stdout)
    assert reply["kind"] == "actor" and reply["actor"]["name"] == "Álvaro Leyva"
    missing = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json", "events", "since", "someday"], env=env,
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert missing.returncode == 1 and json.loads(missing.stdout)["kind"] == "error"


def test_two_people_with_one_surname_are_choices(tmp_path: Path, nlp: Any) -> None:
    from bot.ingest import ArticleDraft
    from bot.wiring import build

    app = build(Settings(db_path=tmp_path / "c.db"), nlp=nlp, seed=False)
    try:
        drafts = [
            ArticleDraft(title="Talks", text="Luis Pérez, the mayor of Quito, met officials. "
                         "Pérez said the talks went well."),
            ArticleDraft(title="Court", text="Judge Ana Pérez ruled on Tuesday. "
                         "Pérez said the case was closed."),
        ]
        ingest_drafts(app.store, drafts, app.analyzer)
        reply = app.service.handle("who Perez", Context()).to_dict()
        assert reply["kind"] == "choices"
        assert {c["name"] for c in reply["choices"]} >= {"Luis Pérez", "Ana Pérez"}
        one = app.service.handle("who Ana Perez", Context()).to_dict()
        assert one["kind"] == "actor" and one["actor"]["name"] == "Ana Pérez"
    finally:
        app.close()


def test_without_any_model_the_app_still_indexes_and_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nlp: Any
) -> None:
    from bot.nlp import pipeline
    from bot.wiring import build

    monkeypatch.setattr(pipeline, "FALLBACK_MODELS", ("no_such_model_ww",))
    settings = Settings(db_path=tmp_path / "nomodel.db", spacy_model="no_such_model_ww2")
    app = build(settings)
    try:
        assert app.store.count_articles() == 5
        assert app.store.counts()["actors"] == 0
        reply = app.service.handle("who Maduro", Context()).to_dict()
        assert reply["kind"] == "not_found" and "spaCy" in reply["message"]
        assert app.service.handle("search Maduro", Context()).to_dict()["total"] >= 4
    finally:
        app.close()
    monkeypatch.undo()
    app = build(Settings(db_path=tmp_path / "nomodel.db"), nlp=nlp)  # a model now: backfill
    try:
        assert app.service.handle("who Maduro", Context()).to_dict()["kind"] == "actor"
    finally:
        app.close()


def test_a_surname_alone_joins_the_person_stored_earlier(tmp_path: Path, nlp: Any) -> None:
    from bot.ingest import ArticleDraft
    from bot.wiring import build

    app = build(Settings(db_path=tmp_path / "s.db"), nlp=nlp, seed=False)
    try:
        first = ArticleDraft(title="One", text="President Nicolás Maduro spoke in Caracas.")
        later = ArticleDraft(title="Two", text="Maduro said the flights would resume.")
        ingest_drafts(app.store, [first], app.analyzer)
        ingest_drafts(app.store, [later], app.analyzer)  # another batch, another day
        actor = app.service.handle("who Maduro", Context()).to_dict()["actor"]
        assert actor["name"] == "Nicolás Maduro" and len(actor["articles"]) == 2
        status = app.service.handle("status", Context())
        assert "2 of 2 articles analysed" in (status.nlp or "")  # type: ignore[attr-defined]
    finally:
        app.close()


def test_a_full_name_absorbs_the_surname_stored_before_it(tmp_path: Path, nlp: Any) -> None:
    from bot.ingest import ArticleDraft
    from bot.wiring import build

    app = build(Settings(db_path=tmp_path / "m.db"), nlp=nlp, seed=False)
    try:
        first = ArticleDraft(title="One", text="Bukele said the prison would house the men. "
                             "Bukele also said that the deal was signed.")
        later = ArticleDraft(title="Two", text="President Nayib Bukele of El Salvador spoke.")
        ingest_drafts(app.store, [first], app.analyzer)
        assert app.store.nlp_actor_by_key("bukele") is not None
        ingest_drafts(app.store, [later], app.analyzer)
        assert app.store.nlp_actor_by_key("bukele") is None
        actor = app.service.handle("who Bukele", Context()).to_dict()["actor"]
        assert actor["name"] == "Nayib Bukele" and len(actor["articles"]) == 2
        assert all("Bukele" not in e["actors"] for e in actor["events"])
    finally:
        app.close()
