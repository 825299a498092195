"""The analyzer ingestion calls: parse articles in batches, extract, save, group events.

``NlpAnalyzer`` implements ``bot.ingest.Analyzer``.  It loads the spaCy pipeline on first
use (through ``load_nlp``), so building the application and answering lookups never load it.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from bot.ingest import ArticleDraft, Done, PendingAnalyses, pipelined
from bot.nlp import NLP_VERSION, when
from bot.nlp.canon import AliasTable, canon_key
from bot.settings import Settings
from bot.store import ArticleRow, Store

if TYPE_CHECKING:
    from bot.nlp.extract import ActorX, ArticleAnalysis, EventX
    from bot.nlp.workers import AnalysisPool

log = logging.getLogger(__name__)

PIPE_BATCH = 64  # paragraphs per nlp.pipe batch, at most…
PIPE_CHARS = 50_000  # …and at most this many characters (a longer paragraph alone)
POOL_MIN_ARTICLES = 16  # smaller batches are analysed in this process (no worker round trip)


class NlpAnalyzer:
    """Actors, roles, quotes and events for articles; the model loads on first use."""

    version = NLP_VERSION

    def __init__(self, settings: Settings | None = None, *, nlp: Any = None,
                 aliases: AliasTable | None = None) -> None:
        self.settings = settings
        self._nlp = nlp
        self._aliases = aliases
        self._pool: AnalysisPool | None = None

    @property
    def loaded(self) -> bool:
        return self._nlp is not None

    @property
    def aliases(self) -> AliasTable:
        if self._aliases is None:
            from bot.nlp.pipeline import alias_table_for

            self._aliases = alias_table_for(self.settings)
        return self._aliases

    @property
    def nlp(self) -> Any:
        if self._nlp is None:
            from bot.nlp.pipeline import load_nlp

            self._nlp = load_nlp(self.settings, aliases=self.aliases)
        elif "ww_alias_linker" not in self._nlp.pipe_names:
            from bot.nlp.pipeline import add_components

            add_components(self._nlp, self.aliases)
        return self._nlp

    # -- Analyzer protocol ---------------------------------------------------------------------

    def analyze(self, drafts: Sequence[ArticleDraft]) -> list[ArticleAnalysis | AnalysisFailed]:
        """One analysis per draft.  When the batch fails, each draft is analysed alone, and a
        draft that still fails gets an ``AnalysisFailed``: ``save`` stores its article without
        NLP (the rest of the batch is unaffected)."""
        if not drafts:
            return []
        nlp = self.nlp  # a missing model is a UserError for the caller, not an article's fault
        return link_batch_surnames(analyze_drafts(nlp, self.aliases, drafts))

    # -- worker processes (large ingestions) ----------------------------------------------------

    @contextmanager
    def parallel(self, processes: int) -> Iterator[NlpAnalyzer]:
        """Within the block, ``submit`` hands batches of ``POOL_MIN_ARTICLES`` or more to
        ``processes`` worker processes (started on first use, stopped at the end)."""
        from bot.nlp.workers import AnalysisPool

        if processes < 2 or self._pool is not None:
            yield self
            return
        self._pool = AnalysisPool(self.settings, self.aliases, processes, self._analyze_here)
        try:
            yield self
        finally:
            pool, self._pool = self._pool, None
            pool.close()

    def submit(self, drafts: Sequence[ArticleDraft]) -> PendingAnalyses:
        """Start analysing ``drafts``; ``.result()`` gives what ``analyze`` would return."""
        pool = self._pool
        if pool is None or pool.broken or len(drafts) < POOL_MIN_ARTICLES:
            return Done(self.analyze(drafts))
        return _Linked(pool.submit(drafts))

    def _analyze_here(self, drafts: Sequence[ArticleDraft]) -> list[Any]:
        return analyze_drafts(self.nlp, self.aliases, drafts)

    def save(self, store: Store, article_id: int, draft: ArticleDraft, analysis: Any) -> None:
        """Save the analysis in a savepoint of its own.  If it cannot be saved (or could not be
        made), the article stays stored without NLP, marked failed for this NLP version so the
        start-up backfill does not retry it until the version changes; the caller's other
        articles are unaffected."""
        from bot.nlp.extract import ArticleAnalysis

        if isinstance(analysis, AnalysisFailed):
            store.nlp_mark_failed(article_id, self.version)
            return
        if not isinstance(analysis, ArticleAnalysis):
            return
        try:
            with store.transaction():
                save_analysis(store, article_id, draft, analysis, self.aliases)
        except Exception:
            log.exception(
                "NLP analysis of article %d (%s) could not be saved; stored without NLP",
                article_id, _label(draft),
            )
            store.nlp_mark_failed(article_id, self.version)


class AnalysisFailed:
    """Stands for the analysis of an article that raised (the error text, for the record)."""

    def __init__(self, error: str) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"AnalysisFailed({self.error!r})"


class _Linked:
    """A pool's pending batch; surnames are linked across the whole batch when it is done."""

    def __init__(self, pending: PendingAnalyses) -> None:
        self._pending = pending

    def result(self) -> list[Any]:
        return link_batch_surnames(list(self._pending.result()))


