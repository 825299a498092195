"""Memory: peak RSS of a process that builds the app with the model loaded over the grown DB.

What ``wirewatch serve`` holds: the app (store, service) over the 100k-article index (quick:
10k) of the lookups stage, the NLP model loaded, a few lookups answered and a few articles
parsed.  Measured in a subprocess: a small wrapper process runs the workload as its only
child and reads ``getrusage(RUSAGE_CHILDREN).ru_maxrss``, so nothing else this run started
counts.  Baseline: the same wrapper around the model alone.  Target < 500 MB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.harness import ROOT, Context, Figure, Target, failed, isolate_checkout, peak_rss_mb

STAGE = "memory"
TARGET_MB = 500.0
SEARCHES = ["Trump", "refugees Syria", "North Korea missile", '"European Union"', "election",
            "Brexit negotiations", "oil prices", "immigration ban court"]


def _load_model(settings: Any) -> tuple[Any, str]:
    from benchmarks.ingest import app_pipeline

    return app_pipeline(settings)


def child(mode: str, db: Path, texts_path: Path) -> dict[str, Any]:
    """The measured workload (runs as the wrapper's only child)."""
    from bot.settings import Settings

    texts = [json.loads(line)["text"] for line in texts_path.open(encoding="utf-8")]
    settings = Settings(db_path=db)
    out: dict[str, Any] = {"mode": mode}
    nlp = None
    if "model" in mode:
        nlp, out["pipeline"] = _load_model(settings)
    if "app" in mode:
        from bot.wiring import build

        app = build(settings, nlp=nlp, seed=False)
        for q in SEARCHES:
            app.service.handle(f"search {q}")
        for command in ("who Trump", "events Syria", "status"):
            app.service.handle(command)
        out["articles"] = app.store.count_articles()
        analyzer = getattr(app, "analyzer", None)
        if mode == "app-lookups":
            pass  # the lookups alone: analysing (below) would load the model
        elif analyzer is not None:
            from bot.ingest import ArticleDraft

            analyzer.analyze([ArticleDraft(title=t[:60], text=t) for t in texts])
        elif nlp is not None:
            list(nlp.pipe(texts))
        app.close()
    elif nlp is not None and mode != "model-idle":
        list(nlp.pipe(texts))
    out["self_peak_rss_mb"] = peak_rss_mb("self")
    return out


def wrap(args: list[str]) -> dict[str, Any]:
    """Run the child as our only child; its peak RSS is our RUSAGE_CHILDREN maximum."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-m", "benchmarks.memory", "child", *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=1800)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError("memory child failed: "
                           + " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:]))
    return {"peak_rss_mb": peak_rss_mb("children"), "child": json.loads(lines[-1])}


def measure(ctx: Context, mode: str, db: Path, texts_path: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", "wrap", mode, str(db), str(texts_path)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=1800,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError("memory wrapper failed: "
                           + " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:]))
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def run(ctx: Context) -> list[Figure]:
    from benchmarks.ingest import write_items
    from benchmarks.lookups import grown_db

    db = grown_db(ctx)
    texts_path = write_items(ctx.tmp / "memory-texts.jsonl", ctx.corpus().subset(20, seed=21))
    scale = f"{ctx.size(100_000, 10_000):,} articles"
    results: dict[str, dict[str, Any]] = {}
    figures: list[Figure] = []
    for mode in ("model-idle", "model", "app", "app+model", "app-lookups"):
        ctx.log(f"memory: {mode}")
        try:
            results[mode] = measure(ctx, mode, db, texts_path)
        except Exception as exc:
            figures.append(failed(STAGE, exc, f"peak RSS {mode}"))
    model = results.get("model", {}).get("peak_rss_mb")
    if "app+model" in results:
        r = results["app+model"]
        figures.append(Figure(
            STAGE, f"peak RSS: app + model at {scale}", r["peak_rss_mb"], "MB",
            baseline=model, baseline_name="model alone", higher_is_better=False,
            target=Target("<", TARGET_MB),
            note=f"{r['child'].get('pipeline', '')}; lookups answered and 20 articles "
                 "analysed; getrusage(RUSAGE_CHILDREN) of a wrapper",
            extra=r,
        ))
    if "model-idle" in results:
        figures.append(Figure(
            STAGE, "peak RSS: model loaded, idle", results["model-idle"]["peak_rss_mb"], "MB",
            higher_is_better=False,
            note="the rest of 'model alone' is parsing 20 articles in one nlp.pipe batch "
                 "(smaller batches lower the peak)",
        ))
    if "app" in results:
        figures.append(Figure(
            STAGE, f"peak RSS: app without model at {scale}", results["app"]["peak_rss_mb"],
            "MB", higher_is_better=False,
            note="lookups, then 20 articles analysed: the analyzer loads the model for them",
        ))
    if "app-lookups" in results:
        figures.append(Figure(
            STAGE, f"peak RSS: app answering lookups at {scale}",
            results["app-lookups"]["peak_rss_mb"], "MB", higher_is_better=False,
            note="searches, who, events and status; no analysis, so no model",
        ))
    return figures


if __name__ == "__main__":
    isolate_checkout()
    what, *rest = sys.argv[1:]
    if what == "child":
        print(json.dumps(child(rest[0], Path(rest[1]), Path(rest[2])), default=str), flush=True)
    elif what == "wrap":
        print(json.dumps(wrap(rest), default=str), flush=True)
    else:
        raise SystemExit(f"usage: python -m benchmarks.memory child|wrap MODE DB TEXTS ({what})")
