"""Many watches against one article, fast: the idea of Lucene Monitor / the percolator.

Each watch is compiled once, when it is added, into

- an **index entry**: a few keys such that no article lacking all of them can match.  A
  concept that must be *central* (the default mode) is keyed by a *strong* key — a stem the
  article has in its headline or lead or at least ``CENTRAL_BODY_MIN`` times in its body —
  so passing mentions deep in the text do not make the watch a candidate; a quoted phrase
  uses a *pair* key (two adjacent stems, looked up exactly); an AND of two or more central
  stems or phrases uses a *both* key (a stem of each, found only when both are strong);
  ``mode:any``
  concepts use *any* key; a concept with synonyms (several forms, whose counts add up) uses a
  *group* key the article offers when the group as a whole is central; ``actor:``/``place:``/
  ``type:`` filters use the extracted facts plus the text (the fallback), ``source:`` the
  outlet.  An AND is keyed by its cheapest child (a rare-looking stem rather than a source or
  an any-mention), an OR by all its branches' keys, and a NOT gives nothing (a watch with no
  key at all is checked against every article);
- a **plan**: the query as nested closures over a per-article view (its key sets, computed
  once per article), with the commonest cases answered by set operations (one stem: a
  lookup; all one-stem concepts of an AND: one subset test; a two-stem phrase: a pair
  lookup) and the rest delegated to ``relevance`` so that the semantics live in one place.
  A watch whose key alone decides (one central stem or two-stem phrase) is not verified.

Isolation: ``add`` compiles one watch and raises (changing nothing) when it cannot (a tree
deeper than ``MAX_TREE_DEPTH``, or any bug), so the caller can set that watch aside; and
``match_isolated`` answers like ``match`` but, when some plan raises, evaluates the candidates
one by one and reports which watches failed instead of failing the whole article.  The fast
path costs nothing extra (a ``try`` around the one loop).

The result always equals ``naive_match`` (a property test checks it; the benchmark compares
the two on real news).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import pairwise

from watchlists.document import Analyzed
from watchlists.query import MAX_TREE_DEPTH, And, Filter, Node, Not, Or, Query, Term, depth
from watchlists.relevance import CENTRAL_BODY_MIN, _filter_present, is_central, matches
from watchlists.synonyms import Stems, Thesaurus, default_thesaurus
from watchlists.text import EXACT


def required_keys(node: Node) -> frozenset[str] | None:
    """Stems (or ``field:stem`` facts) of which a matching article has at least one, in any
    zone and whatever the mode; None when nothing is required.  (The index itself uses the
    finer keys of ``_Planner``; this is the mode-blind version, kept for callers.)"""
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


# -- the per-article view ------------------------------------------------------------------------


class View:
    """An article as the plans see it: made once per ``match`` call, its parts computed once
    (and only when some plan needs them)."""

    __slots__ = ("_body", "_body_pairs", "_lead", "_title", "_tl_pairs", "adoc", "strong")

    def __init__(self, adoc: Analyzed) -> None:
        self.adoc = adoc
        self.strong = adoc.strong_stems(CENTRAL_BODY_MIN)  # headline, lead, or repeated
        self._title = adoc.counts["title"]
        self._lead = adoc.counts["lead"]
        self._body = adoc.counts["body"]
        self._tl_pairs: frozenset[tuple[str, str]] | None = None
        self._body_pairs: dict[tuple[str, str], int] = {}

    def has(self, token: str) -> bool:
        """Whether the article has this stem / exact key, in any zone."""
        return token in self._body or token in self._lead or token in self._title

    def has_any(self, tokens: frozenset[str]) -> bool:
        """Whether the article has any of these stems / exact keys, in any zone."""
        body, lead, title = self._body, self._lead, self._title
        return any(t in body or t in lead or t in title for t in tokens)

    def pair_central(self, a: str, b: str) -> bool:
        """Whether the phrase "a b" is central: in the headline or the lead, or at least
        ``CENTRAL_BODY_MIN`` times in the body (exactly ``is_central`` for a phrase)."""
        if self._tl_pairs is None:
            zones = self.adoc.zones
            title, lead = zones["title"], zones["lead"]
            self._tl_pairs = frozenset(pairwise(title)) | frozenset(pairwise(lead))
        if (a, b) in self._tl_pairs:
            return True
        body = self._body
        if body.get(a, 0) < CENTRAL_BODY_MIN or body.get(b, 0) < CENTRAL_BODY_MIN:
            return False
        n = self._body_pairs.get((a, b))
        if n is None:
            n = self._body_pairs[(a, b)] = self.adoc.phrase_count("body", (a, b))
        return n >= CENTRAL_BODY_MIN


Check = Callable[[View], bool]

# Index key kinds.  A key is (kind, value); value is a stem, a group number or "field:stem".
STRONG, PAIR, ANY, GROUP, FACT, SOURCE = "strong", "pair", "any", "group", "fact", "source"
BOTH = "both"  # two stems an AND needs central, both: "a b" (any order in the article)
Key = tuple[str, str]

# What a key costs as an index entry: how often an article is likely to offer it.
_COST = {BOTH: 0.25, PAIR: 0.3, STRONG: 1.0, GROUP: 1.5, FACT: 0.5, ANY: 3.0, SOURCE: 10.0}


def _cost(keys: frozenset[Key]) -> float:
    # longer stems are rarer, roughly; the kind matters more
    return sum(_COST[kind] * (1.0 + 2.0 / max(1, len(value))) for kind, value in keys)


def _pick(form: Stems) -> str:
    """The token of a form to key it by: every token is there when the form is; take the
    longest (rarest, roughly)."""
    return max(form, key=len)


def _one_stem(node: Node) -> bool:
    """A concept of one form of one stem (no synonyms, not a country): central ⇔ a strong
    stem, present ⇔ any key."""
    if not isinstance(node, Term) or node.country is not None or len(node.forms) != 1:
        return False
    form = next(iter(node.forms))
    return len(form) == 1 and not form[0].startswith(EXACT)


def exact_key(query: Query) -> bool:
    """Whether being filed under its key already means the watch matches: one central stem,
    or one central two-stem phrase (its pair key is looked up exactly)."""
    root = query.root
    if query.mode != "central" or not isinstance(root, Term) or root.country is not None:
        return False
    if len(root.forms) != 1:
        return False
    form = next(iter(root.forms))
    return _one_stem(root) or len(form) == 2


def _effort(node: Node) -> int:
    """Roughly how long a node's check takes (a set lookup is 1)."""
    if isinstance(node, Term):
        if node.country is not None:
            return 10
        if len(node.forms) == 1:
            return min(len(next(iter(node.forms))), 3)
        return 5
    if isinstance(node, Filter):
        return 2 if node.field == "source" else 4
    if isinstance(node, Not):
        return _effort(node.child)
    return sum(_effort(c) for c in node.children)


