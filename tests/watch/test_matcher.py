"""The matcher: table-driven cases, and the indexed matcher equals naive evaluation."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchlists.document import ArticleDoc, analyze
from watchlists.matcher import Matcher, naive_match, required_keys
from watchlists.query import Node, Not, Query, Term, parse
from watchlists.relevance import matches

LEAD_FILLER = " ".join(["filler"] * 70)  # pushes later words out of the lead


def doc(title: str, text: str = "", *, body: str = "", source: str | None = None,
        actors: tuple[str, ...] | None = None, places: tuple[str, ...] | None = None,
        types: tuple[str, ...] | None = None, id: int = 1) -> ArticleDoc:
    full = text if not body else f"{text} {LEAD_FILLER} {body}"
    return ArticleDoc(id=id, title=title, text=full, source=source, actors=actors,
                      places=places, event_types=types)


CASES = [
    # (query, title, lead text, body text (after the lead), expected)
    ("deportation flights to Venezuela", "Deportation flights to Venezuela resume", "", "", True),
    ("deportation flights to Venezuela", "Repatriation charters land in Caracas", "", "", True),
    ("deportation flights to Venezuela", "Venezuelans deported on two flights", "", "", True),
    ("deportation flights to Venezuela", "Deportation flights to Colombia", "", "", False),
    ("deportation flights to Venezuela", "Venezuela oil exports rise", "", "", False),
    ("deportation flights", "Storm grounds flights", "", "", False),
    ("deportation flights", "Officials", "They deported 100 people on a flight", "", True),
    # passing mention deep in the body: not central
    ("deportation flights", "Officials", "A budget story.", "deportation flights mentioned",
     False),
    ("deportation flights mode:any", "Officials", "A budget story.",
     "deportation flights mentioned", True),
    # repeated in the body: central
    ("deportation", "Officials", "A budget story.", "deportation. deported. deportees.", True),
    ('"Tren de Aragua"', "Tren de Aragua members sent", "", "", True),
    ('"Tren de Aragua"', "Aragua gang and the tren", "", "", False),
    ("oil OR sanctions", "New sanctions announced", "", "", True),
    ("oil OR sanctions", "New tariffs announced", "", "", False),
    ("deportation -Mexico", "Deportations from Texas", "", "", True),
    ("deportation -Mexico", "Deportations from Texas", "", "Mexico said little.", False),
    ("deportation NOT (Mexico OR Cuba)", "Deportations from Texas", "", "Cuba too.", False),
    ("(oil OR crude) Venezuela", "Venezuelan crude exports", "", "", True),
    ("source:AP flights", "Flights resume", "", "", False),
    # "removal" stands for deportation only as that noun: a removed president is not deported
    ("deportation", "Removals of migrants rise", "", "", True),
    ("deportation", "Congress removes the president", "", "", False),
    ("deportation", "The removal of sanctions", "", "", True),  # the noun is ambiguous
    ("removal", "Congress removes the president", "", "", True),  # typed: stemmed as usual
    # "US" is the country, "us" the pronoun
    ("US deportations", "U.S. deportations rise", "", "", True),
    ("US deportations", "American deportation policy", "", "", True),
    ("US deportations", "Deportations: tell us what you think", "", "", False),
]


@pytest.mark.parametrize(("query", "title", "lead", "body", "expected"), CASES)
def test_table(query: str, title: str, lead: str, body: str, expected: bool) -> None:
    q = parse(query)
    adoc = analyze(doc(title, lead, body=body))
    assert matches(q, adoc) is expected
    assert (Matcher([(1, q)]).match(adoc) == [1]) is expected


def test_source_filter() -> None:
    q = parse("source:AP flights")
    assert matches(q, analyze(doc("Flights resume", source="AP")))
    assert not matches(q, analyze(doc("Flights resume", source="Reuters")))


def test_nlp_filters_use_facts_when_analysed_and_text_otherwise() -> None:
    q = parse('actor:"Maduro" flights')
    analysed = doc("Flights resume", "The president spoke.", actors=("Nicolás Maduro",))
    assert matches(q, analyze(analysed))
    no_actor = doc("Flights resume", "Maduro spoke.", actors=("Jorge Rodríguez",))
    assert not matches(q, analyze(no_actor)), "analysed: the facts decide, not the text"
    unanalysed = doc("Flights resume", "Maduro spoke.")
    assert matches(q, analyze(unanalysed)), "not analysed: falls back to the text"
    t = parse("type:deportation")
    assert matches(t, analyze(doc("Officials", types=("deport",))))
    assert matches(t, analyze(doc("Officials", types=("repatriation",))))
    assert not matches(t, analyze(doc("Deportation news", types=("meet",))))
    p = parse("place:Venezuela")
    assert matches(p, analyze(doc("x", places=("Caracas",))))
    assert not matches(p, analyze(doc("Venezuela", places=("Bogotá",))))


def test_index_prunes_candidates() -> None:
    watches = [(1, parse("deportation flights")), (2, parse("oil OR sanctions")),
               (3, parse("sanctions -weather")), (4, parse('"Tren de Aragua"'))]
    m = Matcher(watches)
    adoc = analyze(doc("Sanctions on crude", "Nothing else here."))
    assert m.candidates(adoc) == {2, 3}
    assert m.match(adoc) == [2, 3] == naive_match(watches, adoc)
    assert required_keys(Not(Term("x", frozenset({("x",)})))) is None
    m.remove(2)
    assert m.match(adoc) == [3]


# -- property: the index never changes the answer ------------------------------------------------

VOCAB = ["deportation", "deported", "flight", "charter", "Venezuela", "Caracas", "Venezuelan",
         "oil", "crude", "Mexico", "migrant", "weather", "storm", "Maduro", "prison", "the"]
FIELDS = ['actor:"Maduro"', "place:Caracas", "type:deportation", "source:AP", "place:Mexico"]


def atoms() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(VOCAB),
        st.sampled_from(FIELDS),
        st.lists(st.sampled_from(VOCAB[:-1]), min_size=1, max_size=2).map(
            lambda ws: '"' + " ".join(ws) + '"'),
    )


def queries() -> st.SearchStrategy[str]:
    return st.recursive(
        atoms(),
        lambda inner: st.one_of(
            st.lists(inner, min_size=2, max_size=3).map(" ".join),
            st.lists(inner, min_size=2, max_size=3).map(" OR ".join),
            inner.map(lambda q: f"-{q}" if not q.startswith(("-", "(")) else f"NOT ({q})"),
            inner.map(lambda q: f"({q})"),
        ),
        max_leaves=6,
    ).map(lambda q: q if q.strip("()").strip() else "oil")


def sentences() -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from([*VOCAB, "filler", "words"]), max_size=30).map(" ".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    qs=st.lists(queries(), min_size=1, max_size=8),
    title=sentences(), lead=sentences(), body=sentences(),
    analysed=st.booleans(), mode_any=st.booleans(),
    source=st.sampled_from([None, "AP", "Reuters"]),
)
def test_indexed_matcher_equals_naive(
    qs: list[str], title: str, lead: str, body: str, analysed: bool, mode_any: bool,
    source: str | None,
) -> None:
    from watchlists.query import QueryError

    watches = []
    for i, text in enumerate(qs, 1):
        try:
            q = parse(text + (" mode:any" if mode_any else ""))
        except QueryError:
            continue
        watches.append((i, q))
    facts = {"actors": ("Nicolás Maduro",), "places": ("Caracas",), "types": ("deport",)}
    d = doc(title, lead, body=body, source=source,
            actors=facts["actors"] if analysed else None,
            places=facts["places"] if analysed else None,
            types=facts["types"] if analysed else None)
    adoc = analyze(d)
    assert Matcher(watches).match(adoc) == naive_match(watches, adoc)


def test_many_watches_are_fast() -> None:
    import time

    watches = [(i, parse(f"topic{i} flights OR word{i}")) for i in range(3000)]
    watches.append((99999, parse("deportation flights to Venezuela")))
    m = Matcher(watches)
    adoc = analyze(doc("Deportation flights to Venezuela resume", "Caracas said so."))
    start = time.perf_counter()
    for _ in range(20):
        assert m.match(adoc) == [99999]
    assert (time.perf_counter() - start) / 20 < 0.05


# -- the matcher's shortcuts equal the relevance rules they stand for ----------------------------

PHRASE_VOCAB = ["oil", "gas", "flight", "deport", "the", "of"]  # each its own stem


@settings(max_examples=200, deadline=None)
@given(
    title=st.lists(st.sampled_from(PHRASE_VOCAB), max_size=8),
    lead=st.lists(st.sampled_from(PHRASE_VOCAB), max_size=25),
    body=st.lists(st.sampled_from(PHRASE_VOCAB), max_size=60),
    a=st.sampled_from(PHRASE_VOCAB), b=st.sampled_from(PHRASE_VOCAB),
)
def test_strong_stems_and_pairs_equal_centrality(
    title: list[str], lead: list[str], body: list[str], a: str, b: str
) -> None:
    from watchlists.matcher import View
    from watchlists.relevance import CENTRAL_BODY_MIN, is_central
    from watchlists.synonyms import default_thesaurus

    text = " ".join(lead) + ("\n\n" + " ".join(body) if body else "")
    adoc = analyze(ArticleDoc(id=1, title=" ".join(title), text=text, lead=" ".join(lead)))
    view = View(adoc)
    th = default_thesaurus()
    for stem in {a, b}:
        central = is_central(adoc.hits(frozenset({(stem,)})), adoc, None, th)
        assert (stem in view.strong) is central
    pair = (a, b)
    assert view.pair_central(a, b) is is_central(adoc.hits(frozenset({pair})), adoc, None, th)
    assert CENTRAL_BODY_MIN == 3  # the fixture sizes above assume it


def test_exact_key_watches_need_no_check() -> None:
    from watchlists.matcher import exact_key

    assert exact_key(parse("tanker"))
    assert exact_key(parse('"tanker fleet"'))
    assert not exact_key(parse("tanker mode:any"))
    assert not exact_key(parse("Venezuela"))  # a country: dominance is checked
    assert not exact_key(parse('"Tren de Aragua"'))  # three stems: counted in full
    assert not exact_key(parse("tanker -storm"))
    body = " ".join(["tanker fleet is up."] * 3)
    for title, text, expected in [("Tanker fleet rises", "", [1, 2]), ("Markets", body, [1, 2]),
                                  ("Markets", "tanker fleet, once", [])]:
        adoc = analyze(doc(title, "Markets moved.", body=text))
        watches = [(1, parse("tanker")), (2, parse('"tanker fleet"'))]
        assert Matcher(watches).match(adoc) == naive_match(watches, adoc) == expected


# -- issue 17: one watch cannot break matching for the others ---------------------------------


def _deep_query(levels: int) -> Query:
    """A tree no parse can give any more (as if built before the nesting cap)."""
    node: Node = Term("deportation", frozenset({("deport",)}))
    for _ in range(levels):
        node = Not(Not(node))
    return Query(text="deep", root=node)


def test_a_query_too_deep_to_compile_is_refused_and_changes_nothing() -> None:
    m = Matcher([(1, parse("deportation flights"))])
    article = analyze(doc("Deportation flights resume"))
    with pytest.raises(ValueError, match="nests deeper"):
        m.add(2, _deep_query(2000))
    with pytest.raises(ValueError):
        m.add(1, _deep_query(2000))  # replacing a watch: the old one stays
    assert len(m) == 1 and m.match(article) == [1]


def test_match_isolated_reports_the_failing_watch_and_matches_the_rest() -> None:
    m = Matcher([(1, parse("deportation flights")), (2, parse("deportation OR oil")),
                 (3, parse("oil"))])
    article = analyze(doc("Deportation flights resume"))
    clean = m.match_isolated(article)
    assert clean.matched == [1, 2] and clean.failed == {} and clean.matched == m.match(article)

    def boom(view: object) -> bool:
        raise RecursionError("maximum recursion depth exceeded")

    m._plans[2] = boom  # fault injection: any bug in one watch's check
    with pytest.raises(RecursionError):
        m.match(article)
    result = m.match_isolated(article)
    assert result.matched == [1] and set(result.failed) == {2}
    assert isinstance(result.failed[2], RecursionError)
    m.remove(2)
    assert m.match_isolated(article).matched == [1] == m.match(article)
