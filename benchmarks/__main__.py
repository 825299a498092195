"""Entry point: ``python -m benchmarks [--quick] [--json] [--only STAGE] [--out FILE]``."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks import STAGES
from benchmarks.harness import (
    Context,
    Figure,
    failed,
    isolate_checkout,
    render_markdown,
    render_table,
    run_meta,
    to_json,
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks",
                                description="Benchmark every stage of wirewatch on real news.")
    p.add_argument("--quick", action="store_true",
                   help="reduced sizes; finishes in under three minutes on 2 cores")
    p.add_argument("--json", action="store_true", help="print the figures as JSON to stdout")
    p.add_argument("--only", action="append", choices=STAGES, metavar="STAGE",
                   help=f"run only this stage (repeatable): {', '.join(STAGES)}")
    p.add_argument("--out", type=Path, default=None,
                   help="also write the JSON report to this file")
    p.add_argument("--markdown", type=Path, default=None,
                   help="also write the table as Markdown to this file")
    p.add_argument("--cache", type=Path, default=None, help="cache folder (default .benchcache/)")
    p.add_argument("--offline", action="store_true",
                   help="do not download the corpus; use the synthetic one")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def run_stages(ctx: Context, stages: Sequence[str]) -> list[Figure]:
    figures: list[Figure] = []
    for name in stages:
        ctx.log(f"stage {name}…")
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            figures.extend(module.run(ctx))
        except Exception as exc:  # a broken stage must not hide the others' figures
            figures.append(failed(name, exc))
            ctx.log(f"stage {name} failed: {type(exc).__name__}: {exc}")
        ctx.log(f"stage {name} done in {time.perf_counter() - t0:.1f} s")
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    isolate_checkout()
    stages = [s for s in STAGES if not args.only or s in args.only]
    ctx = Context(quick=args.quick, cache_dir=args.cache, verbose=not args.quiet,
                  offline=args.offline)
    t0 = time.perf_counter()
    try:
        figures = run_stages(ctx, stages)
    finally:
        ctx.close()
    meta = run_meta(quick=args.quick, stages=stages)
    meta["seconds"] = round(time.perf_counter() - t0, 1)
    if args.json:
        print(to_json(figures, meta))
    else:
        print(render_table(figures, meta), end="")
        print(f"total {meta['seconds']} s")
    if args.out:
        args.out.write_text(to_json(figures, meta) + "\n", encoding="utf-8")
    if args.markdown:
        args.markdown.write_text(render_markdown(figures, meta), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
