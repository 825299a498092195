"""The synonym table (``watchlists/data/synonyms.json``), loaded once and stemmed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from watchlists.text import stems

Stems = tuple[str, ...]


@dataclass(frozen=True)
class Group:
    """Words that stand for one another.  ``country`` is set for place groups."""

    label: str
    surfaces: tuple[str, ...]
    forms: frozenset[Stems]
    country: str | None = None


@dataclass(frozen=True)
class Thesaurus:
    groups: tuple[Group, ...]
    by_form: dict[Stems, tuple[int, ...]]
    max_words: int

    def lookup(self, form: Stems) -> list[Group]:
        return [self.groups[i] for i in self.by_form.get(form, ())]

    def countries(self) -> list[Group]:
        return [g for g in self.groups if g.country]

    def country_of(self, form: Stems) -> Group | None:
        for group in self.lookup(form):
            if group.country:
                return group
        return None


def _group(label: str, surfaces: list[str], country: str | None = None) -> Group:
    forms = frozenset(tuple(stems(s)) for s in surfaces if stems(s))
    return Group(label=label, surfaces=tuple(surfaces), forms=forms, country=country)


def build_thesaurus(data: dict[str, Any]) -> Thesaurus:
    groups: list[Group] = []
    for words in data.get("concepts", []):
        groups.append(_group(words[0], list(words)))
    for place in data.get("places", []):
        country = place["country"]
        surfaces = [country, *place.get("aliases", []), *place.get("demonyms", []),
                    *place.get("capital", [])]
        groups.append(_group(country, surfaces, country=country))
    by_form: dict[Stems, list[int]] = {}
    for i, group in enumerate(groups):
        for form in group.forms:
            by_form.setdefault(form, []).append(i)
    max_words = max((len(f) for g in groups for f in g.forms), default=1)
    return Thesaurus(
        groups=tuple(groups),
        by_form={k: tuple(v) for k, v in by_form.items()},
        max_words=max_words,
    )


@lru_cache(maxsize=1)
def default_thesaurus() -> Thesaurus:
    raw = resources.files("watchlists").joinpath("data/synonyms.json").read_text("utf-8")
    return build_thesaurus(json.loads(raw))