def _and(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda v: a(v) and b(v)
    if len(checks) == 3:
        a, b, c = checks
        return lambda v: a(v) and b(v) and c(v)
    return lambda v: all(check(v) for check in checks)


def _or(checks: list[Check]) -> Check:
    if len(checks) == 2:
        a, b = checks
        return lambda v: a(v) or b(v)
    return lambda v: any(check(v) for check in checks)


class _Planner:
    """Compiles queries into (keys, plan); owns the groups of forms that need group keys."""

    def __init__(self, thesaurus: Thesaurus) -> None:
        self.th = thesaurus
        self.groups: dict[frozenset[Stems], str] = {}
        self.by_first: dict[str, list[tuple[str, frozenset[Stems]]]] = {}
        self.group_uses: dict[str, int] = {}

    def group(self, forms: frozenset[Stems]) -> str:
        gid = self.groups.get(forms)
        if gid is None:
            gid = self.groups[forms] = str(len(self.groups))
            for first in {f[0] for f in forms}:
                self.by_first.setdefault(first, []).append((gid, forms))
        return gid

    # -- keys ----------------------------------------------------------------------------

    def text_keys(self, forms: frozenset[Stems], strict: bool) -> frozenset[Key]:
        if not strict:
            return frozenset((ANY, _pick(f)) for f in forms)
        if len(forms) == 1:
            (form,) = forms
            if len(form) > 1:  # a phrase: key it by its rarest-looking pair of stems
                a, b = max(pairwise(form), key=lambda p: (min(map(len, p)), len(p[0]) + len(p[1])))
                return frozenset({(PAIR, f"{a} {b}")})
            if not form[0].startswith(EXACT):  # strong keys are stems
                return frozenset({(STRONG, form[0])})
        return frozenset({(GROUP, self.group(forms))})

    def keys(self, node: Node, strict: bool) -> frozenset[Key] | None:
        if isinstance(node, Term):
            return self.text_keys(node.forms, strict)
        if isinstance(node, Filter):
            if node.field == "source":
                value = next(iter(node.forms))  # relevance reads one form: the outlet's words
                return frozenset({(SOURCE, _pick(value))})
            facts = frozenset((FACT, f"{node.field}:{_pick(f)}") for f in node.forms)
            return facts | self.text_keys(node.forms, strict)
        if isinstance(node, Not):
            return None
        options = [self.keys(c, strict) for c in node.children]
        if isinstance(node, And):
            known = [k for k in options if k is not None]
            # two concepts that must both be central, each a stem or a phrase (whose stems are
            # then all strong): filed under a stem of each, together
            stems: set[str] = set()
            for k in known:
                if len(k) == 1:
                    ((kind, key),) = k
                    if kind in (STRONG, PAIR):
                        stems.add(max(key.split(" "), key=lambda t: (len(t), t)))
            if len(stems) >= 2:
                a, b = sorted(stems, key=lambda t: (-len(t), t))[:2]
                known.append(frozenset({(BOTH, f"{a} {b}")}))
            return min(known, key=_cost) if known else None
        union: set[Key] = set()
        for keys in options:
            if keys is None:
                return None
            union |= keys
        return frozenset(union)

    # -- plans ---------------------------------------------------------------------------

    def plan(self, node: Node, mode: str, negated: bool = False) -> Check:
        strict = mode == "central" and not negated
        if isinstance(node, Term):
            return self.term(node, strict)
        if isinstance(node, Filter):
            return self.filter(node, strict)
        if isinstance(node, Not):
            inner = self.plan(node.child, mode, not negated)
            return lambda v: not inner(v)
        # one-stem concepts that must be central fold into one set operation
        stems = frozenset(
            next(iter(c.forms))[0] for c in node.children
            if strict and isinstance(c, Term) and _one_stem(c)
        )
        # cheap checks first: the answer does not depend on the order, the time does
        children = sorted((c for c in node.children if not (strict and _one_stem(c))),
                          key=_effort)
        checks = [self.plan(c, mode, negated) for c in children]
        if isinstance(node, And):
            rest = _and(checks) if checks else None
            if not stems:
                assert rest is not None
                return rest
            if rest is None:
                return lambda v: stems <= v.strong
            return lambda v: stems <= v.strong and rest(v)
        alt = _or(checks) if checks else None
        if not stems:
            assert alt is not None
            return alt
        if alt is None:
            return lambda v: not stems.isdisjoint(v.strong)
        return lambda v: not stems.isdisjoint(v.strong) or alt(v)

    def term(self, node: Term, strict: bool) -> Check:
        forms, country, th = node.forms, node.country, self.th
        if len(forms) == 1 and country is None:
            (form,) = forms
            if len(form) == 1 and not form[0].startswith(EXACT):
                # one stem: central ⇔ a strong stem; present ⇔ any key
                token = form[0]
                if strict:
                    return lambda v: token in v.strong
                return lambda v: v.has(token)
            needed = frozenset(form)
            if strict and len(form) == 2:  # the commonest phrase: exact by pair lookup
                a, b = form
                return lambda v: v.pair_central(a, b)
            if strict:
                # central in a zone ⇒ every stem of the phrase is strong
                return lambda v: needed <= v.strong and is_central(
                    v.adoc.hits(forms), v.adoc, None, th)
            return lambda v: all(v.has(t) for t in needed) and bool(v.adoc.hits(forms))
        firsts = frozenset(f[0] for f in forms)

        def check(v: View) -> bool:
            if not v.has_any(firsts):
                return False
            hit = v.adoc.hits(forms)
            if not hit:
                return False
            return is_central(hit, v.adoc, country, th) if strict else True

        return check

    def filter(self, node: Filter, strict: bool) -> Check:
        th = self.th
        if node.field == "source":
            return lambda v: _filter_present(node, v.adoc, strict, th)
        firsts = frozenset(f[0] for f in node.forms)
        attr = {"actor": "actor_forms", "place": "place_forms", "type": "type_forms"}[node.field]

        def check(v: View) -> bool:
            if getattr(v.adoc, attr) is None and not v.has_any(firsts):
                return False  # not analysed, and the text lacks every form
            return _filter_present(node, v.adoc, strict, th)

        return check


@dataclass(frozen=True)
class MatchResult:
    """What ``Matcher.match_isolated`` found: the matching watches (ascending), the watches
    whose check raised (and what), and how many watches were checked."""

    matched: list[int]
    failed: dict[int, Exception]
    checked: int


@dataclass(frozen=True)
class Indexed:
    id: int
    query: Query
    keys: frozenset[Key] | None
    plan: Check


class Matcher:
    """An index of watch queries by required keys, with a compiled plan per watch."""

    def __init__(
        self, watches: Iterable[tuple[int, Query]] = (), thesaurus: Thesaurus | None = None
    ) -> None:
        self.thesaurus = thesaurus or default_thesaurus()
        self._planner = _Planner(self.thesaurus)
        self._watches: dict[int, Indexed] = {}
        self._plans: dict[int, Check | None] = {}  # None: its key alone decides
        self._index: dict[str, dict[str, set[int]]] = {kind: {} for kind in _COST}
        self._pairs: dict[str, dict[str, set[int]]] = {}  # phrase keys: first → second → ids
        self._both: dict[str, dict[str, set[int]]] = {}  # two-stem keys: one → other → ids
        self._always: set[int] = set()
        for watch_id, query in watches:
            self.add(watch_id, query)

    def __len__(self) -> int:
        return len(self._watches)

    def add(self, watch_id: int, query: Query) -> None:
        if depth(query.root) > MAX_TREE_DEPTH:  # plans and relevance recurse over the tree
            raise ValueError(f"the query nests deeper than {MAX_TREE_DEPTH} levels")
        strict = query.mode == "central"
        keys = self._planner.keys(query.root, strict)
        plan = self._planner.plan(query.root, query.mode)
        # compiled: from here on nothing raises, so a failed add leaves the index as it was
        if watch_id in self._watches:
            self.remove(watch_id)
        self._watches[watch_id] = Indexed(watch_id, query, keys, plan)
        self._plans[watch_id] = None if exact_key(query) else plan
        if keys is None:
            self._always.add(watch_id)
        else:
            for kind, value in keys:
                if kind in (PAIR, BOTH):
                    a, b = value.split(" ")
                    two = self._pairs if kind == PAIR else self._both
                    two.setdefault(a, {}).setdefault(b, set()).add(watch_id)
                else:
                    self._index[kind].setdefault(value, set()).add(watch_id)

    def remove(self, watch_id: int) -> None:
        entry = self._watches.pop(watch_id, None)
        if entry is None:
            return
        del self._plans[watch_id]
        self._always.discard(watch_id)
        for kind, value in entry.keys or ():
            if kind in (PAIR, BOTH):
                a, b = value.split(" ")
                two = self._pairs if kind == PAIR else self._both
                seconds = two.get(a, {})
                ids = seconds.get(b)
                if ids is not None:
                    ids.discard(watch_id)
                    if not ids:
                        del seconds[b]
                        if not seconds:
                            del two[a]
                continue
            postings = self._index[kind]
            ids = postings.get(value)
            if ids is not None:
                ids.discard(watch_id)
                if not ids:
                    del postings[value]

    def _groups(self, view: View) -> set[str]:
        """The indexed groups of forms that are central to the article."""
        out: set[str] = set()
        postings = self._index[GROUP]
        if not postings:
            return out
        by_first = self._planner.by_first
        adoc = view.adoc
        for first in [k for k in by_first if view.has(k)]:
            for gid, forms in by_first[first]:
                if gid in out or gid not in postings:
                    continue
                hit = adoc.hits(forms)
                if hit.title or hit.lead or hit.body >= CENTRAL_BODY_MIN:
                    out.add(gid)
        return out

    def _candidates(self, view: View) -> set[int]:
        found = set(self._always)
        adoc = view.adoc
        offered: list[tuple[str, Iterable[str]]] = [
            (STRONG, view.strong), (ANY, [k for k in self._index[ANY] if view.has(k)]),
            (GROUP, self._groups(view)),
            (SOURCE, adoc.source.split()),
        ]
        facts: list[str] = []
        for field, forms in (("actor", adoc.actor_forms), ("place", adoc.place_forms),
                             ("type", adoc.type_forms)):
            for form in forms or ():
                facts.extend(f"{field}:{s}" for s in form)
        offered.append((FACT, facts))
        pairs = self._pairs
        strong = view.strong
        if pairs:
            firsts = [a for a in strong if a in pairs] if len(strong) < len(pairs) else [
                a for a in pairs if a in strong]
            for a in firsts:
                for b, ids in pairs[a].items():
                    if b in strong and view.pair_central(a, b):
                        found |= ids
        both = self._both
        if both:
            firsts = [a for a in strong if a in both] if len(strong) < len(both) else [
                a for a in both if a in strong]
            for a in firsts:
                seconds = both[a]
                for b in (seconds.keys() & strong) if len(seconds) > 4 else seconds:
                    if b in strong:
                        found |= seconds[b]
        for kind, values in offered:
            postings = self._index[kind]
            if not postings:
                continue
            for value in values:
                hits = postings.get(value)
                if hits:
                    found |= hits
        return found

    def candidates(self, adoc: Analyzed) -> set[int]:
        """The watches the article must be checked against (a superset of its matches)."""
        return self._candidates(View(adoc))

    def match(self, adoc: Analyzed) -> list[int]:
        """Ids of the watches the article matches, ascending."""
        view = View(adoc)
        plans = self._plans
        return sorted(
            wid for wid in self._candidates(view) if (plan := plans[wid]) is None or plan(view)
        )


    def match_isolated(self, adoc: Analyzed) -> MatchResult:
        """``match``, but a watch whose check raises is reported in ``failed`` (and not
        matched) while every other watch is still checked."""
        view = View(adoc)
        plans = self._plans
        try:
            candidates = self._candidates(view)
        except Exception:  # the index itself failed: check every watch by its plan
            candidates = None
        if candidates is not None:
            try:
                matched = sorted(
                    wid for wid in candidates if (plan := plans[wid]) is None or plan(view)
                )
                return MatchResult(matched, {}, len(candidates))
            except Exception:
                pass  # some plan raised: find which, one watch at a time
        found: list[int] = []
        failed: dict[int, Exception] = {}
        ids = sorted(self._watches if candidates is None else candidates)
        for wid in ids:
            check = plans[wid] if candidates is not None else self._watches[wid].plan
            try:
                if check is None or check(view):
                    found.append(wid)
            except Exception as exc:  # only on this slow path
                failed[wid] = exc
        return MatchResult(found, failed, len(ids))


def naive_match(
    watches: Iterable[tuple[int, Query]], adoc: Analyzed, thesaurus: Thesaurus | None = None
) -> list[int]:
    """Evaluate every watch: the reference the indexed matcher must agree with."""
    return sorted(wid for wid, query in watches if matches(query, adoc, thesaurus))
