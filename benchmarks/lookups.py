"""Lookups at scale: grow the index to 100k articles (quick: 10k), then time the service.

The index is grown by replicating the real corpus's stored rows — articles and whatever the
NLP extracted from them (mentions, events, quotes, roles…) — under new ids
(``Store.bench_replicate_articles``), never by re-running the NLP.  The base is the ingest
stage's NLP database when it ran, else a fresh ingestion (with the app's analyzer when
``bot.nlp`` exists, without NLP otherwise).

Figures: p50/p95 of ``search`` (and ``who``/``events`` when the service answers them) through
``Service.handle``; baselines a naive ``LIKE`` scan and the unranked FTS query.  Target p95 < 50
ms.  Then the slash-command ack through the Bolt app (``bot.slack_app``; skipped when absent)
against a bare Bolt app that only acks.  Target p99 < 300 ms.
"""

from __future__ import annotations

import random
import re
import shutil
import time
from pathlib import Path
from typing import Any

from benchmarks.corpus import STOPWORDS as _STOP
from benchmarks.harness import Context, Figure, Target, failed, percentile, skipped, time_calls

STAGE = "lookups"
TARGET_MS = 50.0
ACK_TARGET_MS = 300.0
QUICK_BASE = 300

FIXED_SEARCHES = [
    "Trump", "refugees", "North Korea missile", '"European Union"', "election results",
    "Syria ceasefire talks", "immigration ban court", "Brexit negotiations", "climate change",
    "oil prices", "deportation", "Putin Russia sanctions", "health care bill", "terror attack",
]
WHO = ["Trump", "Putin", "Angela Merkel", "Theresa May", "Erdogan", "Assad", "Kim Jong-un",
       "Emmanuel Macron", "Marine Le Pen", "Obama", "Xi Jinping", "Netanyahu", "United States",
       "China", "European Union", "Rex Tillerson"]
EVENTS = ["Syria", "Trump", "refugees", "North Korea", "deportation", "sanctions",
          "Syria since 2017-03-01", "Brexit", "election", "protests"]



def realistic_queries(titles: list[str], n: int, *, seed: int = 3) -> list[str]:
    """Search texts: fixed realistic ones plus 1–3 content words drawn from real headlines."""
    rng = random.Random(seed)
    out = list(FIXED_SEARCHES)
    words_of = [[w for w in re.findall(r"[A-Za-z][A-Za-z'-]{3,}", t) if w.lower() not in _STOP]
                for t in titles]
    words_of = [ws for ws in words_of if ws]
    while len(out) < n and words_of:
        ws = rng.choice(words_of)
        k = min(len(ws), rng.randint(1, 3))
        start = rng.randrange(0, len(ws) - k + 1)
        out.append(" ".join(ws[start:start + k]))
    return out[:n] if n >= len(FIXED_SEARCHES) else out


# -- building the grown index -----------------------------------------------------------------


def _copy_db(src: Path, dst: Path) -> None:
    from bot.store import Store

    # open+close checkpoints the WAL so the main file is complete
    Store(src).close()
    shutil.copyfile(src, dst)