def analyze_drafts(
    nlp: Any, aliases: AliasTable, drafts: Sequence[ArticleDraft]
) -> list[ArticleAnalysis | AnalysisFailed]:
    """Parse and extract (in this process, or in a worker).  When the batch fails, each draft
    is analysed alone; a draft that still fails gets an ``AnalysisFailed``."""
    try:
        return list(_analyze(nlp, aliases, drafts))
    except Exception:
        if len(drafts) == 1:
            log.exception("NLP analysis failed for %s", _label(drafts[0]))
            return [AnalysisFailed(_error_text())]
        log.warning("NLP analysis of a batch of %d failed; analysing one by one", len(drafts))
    out: list[ArticleAnalysis | AnalysisFailed] = []
    for draft in drafts:
        try:
            out.extend(_analyze(nlp, aliases, [draft]))
        except Exception:
            log.exception("NLP analysis failed for %s", _label(draft))
            out.append(AnalysisFailed(_error_text()))
    return out


def _analyze(
    nlp: Any, aliases: AliasTable, drafts: Sequence[ArticleDraft]
) -> list[ArticleAnalysis]:
    from bot.nlp.extract import analyses_from_docs, split_paragraphs

    plans = [split_paragraphs(d.title, d.text) for d in drafts]
    docs = _parse(nlp, [p for plan in plans for p, _o, _h in plan])
    out: list[ArticleAnalysis] = []
    for draft, plan in zip(drafts, plans, strict=True):
        # an article's docs are dropped once it is analysed: memory stays one pipe batch deep
        article_docs = [next(docs) for _ in plan]
        out.append(analyses_from_docs(aliases, article_docs, plan, draft.published))
    return out


def _parse(nlp: Any, texts: list[str]) -> Iterator[Any]:
    """``nlp.pipe`` in batches of at most ``PIPE_BATCH`` texts and ``PIPE_CHARS`` characters
    (a text longer than that alone): the parse's memory grows with the characters of a batch,
    about 3 KB each, so a batch of long articles would otherwise peak at hundreds of MB."""
    batch: list[str] = []
    size = 0
    for text in texts:
        if batch and (size + len(text) > PIPE_CHARS or len(batch) >= PIPE_BATCH):
            yield from nlp.pipe(batch, batch_size=len(batch))
            batch, size = [], 0
        batch.append(text)
        size += len(text)
    if batch:
        yield from nlp.pipe(batch, batch_size=len(batch))


def _label(draft: ArticleDraft) -> str:
    return draft.origin or draft.url or draft.guid or repr(draft.title[:80])


def _error_text() -> str:
    import sys

    exc = sys.exc_info()[1]
    return f"{type(exc).__name__}: {exc}" if exc is not None else "unknown error"


