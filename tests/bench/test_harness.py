"""The benchmark harness's pure helpers (CI never runs the benchmarks themselves)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx
import pytest

from benchmarks import STAGES
from benchmarks.__main__ import main
from benchmarks.corpus import Corpus, load_corpus, parse_csv, synthetic_items
from benchmarks.harness import (
    Context,
    Figure,
    Target,
    percentile,
    render_markdown,
    render_table,
    run_meta,
    skipped,
    to_json,
)
from benchmarks.lookups import ack_times, bare_bolt_app, realistic_queries
from benchmarks.matching import (
    MatcherAPI,
    bench_matching,
    figures_for,
    generate_watches,
    source_label,
    vocabulary,
)
from benchmarks.polling import FeedFarm


def test_percentile_interpolates_between_closest_ranks() -> None:
    data = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(data, 0) == 1.0
    assert percentile(data, 50) == 3.0
    assert percentile(data, 100) == 5.0
    assert percentile(data, 25) == 2.0
    assert percentile([1.0, 2.0], 50) == pytest.approx(1.5)
    assert percentile(list(range(1, 101)), 99) == pytest.approx(99.01)
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_ratio_above_one_means_better_than_baseline() -> None:
    faster = Figure("s", "latency", 2.0, "ms", baseline=10.0, higher_is_better=False)
    assert faster.ratio == pytest.approx(5.0)
    throughput = Figure("s", "rate", 850.0, "words/s", baseline=1000.0,
                        target=Target(">=", 0.85, on="ratio"))
    assert throughput.ratio == pytest.approx(0.85)
    assert throughput.met is True
    assert Figure("s", "rate", 800.0, baseline=1000.0,
                  target=Target(">=", 0.85, on="ratio")).met is False
    assert Figure("s", "p99", 0.8, "ms", target=Target("<", 1.0)).met is True
    assert Figure("s", "p99", 1.2, "ms", target=Target("<", 1.0)).met is False
    assert Figure("s", "no baseline", 3.0).ratio is None
    assert Figure("s", "zero", 0.0, baseline=1.0, higher_is_better=False).ratio is None
    assert skipped("s", "why").met is None


def _figures() -> list[Figure]:
    return [
        Figure("lookups", "search p95", 12.5, "ms", baseline=250.0, baseline_name="LIKE scan",
               higher_is_better=False, target=Target("<", 50.0), note="40 queries"),
        Figure("ingest", "ingestion", 800.0, "words/s", baseline=1000.0,
               target=Target(">=", 0.85, on="ratio")),
        skipped("matching", "watchlists.matcher (No module named 'watchlists.matcher')",
                "matcher"),
    ]


def test_table_and_markdown_show_values_baselines_ratios_targets_and_skips() -> None:
    meta = run_meta(quick=True, stages=["lookups"])
    text = render_table(_figures(), meta, width=220)
    for expected in ("search p95", "12.5 ms", "250 ms (LIKE scan)", "20.0×", "< 50 ms", "✓",
                     "0.800×", ">= 0.85×", "✗",
                     "not available: watchlists.matcher", "quick", "CPUs"):
        assert expected in text, expected
    md = render_markdown(_figures(), meta)
    assert md.count("\n| ") >= 4
    assert "| lookups | search p95 | 12.5 ms |" in md
    assert meta["date"][:4] in md


def test_json_report_carries_machine_ratio_target_and_status() -> None:
    meta = run_meta(quick=False, stages=list(STAGES))
    doc = json.loads(to_json(_figures(), meta))
    assert doc["mode"] == "full"
    assert doc["machine"]["cpus"] >= 1 and doc["machine"]["python"]
    first, second, third = doc["figures"]
    assert first["ratio"] == pytest.approx(20.0) and first["met"] is True
    assert first["target"]["text"] == "< 50 ms"
    assert second["met"] is False
    assert third["status"] == "skip" and third["note"].startswith("not available: ")


def test_synthetic_corpus_is_deterministic_and_used_offline(tmp_path: Path) -> None:
    a, b = synthetic_items(30), synthetic_items(30)
    assert a == b and len({i.text for i in a}) == 30
    assert all(i.words > 100 and i.published and i.source for i in a)
    ctx = Context(offline=True, cache_dir=tmp_path, verbose=False)
    try:
        corpus = ctx.corpus()
        assert corpus.synthetic and len(corpus.items) >= 300
        assert ctx.corpus() is corpus
        sub = corpus.subset(50)
        assert len(sub) == 50 and sub == corpus.subset(50)
        assert [i.id for i in sub] == sorted(i.id for i in sub)
    finally:
        ctx.close()
    assert load_corpus(Context(offline=True, cache_dir=tmp_path, verbose=False)).synthetic


def test_parse_csv_reads_the_real_columns_and_drops_empty_and_repeated_texts() -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["article_id", "publish_date", "article_source_link", "title", "subtitle",
                "text"])
    w.writerow(["1", "2017/2/7", "http://abcnews.go.com/Politics/x", "A title", "", "Body one."])
    w.writerow(["2", "2017/3/15", "http://www.bbc.co.uk/news/y", "Same", "sub", " body ONE. "])
    w.writerow(["3", "2017/3/16", "http://www.dw.com/z", "Empty", "", "   "])
    w.writerow(["4", "2017/12/1", "", "Other", "", "Another body,\nwith lines."])
    items = parse_csv(buf.getvalue())
    assert [i.id for i in items] == [1, 4]
    assert items[0].published == "2017-02-07" and items[0].source == "abcnews.go.com"
    assert items[1].url is None and items[1].published == "2017-12-01"
    assert items[0].nlp_text == "A title\n\nBody one."
    with pytest.raises(ValueError, match="lacks columns"):
        parse_csv("id,text\n1,x\n")


def test_corpus_drafts_are_app_drafts() -> None:
    from benchmarks.corpus import to_drafts

    drafts = to_drafts(synthetic_items(3))
    assert drafts[0].published_precision == "day" and drafts[0].origin == "bench:1"


def test_generated_watches_are_realistic() -> None:
    corpus = Corpus(synthetic_items(120), "synthetic")
    vocab = vocabulary(corpus.items)
    watches = generate_watches(2000, vocab)
    assert watches == generate_watches(2000, vocab)
    assert len(set(watches)) > 1000
    sizes = [len([t for t in w.split() if not t.startswith(("-", "actor:", "place:", "type:",
                                                             "source:"))]) for w in watches]
    assert min(sizes) >= 1
    assert any('"' in w for w in watches) and any(" OR " in w for w in watches)
    assert sum(":" in w for w in watches) / len(watches) > 0.1
    assert source_label("www.bbc.co.uk") == "bbc" and source_label("abcnews.go.com") == "abcnews"
    queries = realistic_queries([i.title for i in corpus.items], 30)
    assert len(queries) == 30 and all(q.strip() for q in queries)


def _toy_api(*, broken: bool = False) -> MatcherAPI:
    """Watches are AND of bare words; the index keys each watch by its first word."""

    def prepare(item: object) -> set[str]:
        return set(getattr(item, "text", "").lower().replace(",", " ").replace(".", " ").split())

    def build(watches: list[tuple[int, str]]) -> dict[str, list[tuple[int, list[str]]]]:
        index: dict[str, list[tuple[int, list[str]]]] = {}
        for wid, text in watches:
            words = [w.lower() for w in text.split() if w.isalpha()]
            if words:
                index.setdefault(words[0], []).append((wid, words))
        return index

    def fast(index: dict[str, list[tuple[int, list[str]]]], words: set[str]) -> set[int]:
        cands = [c for w in words for c in index.get(w, [])]
        hits = {wid for wid, ws in cands if all(x in words for x in ws)}
        if broken and hits:
            hits.pop()
        return hits

    def candidates(index: dict[str, list[tuple[int, list[str]]]], words: set[str]) -> int:
        return sum(len(index.get(w, [])) for w in words)

    def naive(index: dict[str, list[tuple[int, list[str]]]], words: set[str]) -> set[int]:
        return {wid for group in index.values() for wid, ws in group
                if all(x in words for x in ws)}

    return MatcherAPI(prepare, build, fast, candidates, naive, description="toy")


def test_bench_matching_checks_identical_results_against_the_naive_loop() -> None:
    items = synthetic_items(60)
    watches = ["refugees", "flights Venezuela", "budget Germany", "nothing-matches here",
               "election", "sanctions China"] * 50
    ok = bench_matching(_toy_api(), watches, items, naive_articles=20)
    assert ok.mismatches == 0 and len(ok.fast_s) == 60 and len(ok.naive_s) == 20
    assert sum(ok.matches) > 0 and max(ok.candidates) < len(watches)
    figs = figures_for(ok, articles=60)
    assert {f.name.split(": ")[1] for f in figs} == {
        "per-article p99", "candidates per article", "mean per article vs naive",
        "results differing from naive"}
    assert [f.met for f in figs if "differing" in f.name] == [True]
    bad = bench_matching(_toy_api(broken=True), watches, items, naive_articles=20)
    assert bad.mismatches > 0
    assert [f.met for f in figures_for(bad, articles=60) if "differing" in f.name] == [False]


def test_feed_farm_serves_304_to_conditional_gets_until_new_items() -> None:
    with FeedFarm(3, synthetic_items(10)) as farm, httpx.Client(timeout=5) as client:
        first = client.get(farm.url(1))
        assert first.status_code == 200 and first.text.count("<item>") == 10
        etag = first.headers["etag"]
        assert client.get(farm.url(1), headers={"If-None-Match": etag}).status_code == 304
        farm.add_items(5)
        again = client.get(farm.url(1), headers={"If-None-Match": etag})
        assert again.status_code == 200 and again.text.count("<item>") == 15
        assert client.get(farm.base + "/feeds/99.xml").status_code == 404
        assert farm.reset_counts() == {200: 2, 304: 1, 404: 1}


def test_bare_bolt_app_acks_signed_slash_commands(tmp_path: Path) -> None:
    from benchmarks.fakeslack import FakeSlack
    from bot.settings import Settings

    with FakeSlack() as fake:
        settings = Settings(db_path=tmp_path / "x.db", slack_bot_token="xoxb-test",
                            slack_signing_secret="s3cret", slack_api_url=fake.api_url)
        times = ack_times(bare_bolt_app(settings), ["help", "search x"], secret="s3cret",
                          response_url=fake.base_url + "/respond")
        assert len(times) == 2 and all(0 < t < 3 for t in times)
        with pytest.raises(RuntimeError, match="401"):
            ack_times(bare_bolt_app(settings), ["help"], secret="wrong",
                      response_url=fake.base_url + "/respond")


def test_store_replicates_articles_and_their_extracted_rows(tmp_path: Path) -> None:
    from benchmarks.corpus import to_drafts
    from bot.ingest import ingest_drafts
    from bot.store import Store

    store = Store(tmp_path / "grow.db")
    try:
        ingest_drafts(store, to_drafts(synthetic_items(7)))
        with store.transaction():
            store.db.execute("INSERT INTO actors(key, name, type) VALUES ('m', 'M', 'PERSON')")
            store.db.execute("INSERT INTO mentions(article_id, actor_id, text) VALUES (2, 1, 'M')")
        assert "mentions" in store.bench_article_tables()
        assert store.bench_replicate_articles(50) == 50
        assert store.counts()["articles"] == 50
        # 7 originals + 6 full copies + 1 article of the 7th copy (not article 2)
        assert store.db.execute("SELECT count(*) FROM mentions").fetchone()[0] == 1 + 6
        total, rows, _ = store.search("officials")
        assert total == 50 and len(rows) == 10
        assert len(store.bench_search_unranked("officials")) == 10
        like_total, like_ids = store.bench_search_like("officials")
        assert like_total == 50 and like_ids == sorted(like_ids)[:10]
        with pytest.raises(ValueError):
            Store(tmp_path / "empty.db").bench_replicate_articles(10)
    finally:
        store.close()


def test_entry_point_runs_a_stage_and_prints_json(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.json"
    md = tmp_path / "table.md"
    assert main(["--only", "corpus", "--offline", "--quick", "--json", "--quiet",
                 "--cache", str(tmp_path), "--out", str(out), "--markdown", str(md)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["mode"] == "quick" and doc["stages"] == ["corpus"]
    assert any("NOT ON REAL NEWS" in f["note"] for f in doc["figures"])
    assert json.loads(out.read_text())["figures"] == doc["figures"]
    assert "| corpus |" in md.read_text()


def test_isolate_checkout_leaves_only_this_checkouts_code_importable() -> None:
    import subprocess
    import sys

    from benchmarks.harness import ROOT

    code = (
        "import sys; from pathlib import Path; from benchmarks.harness import isolate_checkout;"
        "isolate_checkout();"
        "maps=[sys.modules[f.__module__].MAPPING['bot'] for f in sys.meta_path "
        "if isinstance(getattr(sys.modules.get(getattr(f, '__module__', '')), 'MAPPING', None),"
        " dict)];"
        "import bot; print(all(Path(m).resolve() == Path('bot').resolve() for m in maps),"
        " Path(bot.__file__).parent.resolve() == Path('bot').resolve())"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True"]


def test_cpu_ratio_compares_cpu_per_word() -> None:
    from benchmarks.ingest import _cpu_ratio

    raw = {"cpu_seconds": 10.0, "words": 1000}
    assert _cpu_ratio(raw, {"cpu_seconds": 20.0, "words": 2000}) == "1.00×"
    assert _cpu_ratio(raw, {"cpu_seconds": 25.0, "words": 2000}) == "0.80×"
    assert _cpu_ratio(None, raw) == "n/a"
    assert _cpu_ratio(raw, {"words": 5}) == "n/a"
