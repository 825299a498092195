"""The query language: stemming, synonyms, operators, filters, errors that point."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchlists.query import And, Filter, Not, Or, QueryError, Term, parse
from watchlists.text import stem


@pytest.mark.parametrize(
    ("words", "same"),
    [
        ("deport deported deporting deports deportation deportations deportee deportees", True),
        ("flight flights", True),
        ("repatriation repatriated repatriate repatriations", True),
        ("removal removals remove removed", True),
        ("charter charters chartered", True),
        ("flight fight", False),
        ("nation national", True),
        ("deport report", False),
    ],
)
def test_stemmer_folds_inflections(words: str, same: bool) -> None:
    stems = {stem(w) for w in words.split()}
    assert (len(stems) == 1) is same, stems


def labels(node: object) -> list[str]:
    assert isinstance(node, And)
    return [c.label for c in node.children if isinstance(c, Term)]


def test_plain_topic_is_every_content_concept_expanded() -> None:
    q = parse("deportation flights to Venezuela")
    assert labels(q.root) == ["deportation", "flights", "Venezuela"]
    deport, flight, venezuela = q.root.children  # type: ignore[union-attr]
    assert isinstance(deport, Term) and {("repatri",), ("=removal",), ("deport",)} <= deport.forms
    assert isinstance(flight, Term) and ("charter",) in flight.forms
    assert isinstance(venezuela, Term) and venezuela.country == "Venezuela"
    assert {("venezuelan",), ("caraca",)} <= venezuela.forms
    assert q.mode == "central"
    text = q.explain()
    for word in ("deportation", "repatriation", "charter", "Venezuelan", "Caracas", "central"):
        assert word in text


@pytest.mark.parametrize(
    ("query", "shape"),
    [
        ('"Tren de Aragua"', "Term"),
        ("oil OR sanctions", "Or"),
        ("oil | sanctions", "Or"),
        ("deportation -Mexico", "And"),
        ("deportation NOT Mexico", "And"),
        ("(oil OR gas) Venezuela", "And"),
        ('actor:"Nicolás Maduro"', "Filter"),
        ("place:Caracas", "Filter"),
        ("type:deportation", "Filter"),
        ("source:AP", "Filter"),
        ("deportation AND flights", "And"),
        ("deportations to El Salvador", "And"),
    ],
)
def test_operators_parse(query: str, shape: str) -> None:
    assert type(parse(query).root).__name__ == shape


def test_multiword_names_are_one_concept() -> None:
    q = parse("deportations to El Salvador")
    assert labels(q.root) == ["deportations", "El Salvador"]


def test_negation_and_filters() -> None:
    q = parse('deportation -Mexico actor:"Maduro" mode:any')
    assert q.mode == "any"
    kinds = [type(c).__name__ for c in q.root.children]  # type: ignore[union-attr]
    assert kinds == ["Term", "Not", "Filter"]
    f = q.root.children[2]  # type: ignore[union-attr]
    assert isinstance(f, Filter) and f.field == "actor" and f.value == "Maduro"
    n = q.root.children[1]  # type: ignore[union-attr]
    assert isinstance(n, Not)


def test_or_binds_looser_than_and() -> None:
    q = parse("a1 b1 OR c1")
    assert isinstance(q.root, Or)
    assert isinstance(q.root.children[0], And)


@pytest.mark.parametrize(
    ("query", "position", "fragment"),
    [
        ("deportation (flights", 12, "never closed"),
        ("flights )", 8, "no matching"),
        ('"unclosed phrase', 0, "quote"),
        ("OR flights", 0, "left"),
        ("flights OR", 8, "right"),
        ("flights -", 8, "excludes nothing"),
        ("NOT", 0, "exclude"),
        ("colour:red", 0, "not a filter"),
        ("actor:", 6, "needs a value"),
        ("the of and", 0, "common words"),
        ("mode:sometimes", 0, "mode"),
        ("()", 0, "Nothing"),
        ("", 0, "empty"),
        ("-weather", 0, "something to look for"),
        ("flights OR -weather", 0, "something to look for"),
    ],
)
def test_malformed_queries_point_at_the_problem(query: str, position: int, fragment: str) -> None:
    with pytest.raises(QueryError) as info:
        parse(query)
    err = info.value
    assert fragment.lower() in err.message.lower()
    assert err.position == position
    assert err.pointer().splitlines()[-1] == " " * position + "^"


def test_too_long_and_too_many_terms() -> None:
    with pytest.raises(QueryError):
        parse("x" * 600)
    with pytest.raises(QueryError, match="Too many"):
        parse(" ".join(f"word{i}" for i in range(40)))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('ab -()"|:ORNTADé\'.,#xyz')), max_size=40)
       | st.text(max_size=60))
def test_any_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        q = parse(text)
    except QueryError as err:
        assert 0 <= err.position <= len(err.query)
        assert err.message
    else:
        assert q.explain()


# -- issue 17: nesting is capped (a depth bomb once stopped every alert) -----------------------


def test_nesting_deeper_than_the_limit_is_refused_with_the_limit_and_a_caret() -> None:
    from watchlists.query import MAX_DEPTH

    bomb = "(" * 242 + "deportation" + ")" * 242  # the watch: fits 500 characters
    with pytest.raises(QueryError) as caught:
        parse(bomb)
    err = caught.value
    assert f"the limit is {MAX_DEPTH} levels" in err.message
    assert err.position == MAX_DEPTH  # the first `(` too many
    assert err.pointer().splitlines()[-1] == " " * MAX_DEPTH + "^"
    for deep in ("NOT " * 30 + "x deportation", "-(" * 15 + "x" + ")" * 15 + " deportation"):
        with pytest.raises(QueryError, match="nests too deep"):
            parse(deep)


def test_nesting_up_to_the_limit_and_long_flat_chains_parse() -> None:
    from watchlists.query import MAX_DEPTH, MAX_TREE_DEPTH, depth

    q = parse("(" * MAX_DEPTH + "deportation" + ")" * MAX_DEPTH)
    assert isinstance(q.root, Term) and q.explain()
    mixed = "(oil OR gas NOT (" * (MAX_DEPTH // 3) + "x y" + "))" * (MAX_DEPTH // 3)  # 3 a time
    assert depth(parse(mixed).root) <= MAX_TREE_DEPTH
    # long chains are loops, not recursion; the term limit bounds them
    wide = parse(" OR ".join(f"w{i}" for i in range(32)))
    assert isinstance(wide.root, Or) and len(wide.root.children) == 32
    assert depth(wide.root) == 2
    assert isinstance(parse(" AND ".join(f"w{i}" for i in range(32))).root, And)


def test_depth_is_iterative() -> None:
    from watchlists.query import depth

    node: Term | Not = Term("x", frozenset({("x",)}))
    for _ in range(5000):  # far deeper than Python's recursion limit
        node = Not(node)
    assert depth(node) == 5001
