"""Lookups over the stored analysis: ``who``, ``events`` and the NLP part of ``article``.

Pure Python over the store (no spaCy): answering never loads the model.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from bot.dates import normalize_date
from bot.errors import BadCommand
from bot.nlp import when
from bot.nlp.canon import AliasTable, canon_key, demonym_key, fold, load_alias_table
from bot.nlp.ontology import TYPES
from bot.replies import (
    ActorChoice,
    ActorProfile,
    ActorRef,
    ActorReply,
    ArticleRef,
    ChoicesReply,
    EventsReply,
    EventView,
    NotFoundReply,
    QuoteRef,
    QuoteView,
    RelatedActor,
    Reply,
    RoleView,
)
from bot.store import Store

MAX_EVENTS = 200  # events in an ``events`` reply (its ``total`` counts them all)
WHO_ARTICLES = 50  # articles, quotes and events in a ``who`` profile (with their totals)
WHO_QUOTES = 20
WHO_EVENTS = 20
ROW_CAP = 500  # up to this many matching event rows, timelines are exact; beyond, bounded
MEMBER_CAP = 50  # rows merged per event group (its sources are all listed, from an index)
BOUNDED_MEMBER_CAP = 5  # the same beyond ROW_CAP
BOUNDED_EVENTS = 100  # events in a reply beyond ROW_CAP (the text shows 40 and the total)
SUGGEST_SCAN = 3000  # up to this many actors, "did you mean" compares the name with each
SUGGEST_CANDIDATES = 300  # beyond, with the actors sharing most trigrams with it
_APPROX = re.compile(
    r"(?:about|around|some|nearly|almost|roughly|approximately|over|more than|at least|"
    r"fewer than|less than|up to|under|hundreds|thousands|millions)\b", re.IGNORECASE
)
_STOPWORDS = {
    "the", "a", "an", "of", "to", "with", "about", "on", "in", "for", "and", "or", "by", "from",
    "what", "happened", "events", "event", "all",
}
_TYPE_WORDS = {
    "deport": "deportation_flight", "repatriat": "deportation_flight",
    "flight": "deportation_flight", "resum": "resumption", "restart": "resumption",
    "suspen": "suspension", "halt": "suspension", "agree": "agreement", "deal": "agreement",
    "accept": "acceptance", "accus": "accusation", "critic": "accusation",
    "request": "request", "urg": "request", "protect": "protection_",
    "revok": "protection_revoked", "revoc": "protection_revoked", "grant": "protection_granted",
    "detain": "detention", "detention": "detention", "transfer": "deportation_flight",
    "sanction": "sanction",
}


@dataclass(frozen=True)
class EventFilter:
    """Which event rows a timeline covers: an actor's, or those of types and with words."""

    actor_id: int | None = None
    types: tuple[str, ...] = ()
    words: tuple[str, ...] = ()


@lru_cache(maxsize=4)
def _table(extra: str | None) -> AliasTable:
    from pathlib import Path

    return load_alias_table(Path(extra) if extra else None)


