"""The synonym table (``watchlists/data/synonyms.json``), loaded once and stemmed.

Entries are stemmed (``deport`` also matches deported, deportation…), except entries written
``=word``, which match only that word and its plural: ``=removal`` matches "removals" but not
"removes" (a president removed from office is not a deportation).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any

from watchlists.text import EXACT, exact, stems

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
        return list(self.country_groups)

    @cached_property
    def country_groups(self) -> tuple[Group, ...]:
        return tuple(g for g in self.groups if g.country)

    @cached_property
    def country_firsts(self) -> dict[str, tuple[int, ...]]:
        """The first stem of each country form → the country groups (indexes into
        ``country_groups``) that have a form starting with it."""
        out: dict[str, list[int]] = {}
        for i, group in enumerate(self.country_groups):
            for first in sorted({f[0] for f in group.forms}):
                out.setdefault(first, []).append(i)
        return {k: tuple(v) for k, v in out.items()}

    def country_of(self, form: Stems) -> Group | None:
        for group in self.lookup(form):
            if group.country:
                return group
        return None


def _form(surface: str) -> Stems:
    """A list entry as matched: "=word" only as that word (or its plural), else stemmed."""
    if surface.startswith(EXACT):
        return (exact(surface[1:]),)
    return tuple(stems(surface))


def _group(label: str, surfaces: list[str], country: str | None = None) -> Group:
    forms = frozenset(f for s in surfaces if (f := _form(s)))
    shown = tuple(s.lstrip(EXACT) for s in surfaces)
    return Group(label=label.lstrip(EXACT), surfaces=shown, forms=forms, country=country)


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
        # a typed word finds its group by its stem, exact-only entries included
        for form in group.forms | {tuple(stems(s)) for s in group.surfaces if stems(s)}:
            if i not in by_form.setdefault(form, []):
                by_form[form].append(i)
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