def grown_db(ctx: Context) -> Path:
    """A database of ``ctx.size(100k, 10k)`` articles (built once per run)."""
    if "grown_db" in ctx.shared:
        return Path(ctx.shared["grown_db"])
    from bot.store import Store

    target = ctx.size(100_000, 10_000)
    path = ctx.tmp / f"grown-{target}.db"
    corpus = ctx.corpus()
    base = ctx.shared.get("nlp_db")
    how = "NLP database of the ingest stage"
    if base is None:
        from benchmarks.ingest import nlp_loader, run_worker, worker_db, write_items

        try:
            nlp_loader()
        except ImportError:
            base = None
        else:
            n = ctx.size(1000, 150)
            ctx.log(f"lookups: base index: ingesting {n} articles with the app's analyzer")
            items_path = write_items(ctx.tmp / "lookups-base.jsonl", corpus.subset(n))
            try:
                run_worker(ctx, "ingest", items_path)
            except (ImportError, RuntimeError) as exc:
                ctx.log(f"lookups: NLP ingestion failed ({exc}); falling back to no NLP")
            else:
                base = worker_db(ctx, "ingest")
                ctx.shared["nlp_db"] = base
                how = f"{n} articles ingested with the app's analyzer"
    if base is not None and Path(base).exists():
        _copy_db(Path(base), path)
        store = Store(path)
    else:
        from benchmarks.corpus import to_drafts
        from bot.ingest import ingest_drafts

        items = corpus.subset(QUICK_BASE) if ctx.quick else corpus.items
        how = f"{len(items)} articles ingested WITHOUT NLP (bot.nlp not available)"
        ctx.log(f"lookups: base index: {how}")
        store = Store(path)
        ingest_drafts(store, to_drafts(items), None)
    base_count = store.count_articles()
    ctx.log(f"lookups: growing {base_count} → {target} articles by replication")
    t0 = time.perf_counter()
    store.bench_replicate_articles(target)
    grow_s = time.perf_counter() - t0
    counts = store.counts()
    store.close()
    ctx.shared["grown_db"] = path
    ctx.shared["grown_info"] = {"base": base_count, "how": how, "grow_s": grow_s,
                                "counts": counts, "bytes": path.stat().st_size}
    return path


# -- slash command ack (adapter: the one place that knows bot.slack_app's API) -----------------


def bolt_app_for(app: Any, settings: Any) -> Any:
    """The app's Bolt ``App`` from ``bot.slack_app.create_app`` (ImportError if absent)."""
    from bot.slack_app import create_app

    return create_app(settings, app.service, app.store)


def bare_bolt_app(settings: Any) -> Any:
    """Baseline: a Bolt app whose /news listener only acks."""
    from slack_bolt import App
    from slack_sdk import WebClient

    bolt = App(client=WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url),
               signing_secret=settings.slack_signing_secret, token_verification_enabled=False)

    @bolt.command("/news")
    def _news(ack: Any) -> None:
        ack()

    return bolt


def ack_times(bolt: Any, texts: list[str], *, secret: str, response_url: str) -> list[float]:
    """Seconds from request to Bolt's response (the ack) for each slash command."""
    from slack_bolt.request import BoltRequest

    from benchmarks.fakeslack import slash_command_request

    out = []
    for text in texts:
        body, headers = slash_command_request(text, secret=secret, response_url=response_url)
        req = BoltRequest(body=body, headers=headers)
        t0 = time.perf_counter()
        resp = bolt.dispatch(req)
        out.append(time.perf_counter() - t0)
        if resp.status != 200:
            raise RuntimeError(f"Bolt answered {resp.status} to {text!r}: {resp.body[:200]}")
    return out


def _ack_figures(ctx: Context, path: Path, texts: list[str]) -> list[Figure]:
    from benchmarks.fakeslack import FakeSlack
    from bot.settings import Settings
    from bot.wiring import build

    secret = "bench-signing-secret"
    with FakeSlack() as fake:
        settings = Settings(db_path=path, slack_bot_token="xoxb-bench",
                            slack_signing_secret=secret, slack_api_url=fake.api_url)
        response_url = fake.base_url + "/commands/respond"
        base = ack_times(bare_bolt_app(settings), texts, secret=secret,
                         response_url=response_url)
        base_p99 = percentile(base, 99) * 1000
        try:
            import bot.slack_app  # noqa: F401
        except ImportError as exc:
            return [
                skipped(STAGE, f"bot.slack_app ({exc})", "slash-command ack p99"),
                Figure(STAGE, "bare Bolt ack p99 (framework floor)", base_p99, "ms",
                       higher_is_better=False,
                       note=f"p50 {percentile(base, 50) * 1000:.2f} ms, {len(texts)} commands, "
                            "in-process dispatch"),
            ]
        app = build(settings, seed=False)
        try:
            bolt = bolt_app_for(app, settings)
            times = ack_times(bolt, texts, secret=secret, response_url=response_url)
            # the listeners answer after the acks, on Bolt's executor: let them finish before
            # the store closes (the figure is the acks above)
            bolt.listener_runner.listener_executor.shutdown(wait=True)
        finally:
            app.close()
    return [Figure(
        STAGE, "slash-command ack p99 (Bolt dispatch)", percentile(times, 99) * 1000, "ms",
        baseline=base_p99, baseline_name="bare Bolt ack", higher_is_better=False,
        target=Target("<", ACK_TARGET_MS),
        note=f"p50 {percentile(times, 50) * 1000:.2f} ms over {len(texts)} commands "
             f"at {ctx.size(100_000, 10_000):,} articles; in-process, excludes HTTP",
    )]


