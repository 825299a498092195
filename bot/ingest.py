"""Corpus ingestion: files and folders (text, HTML, JSON lines) into the store, idempotently.

Reading (``read_path`` → ``ArticleDraft``) is separate from writing (``ingest_drafts``), so
feeds reuse the writer.  An article already in the store (same url, else guid, else content
hash) is skipped.  Each batch is written in one transaction together with whatever the
optional ``Analyzer`` (the NLP of ``bot.nlp``) extracts from it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, TypeVar

from bot.dates import normalize_date
from bot.errors import UserError
from bot.htmltext import html_to_doc, html_to_text
from bot.sanitize import strip_controls, strip_controls_or_none
from bot.store import Store

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".text", ".md"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
MAX_FILE_BYTES = 20 * 1024 * 1024

_DATE_HEADER = re.compile(
    r"^\s*(?:date|published|dated)\s*:?\s+(\d{4}-\d{2}-\d{2}|\d{4}-\d{2})\b\s*", re.IGNORECASE
)
_DATELINE_DASH = re.compile(
    r"^([A-Z][A-Z.'\-]+(?: [A-Z][A-Z.'\-]+){0,3}(?:,\s*[A-Z][\w.'\-]+(?: [A-Z][\w.'\-]+){0,2})?)"
    r"\s*(?:—|–|--)\s*"
)
_DATELINE_COLON = re.compile(r"^([A-Z][A-Z.'\-]+(?: [A-Z][A-Z.'\-]+){0,3}):\s+")
_OWNED = re.compile(r"^\s*This article is owned by\s+(.+?)\.?\s*$", re.IGNORECASE)
_WRITTEN = re.compile(r"^\s*(?:Written by|By)\s*:\s*(.+?)\s*$", re.IGNORECASE)
_PROMO = re.compile(
    r"^\s*(?:READ NEXT|READ MORE|ALSO READ|RELATED|WATCH|SEE ALSO)\s*:", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’]?\s+(?=[A-Z“\"])")


@dataclass
class ArticleDraft:
    """An article read from somewhere, not yet stored."""

    title: str
    text: str
    url: str | None = None
    guid: str | None = None
    source: str | None = None
    author: str | None = None
    dateline: str | None = None
    published: str | None = None
    published_precision: str | None = None
    feed_id: int | None = None
    origin: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # one gate for every way in (files, records, feeds): no control characters stored
        self.title = strip_controls(self.title)
        self.text = strip_controls(self.text)
        for name in ("url", "guid", "source", "author", "dateline", "origin"):
            setattr(self, name, strip_controls_or_none(getattr(self, name)))

    @property
    def content_hash(self) -> str:
        return content_hash(self.text)

    def fields(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "guid": self.guid,
            "title": self.title,
            "text": self.text,
            "source": self.source,
            "author": self.author,
            "dateline": self.dateline,
            "published": self.published,
            "published_precision": self.published_precision,
            "feed_id": self.feed_id,
            "content_hash": self.content_hash,
            "origin": self.origin,
        }


def content_hash(text: str) -> str:
    normal = " ".join(text.lower().split())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


class Analyzer(Protocol):
    """Extracts structure (actors, events, quotes…) from articles and saves it."""

    def analyze(self, drafts: Sequence[ArticleDraft]) -> Sequence[Any]: ...

    def save(self, store: Store, article_id: int, draft: ArticleDraft, analysis: Any) -> None: ...


@dataclass
class IngestResult:
    new_ids: list[int] = field(default_factory=list)
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)

    def merge(self, other: IngestResult) -> None:
        self.new_ids.extend(other.new_ids)
        self.duplicates += other.duplicates
        self.errors.extend(other.errors)


# -- reading ------------------------------------------------------------------------------


def _first_sentence_title(text: str, limit: int = 140) -> str:
    first = text.split("\n", 1)[0].strip()
    sentence = _SENTENCE_END.split(first, maxsplit=1)[0].strip()
    if len(sentence) <= limit:
        return sentence.rstrip(".")
    cut = sentence[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def parse_text_article(raw: str, *, origin: str | None = None) -> ArticleDraft:
    """Read an article the way the seed files carry it.

    Recognises a title line (a first line without a full stop), a ``date YYYY-MM-DD`` header,
    a ``CITY, Country —`` or ``CITY:`` dateline, "Written by: NAME" and "This article is owned
    by SOURCE".  Promo lines ("READ NEXT: …", "WATCH: …") are dropped from the text.
    """
    text = raw.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    paragraphs = [" ".join(p.split()) for p in text.split("\n")]
    paragraphs = [p for p in paragraphs if p]
    published = precision = None
    source = author = dateline = None
    if paragraphs and (m := _DATE_HEADER.match(paragraphs[0])):
        published, precision = normalize_date(m.group(1))
        paragraphs[0] = paragraphs[0][m.end():].strip()
        if not paragraphs[0]:
            paragraphs.pop(0)
    kept: list[str] = []
    for p in paragraphs:
        if m := _OWNED.match(p):
            source = m.group(1).strip()
        elif (m := _WRITTEN.match(p)) and len(p) < 120:
            author = m.group(1).strip()
        elif _PROMO.match(p):
            continue
        else:
            kept.append(p)
    title: str | None = None
    if (
        len(kept) > 1
        and len(kept[0]) <= 200
        and not re.search(r"[.!?:;,\"”]$", kept[0])
        and not (_DATELINE_DASH.match(kept[0]) or _DATELINE_COLON.match(kept[0]))
    ):
        title = kept.pop(0)
    if kept:
        m = _DATELINE_DASH.match(kept[0]) or _DATELINE_COLON.match(kept[0])
        if m and len(m.group(1)) <= 60:
            dateline = m.group(1).strip()
            kept[0] = kept[0][m.end():].strip()
    body = "\n\n".join(p for p in kept if p)
    if title is None:
        title = _first_sentence_title(body) if body else (origin or "untitled")
    return ArticleDraft(
        title=title,
        text=body,
        source=source,
        author=author,
        dateline=dateline,
        published=published,
        published_precision=precision,
        origin=origin,
    )


def parse_html_article(raw: str, *, origin: str | None = None) -> ArticleDraft:
    doc = html_to_doc(raw)
    meta = doc.meta
    draft = parse_text_article(doc.text.replace("\n\n", "\n"), origin=origin)
    title = meta.get("og:title") or doc.h1 or doc.title
    if title:
        title = " ".join(title.split())
        if draft.text.startswith(title):
            draft.text = draft.text[len(title):].lstrip()
        draft.title = title
    draft.url = doc.canonical or meta.get("og:url") or draft.url
    draft.author = meta.get("author") or meta.get("article:author") or draft.author
    draft.source = meta.get("og:site_name") or draft.source
    for key in ("article:published_time", "date", "pubdate", "datepublished", "dc.date"):
        if meta.get(key):
            published, precision = normalize_date(meta[key])
            if published:
                draft.published, draft.published_precision = published, precision
                break
    return draft


def _pick(obj: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = obj.get(key)
        if value not in (None, ""):
            return value
    return None


def draft_from_record(obj: dict[str, Any], *, origin: str | None = None) -> ArticleDraft | None:
    """An article from a JSON object (one line of a JSON-lines file)."""
    body = _pick(obj, "text", "body", "content", "article", "summary", "description")
    if not isinstance(body, str) or not body.strip():
        return None
    if "<" in body and re.search(r"</?[a-zA-Z][^>]*>", body):
        body = html_to_text(body)
    draft = parse_text_article(body, origin=origin)
    title = _pick(obj, "title", "headline")
    if isinstance(title, str) and title.strip():
        draft.title = " ".join(html_to_text(title).split())[:500]
    for attr, keys in {
        "url": ("url", "link"),
        "guid": ("guid", "id", "uuid"),
        "source": ("source", "publisher", "outlet", "site"),
        "author": ("author", "byline", "written_by"),
    }.items():
        value = _pick(obj, *keys)
        if isinstance(value, dict):
            value = value.get("name") or value.get("title")
        if value is not None and not isinstance(value, (list, dict)):
            setattr(draft, attr, str(value).strip()[:1000] or None)
    date_value = _pick(obj, "published", "date", "published_at", "pubdate", "datetime")
    if date_value is not None:
        published, precision = normalize_date(date_value)
        if published:
            draft.published, draft.published_precision = published, precision
    return draft


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if child.is_file() and child.suffix.lower() in SUFFIXES and not hidden:
                    yield child
        elif path.is_file():
            yield path
        else:
            raise UserError(f"No such file or folder: {path}")


def read_file(path: Path) -> tuple[list[ArticleDraft], list[str]]:
    """Articles in one file, and the problems met reading it."""
    if path.stat().st_size > MAX_FILE_BYTES:
        return [], [f"{path}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB, skipped"]
    data = path.read_bytes()
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raw = data.decode("cp1252", errors="replace")
    suffix = path.suffix.lower()
    origin = str(path)
    if suffix in HTML_SUFFIXES:
        return [parse_html_article(raw, origin=origin)], []
    if suffix in JSONL_SUFFIXES:
        drafts: list[ArticleDraft] = []
        errors: list[str] = []
        stripped = raw.strip()
        records: list[tuple[int, Any]]
        if suffix == ".json" and stripped.startswith("["):
            try:
                records = list(enumerate(json.loads(stripped), 1))
            except json.JSONDecodeError as exc:
                return [], [f"{path}: not valid JSON ({exc.msg})"]
        else:
            records = []
            for n, line in enumerate(raw.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    records.append((n, json.loads(line)))
                except json.JSONDecodeError as exc:
                    errors.append(f"{path}:{n}: not valid JSON ({exc.msg})")
        for n, obj in records:
            if not isinstance(obj, dict):
                errors.append(f"{path}:{n}: expected an object")
                continue
            draft = draft_from_record(obj, origin=f"{path}:{n}")
            if draft is None:
                errors.append(f"{path}:{n}: no text")
            else:
                drafts.append(draft)
        return drafts, errors
    if "<html" in raw[:2000].lower():
        return [parse_html_article(raw, origin=origin)], []
    draft = parse_text_article(raw, origin=origin)
    if not draft.text:
        return [], [f"{path}: no text"]
    return [draft], []


def bundled_corpus_files() -> list[Path]:
    folder = resources.files("bot") / "data" / "corpus"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".txt"))


# -- writing ------------------------------------------------------------------------------


AHEAD = 2  # batches being analysed while an earlier one is written
B = TypeVar("B")
P = TypeVar("P")


class PendingAnalyses(Protocol):
    """Analyses being made (``result()`` waits for them)."""

    def result(self) -> Sequence[Any]: ...


class Done:
    """Analyses already made."""

    def __init__(self, analyses: Sequence[Any]) -> None:
        self._analyses = analyses

    def result(self) -> Sequence[Any]:
        return self._analyses


def ingest_drafts(
    store: Store, drafts: Sequence[ArticleDraft], analyzer: Analyzer | None = None
) -> IngestResult:
    """Store the drafts not already stored, with their analysis, in one transaction."""
    return ingest_batches(store, [drafts], analyzer)


def ingest_batches(
    store: Store,
    batches: Iterable[Sequence[ArticleDraft]],
    analyzer: Analyzer | None = None,
    *,
    processes: int = 1,
    on_written: Callable[[int], None] | None = None,
) -> IngestResult:
    """Store each batch's new drafts with their analysis, one transaction per batch.

    With ``processes`` > 1 (and an analyzer that has worker processes, like ``NlpAnalyzer``)
    the next batches are analysed in worker processes while this process writes the earlier
    ones.  ``on_written(n)`` is called when batch ``n`` (counted from 0) is committed.
    """
    result = IngestResult()
    seen: set[str] = set()
    parallel = getattr(analyzer, "parallel", None) if processes > 1 else None

    def fresh(item: tuple[int, Sequence[ArticleDraft]]) -> tuple[int, list[ArticleDraft]]:
        return item[0], _fresh_drafts(store, item[1], seen, result)

    def write(item: tuple[int, list[ArticleDraft]], pending: PendingAnalyses) -> None:
        _write_batch(store, analyzer, item[0], item[1], pending, result, on_written)

    with parallel(processes) if parallel else nullcontext():
        pipelined(map(fresh, enumerate(batches)), lambda item: _submit(analyzer, item[1]), write)
    return result


def pipelined(
    batches: Iterable[B], submit: Callable[[B], P], write: Callable[[B, P], None],
    *, ahead: int = AHEAD,
) -> None:
    """``submit`` each batch as it comes and ``write`` the oldest one (with what ``submit``
    returned) once more than ``ahead`` are in flight, so analysis runs ahead of writing."""
    pending: deque[tuple[B, P]] = deque()
    for batch in batches:
        pending.append((batch, submit(batch)))
        while len(pending) > ahead:
            write(*pending.popleft())
    while pending:
        write(*pending.popleft())


def _fresh_drafts(
    store: Store, batch: Sequence[ArticleDraft], seen: set[str], result: IngestResult
) -> list[ArticleDraft]:
    """The drafts with text that are neither stored nor seen earlier in this run."""
    fresh: list[ArticleDraft] = []
    for draft in batch:
        if not draft.text.strip():
            result.errors.append(f"{draft.origin or draft.title}: no text")
            continue
        key = draft.content_hash
        known = store.find_article_id(url=draft.url, guid=draft.guid, content_hash=key)
        if known is not None or key in seen or (draft.url and draft.url in seen):
            result.duplicates += 1
            continue
        seen.add(key)
        if draft.url:
            seen.add(draft.url)
        fresh.append(draft)
    return fresh


def _submit(analyzer: Analyzer | None, drafts: list[ArticleDraft]) -> PendingAnalyses:
    if not drafts:
        return Done([])
    if analyzer is None:
        return Done([None] * len(drafts))
    submit = getattr(analyzer, "submit", None)
    if submit is not None:
        pending: PendingAnalyses = submit(drafts)
        return pending
    return Done(analyzer.analyze(drafts))


def _write_batch(
    store: Store, analyzer: Analyzer | None, n: int, drafts: list[ArticleDraft],
    pending: PendingAnalyses, result: IngestResult, on_written: Callable[[int], None] | None,
) -> None:
    if drafts:
        analyses = pending.result()
        with store.transaction():
            for draft, analysis in zip(drafts, analyses, strict=True):
                article_id = store.insert_article(draft.fields())
                if analyzer is not None:
                    _save_analysis(store, analyzer, article_id, draft, analysis, result)
                result.new_ids.append(article_id)
    if on_written:
        on_written(n)


def _save_analysis(
    store: Store, analyzer: Analyzer, article_id: int, draft: ArticleDraft, analysis: Any,
    result: IngestResult,
) -> None:
    """One article's analysis in a savepoint: if saving it fails, the article stays stored
    without analysis (marked failed for the analyzer's version, so the start-up backfill does
    not retry it until that version changes) and the rest of the batch goes on."""
    try:
        with store.transaction():
            analyzer.save(store, article_id, draft, analysis)
    except Exception as exc:
        label = draft.origin or draft.url or draft.title
        log.exception("analysis of %s not saved; the article is stored without it", label)
        result.errors.append(f"{label}: stored without analysis ({type(exc).__name__}: {exc})")
        version = getattr(analyzer, "version", None)
        if isinstance(version, int):
            store.nlp_mark_failed(article_id, version)


def ingest_paths(
    store: Store,
    paths: Sequence[Path],
    *,
    analyzer: Analyzer | None = None,
    batch_size: int = 64,
    processes: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> IngestResult:
    """Index files and folders, ``batch_size`` articles per transaction; ``progress(done,
    total)`` is called as the files' articles are committed.  ``processes`` > 1 analyses in
    that many worker processes (see ``ingest_batches``)."""
    files = list(iter_files(paths))
    read_errors: list[str] = []
    files_done: list[int] = []  # files read when batch n was cut

    def batches() -> Iterator[list[ArticleDraft]]:
        batch: list[ArticleDraft] = []
        for n, path in enumerate(files, 1):
            try:
                drafts, errors = read_file(path)
            except OSError as exc:
                drafts, errors = [], [f"{path}: {exc.strerror or exc}"]
            read_errors.extend(errors)
            batch.extend(drafts)
            if len(batch) >= batch_size:
                files_done.append(n)
                yield batch
                batch = []
        files_done.append(len(files))
        yield batch

    def written(n: int) -> None:
        if progress:
            progress(files_done[n], len(files))

    result = ingest_batches(store, batches(), analyzer, processes=processes, on_written=written)
    result.errors[:0] = read_errors
    return result


def ensure_corpus(store: Store, analyzer: Analyzer | None = None) -> IngestResult | None:
    """On first use of an empty database, index the bundled seed corpus."""
    if store.get_meta("corpus_seeded") or store.count_articles():
        return None
    drafts = [
        replace(d, origin=f"bundled:{Path(d.origin or '').name}")
        for path in bundled_corpus_files()
        for d in read_file(path)[0]
    ]
    result = ingest_drafts(store, drafts, analyzer)
    store.set_meta("corpus_seeded", "1")
    return result
