"""Worker processes for large ingestions: each loads the pipeline once and returns analyses.

A worker gets drafts and sends back ``ArticleAnalysis`` objects (small, picklable), never spaCy
``Doc`` objects: parsing *and* extraction happen in the workers, and the parent process only
writes to the database.  That is why ingestion can keep pace with ``nlp.pipe(n_process=2)``,
which ships every parsed ``Doc`` back to its parent.

Workers are started with the ``spawn`` method (a fresh interpreter, no copied locks), so a pool
is safe beside the scheduler's or Slack's threads.  ``AnalysisPool.submit`` returns at once;
``Pending.result()`` waits.  When a worker dies, its articles are analysed in the parent
instead and the pool is not used again (the ingestion goes on, more slowly).
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from bot.errors import UserError
from bot.ingest import ArticleDraft
from bot.nlp.canon import AliasTable
from bot.settings import Settings

log = logging.getLogger(__name__)

CHUNK = 4  # articles per task: small enough to keep both workers busy to the end of a batch

# -- in the worker -----------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(settings: Settings | None, aliases: AliasTable) -> None:
    import signal

    from bot.nlp.pipeline import load_nlp

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it stops the pool
    logging.basicConfig(level=logging.WARNING)
    try:
        _WORKER["nlp"] = load_nlp(settings, aliases=aliases)
    except UserError as exc:  # reported with the first task (an initializer cannot report)
        _WORKER["error"] = (exc.message, exc.hint)
    _WORKER["aliases"] = aliases


def _work(drafts: list[ArticleDraft]) -> tuple[str, Any]:
    """("ok", analyses) or ("model", (message, hint)) when the model did not load."""
    from bot.nlp.analyzer import analyze_drafts

    if "error" in _WORKER:
        return "model", _WORKER["error"]
    return "ok", analyze_drafts(_WORKER["nlp"], _WORKER["aliases"], drafts)


# -- in the parent -----------------------------------------------------------------------------


class Pending:
    """The analyses of one batch, being computed by the pool."""

    def __init__(self, chunks: list[tuple[list[ArticleDraft], Future[tuple[str, Any]]]],
                 fallback: Callable[[Sequence[ArticleDraft]], list[Any]],
                 on_broken: Callable[[], None]) -> None:
        self._chunks = chunks
        self._fallback = fallback
        self._on_broken = on_broken

    def result(self) -> list[Any]:
        out: list[Any] = []
        for drafts, future in self._chunks:
            try:
                status, value = future.result()
            except BrokenProcessPool:
                log.warning("an NLP worker process died; analysing %d article(s) here",
                            len(drafts))
                self._on_broken()
                out.extend(self._fallback(drafts))
                continue
            if status == "model":
                message, hint = value
                raise UserError(message, hint=hint)
            out.extend(value)
        return out


class AnalysisPool:
    """``processes`` spawned workers, started on the first ``submit``."""

    def __init__(self, settings: Settings | None, aliases: AliasTable, processes: int,
                 fallback: Callable[[Sequence[ArticleDraft]], list[Any]]) -> None:
        self.settings = settings
        self.aliases = aliases
        self.processes = processes
        self._fallback = fallback
        self._executor: ProcessPoolExecutor | None = None
        self.broken = False

    def submit(self, drafts: Sequence[ArticleDraft]) -> Pending:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.settings, self.aliases),
            )
        chunks: list[tuple[list[ArticleDraft], Future[tuple[str, Any]]]] = []
        for k in range(0, len(drafts), CHUNK):
            part = list(drafts[k:k + CHUNK])
            try:
                future = self._executor.submit(_work, part)
            except BrokenProcessPool:  # a worker died since the last batch
                future = Future()
                future.set_exception(BrokenProcessPool("a worker process died"))
            chunks.append((part, future))
        return Pending(chunks, self._fallback, self._mark_broken)

    def _mark_broken(self) -> None:
        self.broken = True

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