# -- the stage ---------------------------------------------------------------------------------


def _latency_figure(name: str, samples: list[float], *, baseline: list[float] | None,
                    baseline_name: str | None, note: str, p: float = 95) -> Figure:
    return Figure(
        STAGE, f"{name} p{p:g}", percentile(samples, p) * 1000, "ms",
        baseline=None if not baseline else percentile(baseline, p) * 1000,
        baseline_name=baseline_name, higher_is_better=False,
        target=Target("<", TARGET_MS),
        note=f"p50 {percentile(samples, 50) * 1000:.2f} ms, {len(samples)} calls; {note}",
    )


def run(ctx: Context) -> list[Figure]:
    from bot.replies import ErrorReply
    from bot.service import Context as Ask
    from bot.settings import Settings
    from bot.store import Store
    from bot.wiring import build

    figures: list[Figure] = []
    path = grown_db(ctx)
    info = ctx.shared["grown_info"]
    scale = f"{info['counts']['articles']:,} articles"
    figures.append(Figure(
        STAGE, f"grow index to {scale}", info["grow_s"], "s", higher_is_better=False,
        note=f"base {info['base']:,} ({info['how']}); "
             f"{info['bytes'] / 2**20:,.0f} MiB; " + ", ".join(
                 f"{k} {v:,}" for k, v in info["counts"].items()
                 if k in ("actors", "events", "quotes")),
    ))
    app = build(Settings(db_path=path), seed=False)
    ask = Ask(channel="C0BENCH", user="U0USER", front_end="console")
    corpus = ctx.corpus()
    titles = [i.title for i in corpus.items if i.title]
    queries = realistic_queries(titles, 40)
    reps = ctx.size(5, 2)
    try:
        def search(q: str) -> None:
            reply = app.service.handle(f"search {q}", ask)
            if isinstance(reply, ErrorReply):
                raise RuntimeError(f"search {q!r}: {reply.message}")

        for q in queries[:5]:  # warm the page cache the way a running bot has it warm
            search(q)
        samples = time_calls(search, queries * reps)
        store: Store = app.store
        like_q = queries[: ctx.size(12, 6)]
        like = time_calls(store.bench_search_like, like_q)
        unranked = time_calls(store.bench_search_unranked, queries * reps)
        figures.append(_latency_figure(
            "search", samples, baseline=like, baseline_name="naive LIKE scan",
            note=f"{len(queries)} realistic queries at {scale}; LIKE scan over "
                 f"{len(like_q)} of them"))
        figures.append(Figure(
            STAGE, "search p50 vs unranked FTS", percentile(samples, 50) * 1000, "ms",
            baseline=percentile(unranked, 50) * 1000, baseline_name="FTS MATCH, no rank",
            higher_is_better=False,
            note="the floor: same FTS query without BM25, snippets or the total count"))

        for command, args in (("who", WHO), ("events", EVENTS)):
            probe = app.service.handle(f"{command} {args[0]}", ask)
            if isinstance(probe, ErrorReply) and probe.code == "not_available":
                figures.append(skipped(STAGE, f"the service does not answer `{command}` yet",
                                       f"{command} p95"))
                continue

            def call(a: str, command: str = command) -> None:
                app.service.handle(f"{command} {a}", ask)

            s = time_calls(call, args * reps)
            b = time_calls(search, args * reps)
            figures.append(_latency_figure(
                command, s, baseline=b, baseline_name="search of the same words",
                note=f"{len(args)} names/topics at {scale}"))
    finally:
        app.close()

    ctx.log("lookups: slash-command ack")
    try:
        texts = [f"search {q}" for q in queries[:10]] + ["help", "who Trump", "status"]
        figures.extend(_ack_figures(ctx, path, texts * ctx.size(8, 3)))
    except Exception as exc:
        figures.append(failed(STAGE, exc, "slash-command ack"))
    return figures
