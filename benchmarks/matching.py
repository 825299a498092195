"""Matching: 1k / 10k / 100k generated watches against 1,000 real articles.

Per-article p50/p99 of the indexed matcher, candidates per article, and the naive loop that
evaluates every watch as the baseline, with an identical-results check on the articles the naive
loop ran over.  Targets: 10k watches p99 < 1 ms, 100k < 5 ms, ≥ 20× the naive loop.

``matcher_api()`` is the ONE place that knows ``watchlists``' API; when the watch branch lands
with other names, fix it there.
"""

from __future__ import annotations

import itertools
import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.corpus import STOPWORDS, NewsItem
from benchmarks.harness import Context, Figure, Target, failed, percentile, skipped

STAGE = "matching"
SIZES_FULL = (1_000, 10_000, 100_000)
SIZES_QUICK = (1_000, 10_000)
ARTICLES_FULL, ARTICLES_QUICK = 1_000, 300
NAIVE_ARTICLES_FULL, NAIVE_ARTICLES_QUICK = 100, 20  # the naive loop is slow by design
P99_TARGET_MS = {10_000: 1.0, 100_000: 5.0}
SPEEDUP_TARGET = 20.0
EVENT_TYPES = ("deportation", "repatriation", "suspension", "resumption", "agreement",
               "accusation", "request", "sanction", "detention", "protest")


@dataclass
class MatcherAPI:
    """What the benchmark needs from the matcher, as plain callables."""

    prepare: Callable[[NewsItem], Any]  # article → what the matcher matches against
    build_index: Callable[[Sequence[tuple[int, str]]], Any]  # (id, query) pairs → index
    match_fast: Callable[[Any, Any], set[int]]  # the indexed matcher
    candidates: Callable[[Any, Any], int]  # how many watches it verifies for this article
    match_naive: Callable[[Any, Any], set[int]]  # evaluate every watch
    rejected: Callable[[Any], int] = lambda index: 0  # generated queries the parser refused
    description: str = ""


@dataclass
class _WatchIndex:
    matcher: Any
    parsed: list[tuple[int, Any]]
    rejected: int


def matcher_api() -> MatcherAPI:
    """Adapter over ``watchlists`` (query.parse, document.analyze, matcher.Matcher/naive_match).

    Raises ImportError (→ the stage is skipped) when the watch branch is not there.  Articles
    are matched without NLP facts (``actors``/``places``/``event_types`` None: filters fall
    back to the text), with ``source`` as a short label ("bbc", "aljazeera").
    """
    from watchlists.document import ArticleDoc, analyze
    from watchlists.matcher import Matcher, naive_match
    from watchlists.query import QueryError, parse
    from watchlists.synonyms import default_thesaurus

    thesaurus = default_thesaurus()

    def prepare(item: NewsItem) -> Any:
        return analyze(ArticleDoc(
            id=item.id, title=item.title, text=item.text, url=item.url,
            source=source_label(item.source) if item.source else None,
            published=item.published,
        ))

    def build_index(watches: Sequence[tuple[int, str]]) -> _WatchIndex:
        parsed, rejected = [], 0
        for wid, text in watches:
            try:
                parsed.append((wid, parse(text, thesaurus)))
            except QueryError:
                rejected += 1
        return _WatchIndex(Matcher(parsed, thesaurus), parsed, rejected)

    return MatcherAPI(
        prepare=prepare,
        build_index=build_index,
        # what the alert pipeline runs: match() with per-watch isolation on failure
        match_fast=lambda index, adoc: set(index.matcher.match_isolated(adoc).matched),
        candidates=lambda index, adoc: len(index.matcher.candidates(adoc)),
        match_naive=lambda index, adoc: set(naive_match(index.parsed, adoc, thesaurus)),
        rejected=lambda index: index.rejected,
        description="watchlists.matcher.Matcher vs naive_match",
    )


# -- generated watches -------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z][a-z]{3,}")
_NAME = re.compile(r"\b([A-Z][a-z]+(?: [A-Z][a-z]+){1,2})\b")
_PLACE = re.compile(r"\b(?:in|to|from) ([A-Z][a-z]{3,}(?: [A-Z][a-z]+)?)\b")
_TITLES = frozenset({
    "president", "prime", "minister", "first", "secretary", "senator", "chancellor", "king",
    "queen", "mr", "mrs", "ms", "dr", "general", "chief", "former", "foreign",
    "leader", "spokesman", "spokeswoman"
})
_NOT_PLACES = frozenset({
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December", "Monday", "Tuesday", "Wednesday", "Thursday",
    "Friday", "Saturday", "Sunday"
})
_NOT_SOURCE_LABELS = frozenset({"www", "europe", "com", "co", "uk", "cn", "go", "ie", "net",
                                "org", "edition"})


