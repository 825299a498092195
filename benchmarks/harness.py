"""The benchmark harness: figures, targets, timing helpers, the table and the JSON report.

Every stage module exposes ``run(ctx) -> list[Figure]``.  A stage whose code is not on this
branch yet returns one ``skipped(...)`` figure ("not available: <reason>") instead of failing.

Ratio convention: ``ratio > 1`` always means *better than the baseline* — for throughputs it is
``value / baseline``, for times and sizes (lower is better) it is ``baseline / value``.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = ROOT / ".benchcache"

# Figure statuses
OK, SKIP, ERROR = "ok", "skip", "error"


@dataclass(frozen=True)
class Target:
    """A goal a figure should meet: ``on`` is "value" or "ratio"; ``op`` one of < <= > >=."""

    op: str
    threshold: float
    on: str = "value"

    def met(self, value: float | None, ratio: float | None) -> bool | None:
        subject = value if self.on == "value" else ratio
        if subject is None or (isinstance(subject, float) and math.isnan(subject)):
            return None
        return {
            "<": subject < self.threshold,
            "<=": subject <= self.threshold,
            ">": subject > self.threshold,
            ">=": subject >= self.threshold,
        }[self.op]

    def describe(self, unit: str = "") -> str:
        if self.on == "ratio":
            return f"{self.op} {self.threshold:g}×"
        return f"{self.op} {self.threshold:g}{(' ' + unit) if unit else ''}"


@dataclass
class Figure:
    stage: str
    name: str
    value: float | None = None
    unit: str = ""
    baseline: float | None = None
    baseline_name: str | None = None
    higher_is_better: bool = True
    target: Target | None = None
    note: str = ""
    status: str = OK
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return ratio(self.value, self.baseline, higher_is_better=self.higher_is_better)

    @property
    def met(self) -> bool | None:
        if self.status != OK or self.target is None:
            return None
        return self.target.met(self.value, self.ratio)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = self.ratio
        out["target"] = None if self.target is None else {
            **asdict(self.target), "text": self.target.describe(self.unit)
        }
        out["met"] = self.met
        return out


def ratio(value: float | None, baseline: float | None, *, higher_is_better: bool = True
          ) -> float | None:
    """``> 1`` means better than the baseline (see module docstring)."""
    if value is None or baseline is None:
        return None
    try:
        r = value / baseline if higher_is_better else baseline / value
    except ZeroDivisionError:
        return None
    return r if math.isfinite(r) else None


def skipped(stage: str, reason: str, name: str = "—") -> Figure:
    return Figure(stage=stage, name=name, status=SKIP, note=f"not available: {reason}")


def failed(stage: str, exc: BaseException, name: str = "—") -> Figure:
    return Figure(stage=stage, name=name, status=ERROR,
                  note=f"error: {type(exc).__name__}: {str(exc)[:200]}")


def isolate_checkout() -> list[str]:
    """Measure this checkout's code only.

    An editable install of wirewatch elsewhere (e.g. the venv's ``pip install -e``) maps
    ``bot``/``handlers``/``watchlists`` to its own tree, and Python falls back to it for any
    submodule this checkout lacks — so a stage would measure another branch's ``bot.feeds``.
    Drop such finders (only in benchmark processes, never on import).  Returns what was dropped.
    """
    dropped = []
    for finder in list(sys.meta_path):
        mapping = getattr(sys.modules.get(getattr(finder, "__module__", "")), "MAPPING", None)
        if not isinstance(mapping, dict) or "bot" not in mapping:
            continue
        if Path(mapping["bot"]).resolve() != (ROOT / "bot").resolve():
            sys.meta_path.remove(finder)
            dropped.append(str(mapping["bot"]))
    return dropped


# -- statistics and timing -------------------------------------------------------------------


def percentile(samples: Sequence[float], p: float) -> float:
    """The p-th percentile (0–100) with linear interpolation between closest ranks."""
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, not {p}")
    data = sorted(samples)
    if len(data) == 1:
        return float(data[0])
    k = (len(data) - 1) * p / 100.0
    lo = math.floor(k)
    hi = math.ceil(k)
    if lo == hi:
        return float(data[int(k)])
    return float(data[lo] + (data[hi] - data[lo]) * (k - lo))


def summarize(samples: Sequence[float]) -> dict[str, float]:
    return {
        "n": float(len(samples)),
        "mean": statistics.fmean(samples),
        "p50": percentile(samples, 50),
        "p95": percentile(samples, 95),
        "p99": percentile(samples, 99),
        "max": max(samples),
    }


def time_calls(fn: Callable[[Any], Any], args: Iterable[Any]) -> list[float]:
    """Seconds taken by ``fn(arg)`` for each arg."""
    out = []
    clock = time.perf_counter
    for arg in args:
        t0 = clock()
        fn(arg)
        out.append(clock() - t0)
    return out


def peak_rss_mb(who: str = "self") -> float:
    """Peak resident set size in MiB (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    import resource

    usage = resource.getrusage(
        resource.RUSAGE_SELF if who == "self" else resource.RUSAGE_CHILDREN
    )
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return usage.ru_maxrss / scale


# -- machine and context ---------------------------------------------------------------------


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


class Context:
    """What every stage gets: the mode, a cache folder, a scratch folder, shared state."""

    def __init__(self, *, quick: bool = False, cache_dir: Path | None = None,
                 verbose: bool = True, offline: bool = False) -> None:
        self.quick = quick
        self.cache_dir = Path(cache_dir or DEFAULT_CACHE)
        self.offline = offline
        self.verbose = verbose
        self._tmp = tempfile.TemporaryDirectory(prefix="wirewatch-bench-")
        self.tmp = Path(self._tmp.name)
        self.shared: dict[str, Any] = {}
        self._corpus: Any = None

    def close(self) -> None:
        self._tmp.cleanup()

    def log(self, message: str) -> None:
        if self.verbose:
            print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    def corpus(self) -> Any:
        """The benchmark corpus (``benchmarks.corpus.Corpus``), loaded once."""
        if self._corpus is None:
            from benchmarks.corpus import load_corpus

            self._corpus = load_corpus(self)
        return self._corpus

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def settings(self, db_path: Path, **overrides: Any) -> Any:
        from bot.settings import Settings

        return Settings(db_path=db_path, **overrides)


# -- formatting ------------------------------------------------------------------------------


def fmt_number(x: float | None) -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    ax = abs(x)
    if ax == 0:
        return "0"
    if ax >= 100_000:
        return f"{x:,.0f}"
    if ax >= 100:
        return f"{x:,.0f}" if float(x).is_integer() or ax >= 1000 else f"{x:,.1f}"
    if ax >= 10:
        return f"{x:.1f}"
    if ax >= 1:
        return f"{x:.2f}"
    if ax >= 0.01:
        return f"{x:.3f}"
    return f"{x:.2g}"


def fmt_ratio(r: float | None) -> str:
    return "—" if r is None else f"{fmt_number(r)}×"


def fmt_value(x: float | None, unit: str) -> str:
    text = fmt_number(x)
    return text if x is None or not unit else f"{text} {unit}"


def _mark(met: bool | None) -> str:
    return {True: "✓", False: "✗", None: ""}[met]


def table_rows(figures: Sequence[Figure]) -> list[list[str]]:
    """Plain string cells: stage, figure, value, baseline, ratio, target, met, note."""
    rows = []
    for f in figures:
        if f.status != OK:
            rows.append([f.stage, f.name, "—", "—", "—",
                         f.target.describe(f.unit) if f.target else "", "", f.note])
            continue
        base = fmt_value(f.baseline, f.unit)
        if f.baseline_name and f.baseline is not None:
            base = f"{base} ({f.baseline_name})"
        rows.append([
            f.stage,
            f.name,
            fmt_value(f.value, f.unit),
            base,
            fmt_ratio(f.ratio),
            f.target.describe(f.unit) if f.target else "",
            _mark(f.met),
            f.note,
        ])
    return rows


HEADERS = ["stage", "figure", "value", "baseline", "ratio", "target", "met", "note"]


def render_table(figures: Sequence[Figure], meta: dict[str, Any], *, width: int = 160) -> str:
    """The rich table as text (what ``python -m benchmarks`` prints)."""
    from rich.console import Console
    from rich.table import Table

    title = (f"wirewatch benchmarks — {meta.get('date', '')} — "
             f"{meta.get('mode', '')} — {describe_machine(meta.get('machine', {}))}")
    table = Table(title=title, show_lines=False)
    for h in HEADERS:
        table.add_column(h, overflow="fold", no_wrap=h in ("value", "ratio", "met"))
    for row in table_rows(figures):
        table.add_row(*row)
    console = Console(width=width, record=True, force_terminal=False, color_system=None,
                      file=open(os.devnull, "w"))  # noqa: SIM115 - recorded, not printed
    console.print(table)
    text = console.export_text()
    console.file.close()
    return text


def render_markdown(figures: Sequence[Figure], meta: dict[str, Any]) -> str:
    """A Markdown table of the figures (for NOTES/README)."""
    lines = [
        f"Figures of {meta.get('date', '')} ({meta.get('mode', '')}), "
        f"{describe_machine(meta.get('machine', {}))}.",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "---|" * len(HEADERS),
    ]
    for row in table_rows(figures):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines) + "\n"


def describe_machine(m: dict[str, Any]) -> str:
    if not m:
        return ""
    return f"{m.get('cpus')} CPUs, Python {m.get('python')}, {m.get('platform')}"


def report(figures: Sequence[Figure], meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON document of a run."""
    return {**meta, "figures": [f.to_dict() for f in figures]}


def to_json(figures: Sequence[Figure], meta: dict[str, Any]) -> str:
    return json.dumps(report(figures, meta), indent=2, ensure_ascii=False, default=str)


def run_meta(*, quick: bool, stages: Sequence[str]) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "mode": "quick" if quick else "full",
        "stages": list(stages),
        "machine": machine(),
    }
