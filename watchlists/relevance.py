"""Whether an article is *about* a query, and why.

A concept counts as present in two ways:

- **central** (the default mode): in the headline or the lead (first ~60 words), or mentioned
  at least ``CENTRAL_BODY_MIN`` times.  A country must also not be dwarfed by another country
  the article is really about (an article on deportations to Colombia that names Venezuela
  in passing is not about Venezuela) unless it is in the headline.
- **any** (``mode:any``): mentioned anywhere.

Excluded terms (``NOT x``, ``-x``) exclude on *any* mention, whatever the mode.
Filters on NLP facts (actor:, place:, type:) use the extracted facts when the article has been
analysed and fall back to the text when it has not; ``source:`` matches the outlet's name.
"""

from __future__ import annotations

from dataclasses import dataclass

from watchlists.document import Analyzed, Hit
from watchlists.query import And, Filter, Node, Not, Query, Term
from watchlists.synonyms import Stems, Thesaurus, default_thesaurus

CENTRAL_BODY_MIN = 3
DOMINANCE = 0.34  # a country needs at least a third of the mentions of the most-named other one
WEIGHTS = {"title": 3.0, "lead": 2.0, "body": 0.5}
BODY_CAP = 6


@dataclass(frozen=True)
class Reason:
    """One concept of the query and where the article has it."""

    label: str
    where: tuple[str, ...]

    def text(self) -> str:
        return f"{self.label} ({', '.join(self.where)})" if self.where else self.label


def _contains(haystack: Stems, needle: Stems) -> bool:
    k = len(needle)
    return any(haystack[i : i + k] == needle for i in range(len(haystack) - k + 1))


def is_central(hit: Hit, adoc: Analyzed, country: str | None, th: Thesaurus) -> bool:
    if not (hit.title or hit.lead or hit.body >= CENTRAL_BODY_MIN):
        return False
    if country and not hit.title:
        others = [n for c, n in adoc.country_counts(th).items() if c != country]
        if others and hit.total < DOMINANCE * max(others):
            return False
    return True


def _term_present(term: Term, adoc: Analyzed, strict: bool, th: Thesaurus) -> bool:
    hit = adoc.hits(term.forms)
    if not hit:
        return False
    return is_central(hit, adoc, term.country, th) if strict else True


def _filter_present(f: Filter, adoc: Analyzed, strict: bool, th: Thesaurus) -> bool:
    if f.field == "source":
        value = next(iter(f.forms))
        return _contains(tuple(adoc.source.split()), value)
    facts = {"actor": adoc.actor_forms, "place": adoc.place_forms, "type": adoc.type_forms}[
        f.field
    ]
    if facts is not None:
        return any(_contains(fact, form) for fact in facts for form in f.forms)
    # not analysed: fall back to the words of the text
    country = None
    if f.field == "place":
        for form in f.forms:
            group = th.country_of(form)
            if group:
                country = group.country
                break
    hit = adoc.hits(f.forms)
    if not hit:
        return False
    return is_central(hit, adoc, country, th) if strict else True


def evaluate(
    node: Node, adoc: Analyzed, *, mode: str = "central", thesaurus: Thesaurus | None = None,
    _negated: bool = False,
) -> bool:
    th = thesaurus or default_thesaurus()
    strict = mode == "central" and not _negated
    if isinstance(node, Term):
        return _term_present(node, adoc, strict, th)
    if isinstance(node, Filter):
        return _filter_present(node, adoc, strict, th)
    if isinstance(node, Not):
        return not evaluate(node.child, adoc, mode=mode, thesaurus=th, _negated=not _negated)
    if isinstance(node, And):
        return all(
            evaluate(c, adoc, mode=mode, thesaurus=th, _negated=_negated) for c in node.children
        )
    return any(
        evaluate(c, adoc, mode=mode, thesaurus=th, _negated=_negated) for c in node.children
    )


def matches(query: Query, adoc: Analyzed, thesaurus: Thesaurus | None = None) -> bool:
    return evaluate(query.root, adoc, mode=query.mode, thesaurus=thesaurus)


def _positives(node: Node, negated: bool = False) -> list[Term | Filter]:
    if isinstance(node, (Term, Filter)):
        return [] if negated else [node]
    if isinstance(node, Not):
        return _positives(node.child, not negated)
    out: list[Term | Filter] = []
    for child in node.children:
        out.extend(_positives(child, negated))
    return out


def reasons(query: Query, adoc: Analyzed) -> list[Reason]:
    """Why the article matched: each positive concept it has, and where."""
    out: list[Reason] = []
    for node in _positives(query.root):
        if isinstance(node, Term):
            hit = adoc.hits(node.forms)
            if hit:
                label = f"“{node.label}”" if node.phrase else node.label
                out.append(Reason(label, tuple(hit.where())))
        elif _filter_present(node, adoc, False, default_thesaurus()):
            out.append(Reason(f"{node.field}:{node.value}", ("extracted",)))
    return out


def score(query: Query, adoc: Analyzed) -> float:
    """Headline and lead hits weigh more than body mentions; for ranking matches."""
    total = 0.0
    for node in _positives(query.root):
        if isinstance(node, Term):
            hit = adoc.hits(node.forms)
            total += (WEIGHTS["title"] * min(hit.title, 2) + WEIGHTS["lead"] * min(hit.lead, 3)
                      + WEIGHTS["body"] * min(hit.body, BODY_CAP))
        elif _filter_present(node, adoc, False, default_thesaurus()):
            total += WEIGHTS["lead"]
    return round(total, 3)