@dataclass
class Vocabulary:
    words: list[str]  # topical content words (they make headlines)
    phrases: list[str]  # two-word phrases from headlines
    names: list[str]  # multi-word names (actor filters), titles stripped
    places: list[str]
    sources: list[str]


def source_label(host: str) -> str:
    """``www.bbc.co.uk`` → ``bbc``; ``abcnews.go.com`` → ``abcnews``."""
    labels = [p for p in host.lower().split(".") if p not in _NOT_SOURCE_LABELS]
    return labels[0] if labels else host


def vocabulary(items: Sequence[NewsItem], *, max_words: int = 3000) -> Vocabulary:
    df: Counter[str] = Counter()
    title_df: Counter[str] = Counter()
    names: Counter[str] = Counter()
    places: Counter[str] = Counter()
    phrases: Counter[str] = Counter()
    for it in items:
        df.update({w.lower() for w in _WORD.findall(it.text)} - STOPWORDS)
        title_df.update({w.lower() for w in _WORD.findall(it.title)} - STOPWORDS)
        head = it.text[:3000]
        for name in set(_NAME.findall(head)):
            words = name.split()
            while words and (words[0].lower() in _TITLES or words[0].lower() in STOPWORDS
                            or words[0] in _NOT_PLACES):
                words = words[1:]
            if len(words) >= 2:
                names[" ".join(words)] += 1
        places.update(p for p in set(_PLACE.findall(head)) if p.split()[0] not in _NOT_PLACES)
        toks = [w.lower() for w in re.findall(r"[A-Za-z]{3,}", it.title)]
        phrases.update(f"{a} {b}" for a, b in itertools.pairwise(toks)
                       if a not in STOPWORDS and b not in STOPWORDS)
    ceiling = max(3, len(items) // 20)
    words = [w for w, c in title_df.most_common() if c >= 2 and df[w] <= ceiling][:max_words]
    if len(words) < 200:  # a small or synthetic corpus: take what its headlines offer
        words += [w for w, _ in title_df.most_common() + df.most_common() if w not in words]
        words = list(dict.fromkeys(words))[:max_words]
    return Vocabulary(
        words=words or ["news"],
        phrases=[p for p, c in phrases.most_common(500) if c >= 2] or ["white house"],
        names=[n for n, c in names.most_common(300) if c >= 2] or ["Donald Trump"],
        places=[p for p, c in places.most_common(150) if c >= 2] or ["Berlin"],
        sources=sorted({source_label(i.source) for i in items if i.source}) or ["example"],
    )


def generate_watches(n: int, vocab: Vocabulary, *, seed: int = 5) -> list[str]:
    """Realistic watch queries: 1–4 concepts, some phrases, OR, exclusions and filters."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        concepts: list[str] = []
        for _ in range(rng.choice((1, 1, 2, 2, 2, 3, 3, 4))):
            roll = rng.random()
            if roll < 0.2:
                concepts.append(f'"{rng.choice(vocab.phrases)}"')
            elif roll < 0.3:
                concepts.append(f"({rng.choice(vocab.words)} OR {rng.choice(vocab.words)})")
            else:
                concepts.append(rng.choice(vocab.words))
        if rng.random() < 0.1:
            concepts.append(f"-{rng.choice(vocab.words)}")
        roll = rng.random()
        if roll < 0.08:
            concepts.append(f'actor:"{rng.choice(vocab.names)}"')
        elif roll < 0.14:
            concepts.append(f'place:"{rng.choice(vocab.places)}"')
        elif roll < 0.18:
            concepts.append(f"type:{rng.choice(EVENT_TYPES)}")
        elif roll < 0.24:
            concepts.append(f"source:{rng.choice(vocab.sources)}")
        out.append(" ".join(concepts))
    return out


# -- the measurement -----------------------------------------------------------------------------


@dataclass
class MatchResult:
    watches: int
    build_s: float
    prepare_s: list[float]  # per article: analysing it for matching (once for all watches)
    fast_s: list[float]  # per article
    candidates: list[int]  # per article
    matches: list[int]  # per article
    naive_s: list[float]  # per article, on the naive sample
    fast_on_naive_s: list[float]  # the fast matcher on the same sample
    mismatches: int  # articles of the naive sample where fast ≠ naive
    rejected: int = 0  # generated queries the parser refused
    # CPU (thread) time of the same calls: what the matcher itself costs, without the time
    # other processes on a busy machine take from it (wall time includes that)
    fast_cpu_s: list[float] = field(default_factory=list)
    naive_cpu_s: list[float] = field(default_factory=list)
    fast_on_naive_cpu_s: list[float] = field(default_factory=list)


def bench_matching(api: MatcherAPI, watches: Sequence[str], items: Sequence[NewsItem], *,
                   naive_articles: int) -> MatchResult:
    """Fresh prepared articles for every timed pass, so no cache carries over between them."""
    clock = time.perf_counter
    t0 = clock()
    index = api.build_index(list(enumerate(watches, 1)))
    build_s = clock() - t0
    for item in items[:5]:
        api.match_fast(index, api.prepare(item))  # warm-up
    prepare_s, prepared = [], []
    for item in items:
        t0 = clock()
        prepared.append(api.prepare(item))
        prepare_s.append(clock() - t0)
    cpu = time.thread_time
    fast_s, fast_cpu_s, results = [], [], []
    for a in prepared:
        c0, t0 = cpu(), clock()
        ids = api.match_fast(index, a)
        fast_s.append(clock() - t0)
        fast_cpu_s.append(cpu() - c0)
        results.append(ids)
    cands = [api.candidates(index, a) for a in prepared]
    step = max(1, len(items) // max(1, naive_articles))
    sample = list(range(0, len(items), step))[:naive_articles]
    naive_s, naive_cpu_s, mismatches = [], [], 0
    for k in sample:
        a = api.prepare(items[k])
        c0, t0 = cpu(), clock()
        expected = api.match_naive(index, a)
        naive_s.append(clock() - t0)
        naive_cpu_s.append(cpu() - c0)
        mismatches += expected != results[k]
    return MatchResult(len(watches), build_s, prepare_s, fast_s, cands,
                       [len(r) for r in results], naive_s, [fast_s[k] for k in sample],
                       mismatches, api.rejected(index), fast_cpu_s, naive_cpu_s,
                       [fast_cpu_s[k] for k in sample])


def figures_for(r: MatchResult, *, articles: int) -> list[Figure]:
    n = f"{r.watches // 1000}k watches"
    p99 = percentile(r.fast_s, 99) * 1000
    target = P99_TARGET_MS.get(r.watches)
    mean_fast = statistics.fmean(r.fast_on_naive_s) * 1e6
    mean_naive = statistics.fmean(r.naive_s) * 1e6
    return [
        Figure(STAGE, f"{n}: per-article p99", p99, "ms",
               baseline=percentile(r.naive_s, 99) * 1000, baseline_name="naive loop",
               higher_is_better=False, target=None if target is None else Target("<", target),
               note=f"p50 {percentile(r.fast_s, 50) * 1000:.3f} ms over {articles} articles; "
                    f"index built in {r.build_s:.2f} s"
                    + (f" ({r.rejected} generated queries refused by the parser)"
                       if r.rejected else "")
                    + f"; {statistics.fmean(r.matches):.2f} matches/article; analysing an "
                    f"article for matching: p50 {percentile(r.prepare_s, 50) * 1000:.2f} ms"
                    + (f"; CPU time p50 {percentile(r.fast_cpu_s, 50) * 1000:.3f} ms, p99 "
                       f"{percentile(r.fast_cpu_s, 99) * 1000:.3f} ms" if r.fast_cpu_s else "")),
        Figure(STAGE, f"{n}: candidates per article", statistics.fmean(r.candidates),
               "watches", baseline=float(r.watches), baseline_name="all watches",
               higher_is_better=False,
               note=f"p99 {percentile([float(c) for c in r.candidates], 99):.0f}; "
                    "ratio = pruning factor"),
        Figure(STAGE, f"{n}: mean per article vs naive", mean_fast, "µs",
               baseline=mean_naive, baseline_name="naive loop", higher_is_better=False,
               target=Target(">=", SPEEDUP_TARGET, on="ratio"),
               note=f"on the {len(r.naive_s)} articles the naive loop ran over"
                    + (f"; CPU time {statistics.fmean(r.fast_on_naive_cpu_s) * 1e6:,.0f} µs vs "
                       f"{statistics.fmean(r.naive_cpu_s) * 1e6:,.0f} µs"
                       if r.fast_on_naive_cpu_s and r.naive_cpu_s else "")),
        Figure(STAGE, f"{n}: results differing from naive", r.mismatches, "articles",
               target=Target("<=", 0), higher_is_better=False,
               note=f"of {len(r.naive_s)} compared"),
    ]


def run(ctx: Context) -> list[Figure]:
    try:
        api = matcher_api()
    except ImportError as exc:
        return [skipped(STAGE, f"watchlists.matcher ({exc})", "matcher")]
    corpus = ctx.corpus()
    items = corpus.subset(ctx.size(ARTICLES_FULL, ARTICLES_QUICK), seed=13)
    vocab = vocabulary(corpus.items)
    figures: list[Figure] = []
    for size in (SIZES_QUICK if ctx.quick else SIZES_FULL):
        ctx.log(f"matching: {size:,} watches × {len(items)} articles")
        try:
            r = bench_matching(api, generate_watches(size, vocab), items,
                               naive_articles=ctx.size(NAIVE_ARTICLES_FULL,
                                                       NAIVE_ARTICLES_QUICK))
            figures.extend(figures_for(r, articles=len(items)))
        except Exception as exc:
            figures.append(failed(STAGE, exc, f"{size:,} watches"))
    return figures
