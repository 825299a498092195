"""An article as the matcher sees it: zones of stems (title, lead, body) and what the NLP found.

``ArticleDoc`` is plain data the bot fills in; ``Analyzed`` is computed once per article and
shared by every watch checked against it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from watchlists.synonyms import Stems, Thesaurus
from watchlists.text import exact, fold, stems, words

LEAD_WORDS = 60  # the lead: the first paragraph, at most this many words
LEAD_MIN_WORDS = 20  # a shorter first paragraph (a kicker, a caption) takes in the next one
ZONES = ("title", "lead", "body")


@dataclass(frozen=True)
class ArticleDoc:
    """What a watch is matched against.

    ``actors``, ``places`` and ``event_types`` are None when the article has not been
    analysed (filters then fall back to the text), and a tuple (maybe empty) when it has.
    """

    id: int
    title: str
    text: str
    source: str | None = None
    lead: str | None = None
    published: str | None = None
    url: str | None = None
    actors: tuple[str, ...] | None = None
    places: tuple[str, ...] | None = None
    event_types: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Hit:
    """How often a concept occurs in each zone."""

    title: int = 0
    lead: int = 0
    body: int = 0

    @property
    def total(self) -> int:
        return self.title + self.lead + self.body

    def __bool__(self) -> bool:
        return self.total > 0

    def where(self) -> list[str]:
        out = []
        if self.title:
            out.append("headline")
        if self.lead:
            out.append("lead")
        if self.body:
            out.append(f"body ×{self.body}" if self.body > 1 else "body")
        return out


@dataclass
class Analyzed:
    doc: ArticleDoc
    zones: dict[str, list[str]]
    counts: dict[str, Counter[str]]
    actor_forms: tuple[Stems, ...] | None
    place_forms: tuple[Stems, ...] | None
    type_forms: tuple[Stems, ...] | None
    source: str
    _hits: dict[frozenset[Stems], Hit] = field(default_factory=dict)
    _countries: dict[str, int] | None = None
    stem_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    _keys: frozenset[str] | None = None
    _joined: dict[str, str] = field(default_factory=dict)
    _strong: dict[int, frozenset[str]] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return self.doc.id

    def hits(self, forms: frozenset[Stems]) -> Hit:
        """Occurrences of any of ``forms`` (each a sequence of stems) per zone."""
        cached = self._hits.get(forms)
        if cached is not None:
            return cached
        found = {}
        for zone in ZONES:
            n = 0
            for form in forms:
                if len(form) == 1:
                    n += self.counts[zone].get(form[0], 0)
                elif self.counts[zone].get(form[0]):
                    n += self.phrase_count(zone, form)
            found[zone] = n
        hit = Hit(**found)
        self._hits[forms] = hit
        return hit

    def phrase_count(self, zone: str, form: Stems) -> int:
        """How many times the sequence ``form`` occurs in the zone (overlaps counted)."""
        if _overlaps(form):
            return occurrences(self.zones[zone], form)
        joined = self._joined.get(zone)
        if joined is None:
            # stems have no spaces; each token gets a space of its own on either side, so
            # " a  b " finds the pair a, b and adjacent pairs do not share a space
            joined = self._joined[zone] = f" {'  '.join(self.zones[zone])} "
        return joined.count(f" {'  '.join(form)} ")

    def country_counts(self, thesaurus: Thesaurus) -> dict[str, int]:
        if self._countries is None:
            self._countries = {}
            title, lead, body = self.counts["title"], self.counts["lead"], self.counts["body"]
            present: set[int] = set()
            for first, indexes in thesaurus.country_firsts.items():
                if first in body or first in lead or first in title:
                    present.update(indexes)
            groups = thesaurus.country_groups
            for i in sorted(present):  # the others cannot occur
                group = groups[i]
                n = self.hits(group.forms).total
                if n:
                    self._countries[group.label] = n
        return self._countries

    def keys(self) -> frozenset[str]:
        """Every stem and exact-word key the article has, in any zone (computed once)."""
        if self._keys is None:
            found = set(self.counts["body"])
            found.update(self.counts["title"])
            found.update(self.counts["lead"])
            self._keys = frozenset(found)
        return self._keys

    def strong_stems(self, body_min: int) -> frozenset[str]:
        """Stems in the headline or the lead, or at least ``body_min`` times in the body
        (exact-word keys not included)."""
        cached = self._strong.get(body_min)
        if cached is None:
            counts = self.stem_counts or self.counts
            found = {k for k, n in counts["body"].items() if n >= body_min}
            found.update(counts["title"])
            found.update(counts["lead"])
            cached = self._strong[body_min] = frozenset(found)
        return cached

    def index_keys(self) -> set[str]:
        """Index keys the article offers: its stems and its structured facts."""
        out: set[str] = set()
        for zone in ZONES:
            out.update(self.counts[zone])
        for prefix, forms in (
            ("actor:", self.actor_forms), ("place:", self.place_forms), ("type:", self.type_forms)
        ):
            for form in forms or ():
                out.update(prefix + s for s in form)
        out.update("source:" + s for s in self.source.split())
        return out


def _overlaps(form: Stems) -> bool:
    """Whether two occurrences of ``form`` can overlap ("a a", "a b a")."""
    return any(form[:k] == form[-k:] for k in range(1, len(form)))


def occurrences(tokens: list[str], form: Stems) -> int:
    """How many times the sequence ``form`` occurs in ``tokens`` (overlaps counted)."""
    first, k, n = form[0], len(form), 0
    stop = len(tokens) - k + 1  # a match starts before this
    i = -1
    while True:
        try:
            i = tokens.index(first, i + 1, stop)
        except ValueError:
            return n
        if tuple(tokens[i : i + k]) == form:
            n += 1


def _forms(values: tuple[str, ...] | None) -> tuple[Stems, ...] | None:
    if values is None:
        return None
    return tuple(f for f in (tuple(stems(v)) for v in values) if f)


def lead_size(text: str) -> int:
    """How many words of the text form its lead."""
    size = 0
    for paragraph in re.split(r"\n\s*\n|\n", text.strip()):
        n = len(stems(paragraph))
        if not n:
            continue
        size += n
        if size >= LEAD_MIN_WORDS:
            break
    return min(size, LEAD_WORDS)


def analyze(doc: ArticleDoc) -> Analyzed:
    body_tokens = stems(doc.text)
    if doc.lead is not None:
        lead = stems(doc.lead)
        # the lead is the start of the text: the body is what follows it
        body = body_tokens[len(lead):] if body_tokens[: len(lead)] == lead else body_tokens
    else:
        size = lead_size(doc.text)
        lead, body = body_tokens[:size], body_tokens[size:]
    zones = {"title": stems(doc.title), "lead": lead, "body": body}
    counts = {z: Counter(t) for z, t in zones.items()}
    stem_counts = {z: dict(c) for z, c in counts.items()}  # before the exact-word keys
    # exact-word keys ("=removal") beside the stems, for synonyms that must not be stemmed
    text_words = words(doc.text)
    exact_zones = {"title": words(doc.title), "lead": text_words[: len(lead)],
                   "body": text_words[len(text_words) - len(body):] if body else []}
    for zone, ws in exact_zones.items():
        counts[zone].update(exact(w) for w in ws)
    return Analyzed(
        doc=doc,
        zones=zones,
        counts=counts,
        stem_counts=stem_counts,
        actor_forms=_forms(doc.actors),
        place_forms=_forms(doc.places),
        type_forms=_forms(doc.event_types),
        source=" ".join(fold(doc.source or "").split()),
    )