def link_batch_surnames(batch: list[Any]) -> list[Any]:
    """"Trump" alone in one article is "Donald Trump" of another article of the batch (the
    batch's ``AnalysisFailed`` entries are left alone).  Returns ``batch``."""
    from bot.nlp.extract import ArticleAnalysis

    analyses = [a for a in batch if isinstance(a, ArticleAnalysis)]
    people: dict[str, dict[str, ActorX]] = {}
    for a in analyses:
        for key, actor in a.actors.items():
            if actor.type == "PERSON" and " " in key:
                people.setdefault(key.rsplit(" ", 1)[1], {})[key] = actor
    for a in analyses:
        mapping: dict[str, ActorX] = {}
        for key, actor in a.actors.items():
            if " " in key or (actor.type in ("NORP", "GPE", "LOC") and not actor.labels["PERSON"]):
                continue
            full = people.get(key)
            if full and len(full) == 1:
                mapping[key] = next(iter(full.values()))
        if mapping:
            a.remap(mapping)
    return batch


def _resolve_single_names(store: Store, analysis: ArticleAnalysis) -> None:
    """A one-word PERSON/ORG name that is the surname of exactly one stored person."""
    from bot.nlp.extract import ActorX

    mapping: dict[str, ActorX] = {}
    for key, actor in analysis.actors.items():
        if " " in key and actor.type == "PERSON" and store.nlp_actor_by_key(key) is None:
            # "Anthony Blinken" is the "Antony Blinken" already known: same surname, a
            # first name one typo away
            first, surname = key.split(" ", 1)[0], key.rsplit(" ", 1)[1]
            near = [
                p for p in store.nlp_people_with_surname(surname)
                if str(p["key"]).count(" ") == key.count(" ")
                and difflib.SequenceMatcher(None, first, str(p["key"]).split(" ")[0]).ratio()
                >= 0.85
            ]
            if len(near) == 1:
                mapping[key] = ActorX(str(near[0]["key"]), str(near[0]["name"]), "PERSON")
            continue
        if " " in key or actor.type not in ("PERSON", "ORG"):
            continue
        if actor.type == "ORG" and not actor.labels["PERSON"] and store.nlp_actor_by_key(key):
            continue
        people = store.nlp_people_with_surname(key)
        if len(people) == 1:
            p = people[0]
            mapping[key] = ActorX(str(p["key"]), str(p["name"]), "PERSON")
    if mapping:
        analysis.remap(mapping)


def save_analysis(
    store: Store, article_id: int, draft: ArticleDraft, analysis: ArticleAnalysis,
    aliases: AliasTable,
) -> None:
    store.nlp_clear_article(article_id)
    _resolve_single_names(store, analysis)
    ids: dict[str, int] = {}
    for key, actor in analysis.actors.items():
        known = aliases.known(key)
        existing = store.nlp_actor_by_key(key)
        prefer = known is not None or existing is None or _accents(actor.name) > _accents(
            str(existing["name"])
        )
        name = known.name if known is not None else actor.name
        ids[key] = store.nlp_upsert_actor(key, name, actor.type, prefer_name=prefer)
        for alias in actor.aliases | {actor.name}:
            alias_key = canon_key(alias)
            if alias_key:
                store.nlp_add_alias(ids[key], alias, alias_key)
        if existing is None and actor.type == "PERSON" and " " in key and known is None:
            merged = _absorb_surname(store, key, ids[key])
            if merged is not None:
                # the surname alone may be an actor of THIS article, already given an id
                # ("Smith said…" before "John Smith"): its rows must follow the merge, or
                # they would reference the actor row the merge just deleted
                for k, i in ids.items():
                    if i == merged:
                        ids[k] = ids[key]
    store.nlp_insert_rows("mentions", [
        {"article_id": article_id, "actor_id": ids[m.key], "text": m.text, "label": m.label,
         "start": m.start, "end": m.end, "sentence": m.sentence}
        for m in analysis.mentions if m.key in ids
    ])
    store.nlp_insert_rows("roles", [
        {"actor_id": ids[r.key], "article_id": article_id, "role": r.role, "date": r.date}
        for r in analysis.roles if r.key in ids
    ])
    store.nlp_insert_rows("quotes", [
        {"article_id": article_id, "speaker_id": ids.get(q.speaker_key or ""),
         "speaker_text": q.speaker_text, "text": q.text, "sentence": q.sentence, "date": q.date}
        for q in analysis.quotes
    ])
    names = {k: a.name for k, a in analysis.actors.items()}
    for k, i in ids.items():
        row = store.nlp_actor(i)
        if row is not None:
            names[k] = str(row["name"])
    for ev in analysis.events:
        event_id = store.nlp_insert_event(_event_fields(article_id, ev, ids, names))
        group_event(store, event_id)
    store.nlp_set_version(article_id, analysis.version)


