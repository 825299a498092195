"""Large ingestions analyse in worker processes: same results as in-process, and a dead worker
costs speed, not articles."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import bot.nlp.analyzer as analyzer_module
from bot.ingest import ArticleDraft, bundled_corpus_files, ingest_batches, read_file
from bot.nlp.analyzer import NlpAnalyzer
from bot.settings import Settings
from bot.store import Store

ROOT = Path(__file__).resolve().parents[2]
ARTICLES = Path(__file__).parent / "articles"


def _drafts() -> list[ArticleDraft]:
    paths = bundled_corpus_files() + sorted(ARTICLES.glob("*.txt"))
    return [d for path in paths for d in read_file(path)[0]]


def _fingerprint(db: Path) -> dict[str, Any]:
    """What the NLP stored, independent of row ids."""
    con = sqlite3.connect(db)
    try:
        def rows(sql: str) -> list[tuple[Any, ...]]:
            return sorted(tuple(r) for r in con.execute(sql))

        return {
            "actors": rows("SELECT key, name, type FROM actors"),
            "mentions": rows(
                "SELECT a.key, m.text, m.label, ar.content_hash FROM mentions m "
                "JOIN actors a ON a.id = m.actor_id JOIN articles ar ON ar.id = m.article_id"
            ),
            "events": rows("SELECT type, sentence, date, actors, targets, quantity FROM events"),
            "quotes": rows("SELECT text, speaker_text FROM quotes"),
            "analysed": rows("SELECT content_hash, nlp_version FROM articles"),
        }
    finally:
        con.close()


@pytest.fixture
def small_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hand even the small test batches to the pool (the real threshold is for real runs)."""
    monkeypatch.setattr(analyzer_module, "POOL_MIN_ARTICLES", 2)


def _ingest(db: Path, processes: int, nlp: Any = None) -> tuple[list[int], dict[str, Any]]:
    store = Store(db)
    analyzer = NlpAnalyzer(Settings(db_path=db), nlp=nlp)
    try:
        drafts = _drafts()
        result = ingest_batches(store, [drafts[:4], drafts[4:]], analyzer, processes=processes)
    finally:
        store.close()
    return result.new_ids, _fingerprint(db)


def test_worker_processes_store_what_in_process_analysis_stores(
    tmp_path: Path, nlp: Any, small_pool: None
) -> None:
    ids_here, here = _ingest(tmp_path / "here.db", 1, nlp)
    ids_pool, pooled = _ingest(tmp_path / "pool.db", 2)
    assert len(ids_here) == len(ids_pool) == 8
    assert here["events"] and here["quotes"] and here["mentions"]
    assert pooled == here


def test_a_dead_worker_costs_speed_not_articles(
    tmp_path: Path, nlp: Any, small_pool: None, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "dead.db"
    store = Store(db)
    analyzer = NlpAnalyzer(Settings(db_path=db), nlp=nlp)
    drafts = _drafts()
    try:
        with analyzer.parallel(2):
            first = analyzer.submit(drafts[:4]).result()
            assert analyzer._pool is not None and analyzer._pool._executor is not None
            for proc in list(analyzer._pool._executor._processes.values()):
                os.kill(proc.pid, signal.SIGKILL)
            rest = analyzer.submit(drafts[4:]).result()
            # from now on this process analyses: the pool is not used again
            assert analyzer._pool.broken
            again = analyzer.submit(drafts[:2]).result()
    finally:
        store.close()
    assert "worker process died" in caplog.text
    failed = analyzer_module.AnalysisFailed
    analysed = [a for a in first + rest + again if not isinstance(a, failed)]
    assert len(analysed) == 10
    assert any(a.events for a in rest)


def test_cli_ingest_uses_worker_processes(tmp_path: Path) -> None:
    """``wirewatch ingest`` of a folder bigger than one pool batch, with 2 processes."""
    folder = tmp_path / "many"
    folder.mkdir()
    base = _drafts()
    n = analyzer_module.POOL_MIN_ARTICLES + 2
    with (folder / "articles.jsonl").open("w", encoding="utf-8") as fh:
        for k in range(n):
            d = base[k % len(base)]
            fh.write(json.dumps({"title": f"{d.title} ({k})", "text": f"{d.text}\n\nCopy {k}.",
                                 "url": f"https://example.org/{k}"}) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WIREWATCH_", "SLACK_"))}
    env.update(WIREWATCH_DB=str(tmp_path / "cli.db"), PYTHONPATH=str(ROOT),
               WIREWATCH_NLP_PROCESSES="2", PYTHONIOENCODING="utf-8")
    done = subprocess.run([sys.executable, "-m", "bot", "ingest", str(folder)], env=env,
                          capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"Indexed {n} new article(s)" in done.stdout
    assert "Traceback" not in done.stderr and "died" not in done.stderr
    con = sqlite3.connect(tmp_path / "cli.db")
    try:
        analysed = con.execute("SELECT count(*) FROM articles WHERE nlp_version > 0").fetchone()
        events = con.execute("SELECT count(*) FROM events").fetchone()
    finally:
        con.close()
    assert analysed == (n,) and events[0] > 0
