"""Many watches against one article, fast: the idea of Lucene Monitor / the percolator.

Each watch is indexed under a set of *required keys*: stems (or ``field:stem`` facts) such
that no article lacking all of them can match.  For an AND that is the key set of its most
selective child, for an OR the union of its children's, and a NOT alone gives nothing to
index (such watches are checked against every article).  An article looks up its own keys
to find candidate watches, and only those are verified with the full evaluation — so the
result always equals ``naive_match`` (a property test checks it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from watchlists.document import Analyzed
from watchlists.query import And, Filter, Node, Not, Or, Query, Term
from watchlists.relevance import matches
from watchlists.synonyms import Thesaurus, default_thesaurus


def required_keys(node: Node) -> frozenset[str] | None:
    """Keys of which a matching article has at least one; None when nothing is required."""
    if isinstance(node, Term):
        return frozenset(form[0] for form in node.forms)
    if isinstance(node, Filter):
        keys = {f"{node.field}:{form[0]}" for form in node.forms}
        if node.field != "source":  # not-analysed articles fall back to the text
            keys |= {form[0] for form in node.forms}
        return frozenset(keys)
    if isinstance(node, Not):
        return None
    if isinstance(node, And):
        options = [k for k in (required_keys(c) for c in node.children) if k is not None]
        if not options:
            return None
        return min(options, key=lambda ks: (len(ks), -min(len(k) for k in ks)))
    union: set[str] = set()
    assert isinstance(node, Or)
    for child in node.children:
        child_keys = required_keys(child)
        if child_keys is None:
            return None
        union |= child_keys
    return frozenset(union)


@dataclass(frozen=True)
class Indexed:
    id: int
    query: Query
    keys: frozenset[str] | None


class Matcher:
    """An index of watch queries by required keys."""

    def __init__(
        self, watches: Iterable[tuple[int, Query]] = (), thesaurus: Thesaurus | None = None
    ) -> None:
        self.thesaurus = thesaurus or default_thesaurus()
        self._watches: dict[int, Indexed] = {}
        self._by_key: dict[str, set[int]] = {}
        self._always: set[int] = set()
        for watch_id, query in watches:
            self.add(watch_id, query)

    def __len__(self) -> int:
        return len(self._watches)

    def add(self, watch_id: int, query: Query) -> None:
        if watch_id in self._watches:
            self.remove(watch_id)
        keys = required_keys(query.root)
        self._watches[watch_id] = Indexed(watch_id, query, keys)
        if keys is None:
            self._always.add(watch_id)
        else:
            for key in keys:
                self._by_key.setdefault(key, set()).add(watch_id)

    def remove(self, watch_id: int) -> None:
        entry = self._watches.pop(watch_id, None)
        if entry is None:
            return
        self._always.discard(watch_id)
        for key in entry.keys or ():
            ids = self._by_key.get(key)
            if ids is not None:
                ids.discard(watch_id)
                if not ids:
                    del self._by_key[key]

    def candidates(self, adoc: Analyzed) -> set[int]:
        found = set(self._always)
        by_key = self._by_key
        for key in adoc.index_keys():
            ids = by_key.get(key)
            if ids:
                found |= ids
        return found

    def match(self, adoc: Analyzed) -> list[int]:
        """Ids of the watches the article matches, ascending."""
        return sorted(
            wid for wid in self.candidates(adoc)
            if matches(self._watches[wid].query, adoc, self.thesaurus)
        )


def naive_match(
    watches: Iterable[tuple[int, Query]], adoc: Analyzed, thesaurus: Thesaurus | None = None
) -> list[int]:
    """Evaluate every watch: the reference the indexed matcher must agree with."""
    return sorted(wid for wid, query in watches if matches(query, adoc, thesaurus))