def _absorb_surname(store: Store, key: str, actor_id: int) -> int | None:
    """A person stored earlier by surname alone ("Trump") is this new full name.

    Returns the id of the surname actor merged into ``actor_id`` (and deleted), if any.
    """
    surname = key.rsplit(" ", 1)[1]
    alone = store.nlp_actor_by_key(surname)
    if alone is None or alone["type"] not in ("PERSON", "ORG") or str(alone["name"]).isupper():
        return None  # (the model often tags a surname alone as an ORG: "Bukele said")
    if int(alone["id"]) == actor_id or len(store.nlp_people_with_surname(surname)) != 1:
        return None
    store.nlp_merge_actor(int(alone["id"]), actor_id)
    return int(alone["id"])


def _accents(text: str) -> int:
    return sum(1 for ch in text if ord(ch) > 127)


def _event_fields(
    article_id: int, ev: EventX, ids: dict[str, int], names: dict[str, str]
) -> dict[str, Any]:
    def name(key: str | None) -> str | None:
        return names.get(key) if key else None

    participants = [ids[k] for k in ev.actors + ev.targets if k in ids]
    places = [ids[k] for k in (ev.origin, ev.destination, ev.via) if k and k in ids]
    return {
        "article_id": article_id,
        "type": ev.type,
        "cameo": ev.cameo,
        "date": ev.date,
        "date_precision": ev.date_precision,
        "date_text": ev.date_text,
        "actors": json.dumps([names.get(k, k) for k in ev.actors], ensure_ascii=False),
        "targets": json.dumps([names.get(k, k) for k in ev.targets], ensure_ascii=False),
        "actor_ids": json.dumps(participants + [p for p in places if p not in participants]),
        "place": name(ev.destination) or name(ev.via) or name(ev.origin),
        "origin": name(ev.origin),
        "destination": name(ev.destination),
        "via": name(ev.via),
        "quantity": ev.quantity,
        "quantity_text": ev.quantity_text,
        "unit": ev.unit,
        "negated": int(ev.negated),
        "modality": ev.modality,
        "sentence": ev.sentence,
        "sentence_index": ev.sentence_index,
    }


# -- the same event across articles -------------------------------------------------------------