class Lookups:
    def __init__(self, store: Store, aliases_path: str | None = None) -> None:
        self.store = store
        self.aliases_path = aliases_path

    @property
    def table(self) -> AliasTable:
        return _table(self.aliases_path)

    # -- who -----------------------------------------------------------------------------

    def keys_for(self, name: str) -> list[str]:
        """Keys to try for a user's name: as typed, without titles, via the alias table."""
        keys: list[str] = []
        for label in (None, "PERSON"):
            key = canon_key(name, label)
            if key and key not in keys:
                keys.append(key)
        for key in list(keys):
            # "the Venezuelan government", "government of Venezuela" → the country
            m = re.fullmatch(r"(?:(.+?) s? ?(?:government|regime|authorities)|"
                             r"(?:government|regime|authorities) of (.+))", key)
            if m:
                country = demonym_country(self.table, (m.group(1) or m.group(2)).strip())
                if country and country not in keys:
                    keys.append(country)
            known = self.table.known(key)
            if known is not None and known.key not in keys:
                keys.insert(0, known.key)
            country = self.table.acting.get(key)
            if country is not None and country not in keys:
                keys.append(country)
        return keys

    def find(self, name: str) -> tuple[list[dict[str, Any]], bool]:
        """(candidates, exact?) for a name: exact key or alias first, then name words."""
        keys = self.keys_for(name)
        for key in keys:
            rows = self.store.nlp_find_actors(key)
            if rows:
                exact = [r for r in rows if r["key"] == key]
                if exact:
                    return exact[:1], True
                return rows, len(rows) == 1
        words = [w for w in (keys[0].split() if keys else []) if len(w) > 1]
        if not words:
            return [], False
        rows = self.store.nlp_find_actors_by_word(words[-1])
        if len(words) > 1:
            rows = [r for r in rows if all(f" {w} " in f" {r['key']} " for w in words)]
        return rows, False

    def resolve(self, name: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """(the actor, []) when one fits; (None, candidates) when ambiguous or unknown."""
        rows, exact = self.find(name)
        if not rows:
            return None, []
        if len(rows) == 1:
            return rows[0], rows
        if exact:
            return rows[0], rows
        key = canon_key(name, "PERSON")
        surname = [r for r in rows if r["type"] == "PERSON" and str(r["key"]).endswith(" " + key)]
        if len(surname) == 1:
            return surname[0], rows
        people = [r for r in rows if r["type"] == "PERSON"]
        if len(people) == 1 and int(people[0]["mentions"]) >= 3 * max(
            (int(r["mentions"]) for r in rows if r is not people[0]), default=0
        ):
            return people[0], rows
        return None, rows

    def who(self, name: str) -> Reply:
        actor, candidates = self.resolve(name)
        if actor is not None:
            return ActorReply(actor=self.profile(int(actor["id"])))
        if candidates:
            return ChoicesReply(
                query=name,
                choices=[
                    ActorChoice(int(r["id"]), str(r["name"]), str(r["type"]), int(r["mentions"]))
                    for r in candidates[:8]
                ],
            )
        message = f"No actor called “{name}” in the articles."
        if not self.store.nlp_actor_count() and self.store.count_articles():
            message += (" Actors are not indexed yet: install a spaCy English model "
                        "(see WIREWATCH_SPACY_MODEL) and restart.")
        return NotFoundReply(query=name, suggestions=self.suggestions(name), message=message)

    def suggestions(self, name: str, limit: int = 5) -> list[str]:
        target = fold(name)
        grams = sorted({target[i:i + 3] for i in range(len(target) - 2)})
        scan = self.store.nlp_actor_count() <= SUGGEST_SCAN or not grams
        if scan:
            actors = self.store.nlp_all_actors()
            if not actors:
                return []
        else:  # the actors sharing most trigrams with the name, not every actor
            actors = self.store.nlp_actors_by_trigrams(grams, SUGGEST_CANDIDATES)
        by_name: dict[str, str] = {}
        for a in actors:
            by_name.setdefault(fold(str(a["name"])), str(a["name"]))
            for word in fold(str(a["name"])).split():
                if len(word) > 3:
                    by_name.setdefault(word, str(a["name"]))
        close = difflib.get_close_matches(target, list(by_name), n=limit * 2, cutoff=0.6)
        out: list[str] = []
        for c in close:
            if by_name[c] not in out:
                out.append(by_name[c])
        if not out:
            top = actors if scan else self.store.nlp_most_mentioned_actors(limit)
            out = [str(a["name"]) for a in top[:limit]]
        return out[:limit]

    def profile(self, actor_id: int) -> ActorProfile:
        row = self.store.nlp_actor(actor_id)
        if row is None:
            raise BadCommand(f"There is no actor {actor_id}.")
        name = str(row["name"])
        aliases = sorted(
            {a for a in self.store.nlp_actor_aliases(actor_id) if a and a != name},
            key=lambda a: (fold(a), a),
        )
        roles: list[RoleView] = []
        seen_roles: set[str] = set()
        for r in self.store.nlp_actor_distinct_roles(actor_id):
            k = fold(str(r["role"]))
            if k not in seen_roles:
                seen_roles.add(k)
                roles.append(RoleView(str(r["role"]), r["date"], r["article_id"]))
        articles = [
            ArticleRef(int(a["id"]), str(a["title"]), a["date"], a["source"], a["url"])
            for a in self.store.nlp_actor_article_page(actor_id, WHO_ARTICLES)
        ]
        n_articles, first_seen, last_seen = self.store.nlp_actor_article_stats(actor_id)
        quotes = [
            QuoteRef(text=str(q["text"]), article_id=int(q["article_id"]), speaker=q["speaker"],
                     date=q["date"])
            for q in self.store.nlp_actor_quote_page(actor_id, WHO_QUOTES)
        ]
        n_quotes = len(quotes)
        if n_quotes >= WHO_QUOTES:
            n_quotes = self.store.nlp_actor_quote_count(actor_id)
        events, n_events = self.event_page(EventFilter(actor_id=actor_id), limit=WHO_EVENTS)
        related = [
            RelatedActor(str(r["name"]), int(r["count"]))
            for r in self.store.nlp_related_actors(actor_id)
        ]
        return ActorProfile(
            id=actor_id,
            name=name,
            type=str(row["type"]),
            aliases=aliases,
            roles=roles,
            mentions=self.store.nlp_actor_mention_count(actor_id),
            articles=articles,
            quotes=quotes,
            events=events,
            related=related,
            first_seen=first_seen,
            last_seen=last_seen,
            articles_total=max(n_articles, len(articles)),
            quotes_total=n_quotes,
            events_total=n_events,
        )

    # -- events --------------------------------------------------------------------------

    def event_views(
        self, rows: Iterable[dict[str, Any]], groups: Iterable[int] = (), cap: int = 0
    ) -> list[EventView]:
        """One view per group (the same event told by several articles), oldest first: the
        groups of ``rows`` and ``groups`` (ids), each read with its first ``cap`` rows
        (default ``MEMBER_CAP``)."""
        cap = cap or MEMBER_CAP
        rows = list(rows)
        group_ids = sorted({int(r["group_id"] or r["id"]) for r in rows} | set(groups))
        if not group_ids:
            return []
        members: dict[int, list[dict[str, Any]]] = {}
        for r in self.store.nlp_event_group_members(group_ids, cap):
            members.setdefault(int(r["group_id"] or r["id"]), []).append(r)
        for r in rows:  # rows without a group yet
            gid = int(r["group_id"] or r["id"])
            if all(m["id"] != r["id"] for m in members.setdefault(gid, [])):
                members[gid].append(r)
        views: list[EventView] = []
        capped = [gid for gid, group in members.items() if len(group) >= cap]
        sources = self.store.nlp_event_group_sources(capped)
        for gid, group in members.items():
            if not group:
                continue
            view = _merge(group)
            more = sources.get(gid, set()) - set(view.sources)
            if more:  # a group larger than the rows read: every article still listed
                view.sources = view.sources[:1] + sorted(set(view.sources[1:]) | more)
            views.append(view)
        return sort_views(views)

    def event_page(
        self, f: EventFilter, *, since: str | None = None, until: str | None = None,
        limit: int = MAX_EVENTS,
    ) -> tuple[list[EventView], int]:
        """(the first ``limit`` events matching, oldest first; how many match in all).

        Up to ``ROW_CAP`` matching rows, every one is grouped and merged (exact).  Beyond, the
        ``limit`` groups whose oldest matching row is the oldest (by the rows' own dates) make
        the page, with at most ``BOUNDED_MEMBER_CAP`` rows each (and all their sources), and the
        number of groups the total.
        """
        n = self.store.nlp_event_row_count(
            actor_id=f.actor_id, types=f.types, words=f.words, upto=ROW_CAP + 1)
        if n <= ROW_CAP:  # all of them, grouped and merged
            rows = self.store.nlp_event_candidates(
                actor_id=f.actor_id, types=f.types, words=f.words, limit=ROW_CAP)
            views = self.event_views(rows)
            if since or until:
                views = [v for v in views if _in_range(v.date, since, until)]
            return views[:limit], len(views)
        gids, roots, total = self.store.nlp_event_group_page(
            actor_id=f.actor_id, types=f.types, words=f.words,
            since=_span(since)[0] if since else None, until=_span(until)[1] if until else None,
            limit=min(limit, BOUNDED_EVENTS))
        views = self.event_views(roots, gids, cap=BOUNDED_MEMBER_CAP)
        if since or until:
            views = [v for v in views if _in_range(v.date, since, until)]
        return views[:limit], max(total, len(views))

    def events(
        self, topic: str | None, since: str | None, until: str | None,
        today: date | None = None,
    ) -> EventsReply:
        since_iso = _bound(since, "since", today)
        until_iso = _bound(until, "until", today)
        actor_name: str | None = None
        f = EventFilter()
        if topic:
            actor, _c = self.resolve(topic)
            if actor is not None and _looks_like_name(topic):
                actor_name = str(actor["name"])
                f = EventFilter(actor_id=int(actor["id"]))
            else:
                f = self._topic_filter(topic)
        views, total = self.event_page(f, since=since_iso, until=until_iso, limit=MAX_EVENTS)
        return EventsReply(
            topic=topic, since=since_iso, until=until_iso, events=views,
            total=total, actor=actor_name,
        )

    def _topic_filter(self, topic: str) -> EventFilter:
        words = [fold(w) for w in re.findall(r"[\w'’-]+", topic)]
        words = [w for w in words if w not in _STOPWORDS]
        types: set[str] = set()
        plain: list[str] = []
        for w in words:
            matched = [t for stem, t in _TYPE_WORDS.items() if w.startswith(stem)]
            if matched:
                types.update(matched)
            else:
                plain.append(w[:-1] if len(w) > 4 and w.endswith("s") else w)
        return EventFilter(types=tuple(sorted(types)), words=tuple(plain))

    # -- article ---------------------------------------------------------------------------

    def article_parts(
        self, article_id: int
    ) -> tuple[list[ActorRef], list[EventView], list[QuoteView]]:
        actors = [
            ActorRef(int(a["id"]), str(a["name"]), str(a["type"]))
            for a in self.store.nlp_article_actors(article_id)
        ]
        rows = self.store.nlp_event_rows(article_id=article_id)
        events = [_view(r, [int(r["article_id"])]) for r in rows]
        groups = self.event_views(rows)
        by_group = {v.id: v for v in groups}
        for ev in events:
            row = next(r for r in rows if r["id"] == ev.id)
            group = by_group.get(int(row["group_id"] or row["id"]))
            if group is not None:
                ev.sources = [article_id] + [s for s in group.sources if s != article_id]
                if ev.date is None and group.date:
                    ev.date, ev.date_text = group.date, group.date_text
                    ev.date_precision = group.date_precision
        quotes = [
            QuoteView(text=str(q["text"]), speaker=q["speaker"], article_id=article_id)
            for q in self.store.nlp_article_quotes(article_id)
        ]
        return actors, events, quotes


def demonym_country(table: AliasTable, key: str) -> str | None:
    """"venezuelan" or "venezuela" → the key of the country, when the table knows it."""
    known = table.known(key)
    if known is not None:
        return known.key
    return table.demonyms.get(demonym_key(key))


def _looks_like_name(topic: str) -> bool:
    return any(ch.isupper() for ch in topic) or (len(topic.split()) <= 2 and not any(
        fold(w).startswith(tuple(_TYPE_WORDS)) for w in topic.split()
    ))


def _bound(value: str | None, what: str, today: date | None = None) -> str | None:
    if not value:
        return None
    iso: str | None = None
    if today is not None:
        iso, _precision = when.resolve(value, today)  # "since last month", "until yesterday"
    if iso is None:
        iso, _precision = normalize_date(value)
    if iso is None:
        raise BadCommand(
            f"`{value[:40]}` after `{what}` is not a date: try 2025-03-01, 2025-03 or March 2025."
        )
    return iso


def _span(iso: str) -> tuple[str, str]:
    """First and last day an ISO date (day, month or year) covers."""
    if len(iso) >= 10:
        return iso[:10], iso[:10]
    if len(iso) == 7:
        return iso + "-01", iso + "-31"
    return iso[:4] + "-01-01", iso[:4] + "-12-31"


def _in_range(date: str | None, since: str | None, until: str | None) -> bool:
    """Undated events have no place in a bounded timeline."""
    if not date:
        return False
    start, end = _span(date)
    if since and end < _span(since)[0]:
        return False
    return not (until and start > _span(until)[1])


def _precision_rank(p: str | None) -> int:
    return {"day": 3, "month": 2, "year": 1}.get(p or "", 0)


def _view(row: dict[str, Any], sources: list[int]) -> EventView:
    quantity = row["quantity_text"]
    return EventView(
        id=int(row["id"]),
        type=str(row["type"]),
        date=row["date"],
        date_text=row["date_text"],
        actors=list(json.loads(row["actors"] or "[]")),
        targets=list(json.loads(row["targets"] or "[]")),
        place=row["place"],
        quantity=quantity,
        negated=bool(row["negated"]),
        sentence=str(row["sentence"]),
        article_id=int(row["article_id"]),
        sources=sources,
        modality=row["modality"],
        origin=row["origin"],
        destination=row["destination"],
        via=row["via"],
        cameo=row["cameo"],
        date_precision=row["date_precision"],
    )


def _merge(group: list[dict[str, Any]]) -> EventView:
    """One event told by several sentences: the richest one, completed by the others."""
    def richness(r: dict[str, Any]) -> tuple[int, int, int]:
        filled = sum(1 for k in ("quantity", "destination", "origin", "via") if r[k])
        return (_precision_rank(r["date_precision"]), filled, -int(r["id"]))

    rep = max(group, key=richness)
    sources = [int(rep["article_id"])]
    for r in sorted(group, key=lambda r: int(r["article_id"])):
        if int(r["article_id"]) not in sources:
            sources.append(int(r["article_id"]))
    view = _view(rep, sources)
    exact = [r["quantity_text"] for r in group
             if r["quantity_text"] and not _APPROX.match(str(r["quantity_text"]))]
    if exact and (view.quantity is None or _APPROX.match(view.quantity)):
        view.quantity = exact[0]  # "238 Venezuelans" says more than "more than 200"
    for r in group:
        if view.quantity is None and r["quantity_text"]:
            view.quantity = r["quantity_text"]
        for attr in ("origin", "destination", "via", "place"):
            if getattr(view, attr) is None and r[attr]:
                setattr(view, attr, r[attr])
        for name in json.loads(r["actors"] or "[]"):
            if name not in view.actors:
                view.actors.append(name)
        for name in json.loads(r["targets"] or "[]"):
            if name not in view.targets and name not in view.actors:
                view.targets.append(name)
    return view


def sort_views(views: list[EventView]) -> list[EventView]:
    """Oldest first; undated events last (in article order)."""
    return sorted(views, key=lambda v: (v.date is None, v.date or "", v.article_id, v.id))


def type_label(name: str) -> str:
    t = TYPES.get(name)
    return t.label if t else name.replace("_", " ")