def same_event(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Same type, compatible dates, overlapping participants and a shared specific detail."""
    if a["type"] != b["type"] or bool(a["negated"]) != bool(b["negated"]):
        return False
    if not when.compatible(a["date"], b["date"], days=2):
        return False
    if (
        a["article_id"] == b["article_id"] and a["date"] and a["date"] == b["date"]
        and a["date_precision"] == "day"
        and (a["destination"] == b["destination"] or not a["destination"] or not b["destination"])
    ):
        return True  # one article telling the same dated event twice
    ids_a = set(json.loads(a["actor_ids"] or "[]"))
    ids_b = set(json.loads(b["actor_ids"] or "[]"))
    if not ids_a & ids_b:
        return False
    places_a = {a["destination"], a["origin"], a["via"]} - {None}
    places_b = {b["destination"], b["origin"], b["via"]} - {None}
    if a["destination"] and b["destination"] and a["destination"] != b["destination"]:
        return False
    same_quantity = quantities_match(a, b)
    shared_place = bool(places_a & places_b)
    both_dated = bool(a["date"] and b["date"])
    people_a = set(json.loads(a["actors"] or "[]"))
    people_b = set(json.loads(b["actors"] or "[]"))
    shared_actor = bool(people_a & people_b)
    if both_dated:
        return shared_actor or shared_place or same_quantity
    targets_a = set(json.loads(a["targets"] or "[]"))
    targets_b = set(json.loads(b["targets"] or "[]"))
    same_targets = bool(targets_a & targets_b) or not (targets_a and targets_b)
    return same_quantity or (shared_place and shared_actor) or (
        shared_actor and same_targets and _person_in(a, b) and _similar(a, b)
    )


_STOP = {"that", "this", "with", "from", "have", "were", "been", "their", "they", "which",
         "would", "will", "said", "says", "after", "into", "also", "more", "than", "about"}


def _words(text: str) -> set[str]:
    from bot.nlp.canon import fold

    return {w for w in re.findall(r"[a-z]{4,}", fold(text)) if w not in _STOP}


def _similar(a: dict[str, Any], b: dict[str, Any], threshold: float = 0.12) -> bool:
    """The two sentences share enough content words to tell the same story."""
    wa, wb = _words(a["sentence"] or ""), _words(b["sentence"] or "")
    if not wa or not wb:
        return False
    return len(wa & wb) / len(wa | wb) >= threshold


def quantities_match(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """238 matches 238, and "more than 200" or "about 250"; no number matches nothing."""
    qa, qb = a["quantity"], b["quantity"]
    if qa is None or qb is None:
        return False
    if qa == qb:
        return True
    for (x, tx), (y, _ty) in (((qa, a["quantity_text"]), (qb, b["quantity_text"])),
                              ((qb, b["quantity_text"]), (qa, a["quantity_text"]))):
        text = (tx or "").lower()
        if text.startswith(("more than", "over", "at least")) and x < y <= x * 1.3:
            return True
        if text.startswith(("about", "around", "some", "nearly", "roughly", "almost")) and (
            abs(x - y) <= 0.15 * x
        ):
            return True
    return False


def _person_in(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Both name the same actor who is not a country (a person or an organisation)."""
    ids_a = set(json.loads(a["actor_ids"] or "[]"))
    ids_b = set(json.loads(b["actor_ids"] or "[]"))
    return bool(ids_a & ids_b) and a["sentence"] != b["sentence"] and bool(
        set(json.loads(a["actors"] or "[]")) & set(json.loads(b["actors"] or "[]"))
        - {"United States", "Venezuela", "Mexico"}
    )


def group_event(store: Store, event_id: int) -> int:
    rows = store.nlp_event_group_candidates(event_id)
    me = next(r for r in rows if r["id"] == event_id)
    group = event_id
    for other in rows:
        if other["id"] == event_id or other["type"] != me["type"]:
            continue
        if same_event(me, other):
            group = int(other["group_id"] or other["id"])
            break
    store.nlp_set_event_group(event_id, group)
    return group


def backfill(store: Store, analyzer: NlpAnalyzer, *, batch: int = 32) -> int:
    """Analyse articles stored without NLP (or by an older version).  Returns how many.

    With ``WIREWATCH_NLP_PROCESSES`` > 1, the next batch is analysed in worker processes while
    this one is saved."""
    done = 0
    tried: set[int] = set()
    processes = analyzer.settings.nlp_processes if analyzer.settings else 1

    def batches() -> Iterator[list[tuple[ArticleRow, ArticleDraft]]]:
        while True:
            rows = [
                r for r in store.nlp_articles_to_analyse(analyzer.version, limit=batch * 2 + 1)
                if r.id not in tried
            ][:batch]
            if not rows:  # (an article tried once and still listed is not tried again)
                return
            tried.update(r.id for r in rows)
            yield [(r, _draft_of(r)) for r in rows]

    def submit(batch: list[tuple[ArticleRow, ArticleDraft]]) -> PendingAnalyses:
        return analyzer.submit([draft for _row, draft in batch])

    def save(batch: list[tuple[ArticleRow, ArticleDraft]], pending: PendingAnalyses) -> None:
        nonlocal done
        analyses = pending.result()
        with store.transaction():
            for (row, draft), analysis in zip(batch, analyses, strict=True):
                analyzer.save(store, row.id, draft, analysis)  # (never raises for one article)
        done += len(batch)

    with analyzer.parallel(processes):
        pipelined(batches(), submit, save, ahead=1)
    return done


def _draft_of(row: ArticleRow) -> ArticleDraft:
    return ArticleDraft(
        title=row.title, text=row.text, url=row.url, guid=row.guid, source=row.source,
        author=row.author, dateline=row.dateline, published=row.published,
        published_precision=row.published_precision, feed_id=row.feed_id, origin=row.origin,
    )
