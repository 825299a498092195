"""The watch query language.

A plain topic ("deportation flights to Venezuela") means every content concept must be
present; each concept is expanded by stemming and the synonym table (deportation ~
repatriation ~ removal, flight ~ charter, Venezuela ~ Venezuelan ~ Caracas).  Stopwords are
ignored.  On top of that:

- ``"quoted phrases"`` match exactly (stemmed, no synonyms);
- ``A OR B`` (also ``|``), ``AND`` (optional), ``NOT x`` / ``-x``, parentheses;
- filters on what the NLP extracts: ``actor:"Maduro"``, ``place:Caracas``,
  ``type:deportation``, and ``source:AP``;
- ``mode:any`` accepts any mention (default ``mode:central``: the topic must be central).

``parse(text)`` returns a ``Query`` or raises ``QueryError`` with the position of the problem.
No user text ever becomes a regular expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from watchlists.synonyms import Stems, Thesaurus, default_thesaurus
from watchlists.text import STOPWORDS, fold, raw_words, stems, words

MAX_QUERY = 500
MAX_TERMS = 32
MAX_DEPTH = 20  # levels of parentheses and NOT / - nesting
# the deepest tree such a query can give (each level can add an OR, an AND and a NOT);
# the matcher refuses deeper trees however they were made
MAX_TREE_DEPTH = 3 * (MAX_DEPTH + 1) + 1
FIELDS = ("actor", "place", "type", "source")
MODES = ("central", "any")


class QueryError(ValueError):
    """A malformed query; ``position`` is the 0-based character offset of the problem."""

    def __init__(self, message: str, query: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.query = query
        self.position = max(0, min(position, len(query)))

    def pointer(self) -> str:
        """The query with a caret under the problem."""
        return f"{self.query}\n{' ' * self.position}^"

    def __str__(self) -> str:
        return f"{self.message} (at character {self.position + 1})"


@dataclass(frozen=True)
class Term:
    label: str
    forms: frozenset[Stems]
    shown: tuple[str, ...] = ()
    phrase: bool = False
    country: str | None = None


@dataclass(frozen=True)
class Filter:
    field: str
    value: str
    forms: frozenset[Stems]


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Union[Term, Filter, And, Or, Not]  # noqa: UP007  (a runtime alias for dataclasses)


@dataclass(frozen=True)
class Query:
    text: str
    root: Node
    mode: str = "central"

    def explain(self) -> str:
        return explain(self)

    def terms(self) -> list[Term]:
        return [n for n in walk(self.root) if isinstance(n, Term)]


def depth(node: Node) -> int:
    """How deeply the tree nests (a term alone is 1); iterative, so any tree is safe."""
    deepest = 0
    stack: list[tuple[Node, int]] = [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(current, (And, Or)):
            stack.extend((child, level + 1) for child in current.children)
        elif isinstance(current, Not):
            stack.append((current.child, level + 1))
    return deepest


def walk(node: Node) -> list[Node]:
    out: list[Node] = [node]
    if isinstance(node, (And, Or)):
        for child in node.children:
            out.extend(walk(child))
    elif isinstance(node, Not):
        out.extend(walk(node.child))
    return out


# -- tokens -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    kind: str  # WORD PHRASE FILTER LP RP OR AND NOT NEG EOF
    text: str
    pos: int
    field: str = ""


_WORDCH = re.compile(r'[^\s()"|]+')


def _tokens(q: str) -> list[_Tok]:
    out: list[_Tok] = []
    i, n = 0, len(q)
    while i < n:
        ch = q[i]
        if ch.isspace():
            i += 1
        elif ch == "(":
            out.append(_Tok("LP", ch, i))
            i += 1
        elif ch == ")":
            out.append(_Tok("RP", ch, i))
            i += 1
        elif ch == "|":
            out.append(_Tok("OR", ch, i))
            i += 1
        elif ch == '"':
            end = q.find('"', i + 1)
            if end < 0:
                raise QueryError("This quote is never closed.", q, i)
            out.append(_Tok("PHRASE", q[i + 1 : end], i))
            i = end + 1
        elif ch == "-" and i + 1 < n and not q[i + 1].isspace() and (
            i == 0 or q[i - 1].isspace() or q[i - 1] == "("
        ):
            out.append(_Tok("NEG", ch, i))
            i += 1
        else:
            m = _WORDCH.match(q, i)
            assert m is not None
            word = m.group(0)
            head, colon, rest = word.partition(":")
            if colon and head.isalpha():
                fieldname = head.lower()
                if fieldname not in (*FIELDS, "mode"):
                    raise QueryError(
                        f"`{head[:20]}:` is not a filter; use actor:, place:, type:, source: "
                        "or mode:.", q, i,
                    )
                vstart = i + len(head) + 1
                if rest == "" and vstart < n and q[vstart] == '"':
                    end = q.find('"', vstart + 1)
                    if end < 0:
                        raise QueryError("This quote is never closed.", q, vstart)
                    value, i = q[vstart + 1 : end], end + 1
                else:
                    value, i = rest, m.end()
                if not value.strip():
                    raise QueryError(f"`{fieldname}:` needs a value, like "
                                     f"{fieldname}:{_EXAMPLE[fieldname]}.", q, vstart)
                out.append(_Tok("FILTER", value.strip(), m.start(), field=fieldname))
                continue
            kind = {"OR": "OR", "AND": "AND", "NOT": "NOT"}.get(word, "WORD")
            if kind == "WORD" and word.startswith("-") and len(word) == 1:
                raise QueryError("A lone `-` excludes nothing; write -word.", q, i)
            out.append(_Tok(kind, word, i))
            i = m.end()
    out.append(_Tok("EOF", "", n))
    return out


_EXAMPLE = {"actor": '"Maduro"', "place": "Caracas", "type": "deportation", "source": "AP",
            "mode": "any"}


# -- parser -----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, thesaurus: Thesaurus) -> None:
        self.q = text
        self.th = thesaurus
        self.toks = _tokens(text)
        self.i = 0
        self.mode: str | None = None
        self.count = 0
        self.depth = 0  # current nesting of parentheses and NOT / -

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: _Tok) -> QueryError:
        return QueryError(message, self.q, tok.pos)

    def nest(self, tok: _Tok) -> None:
        """One level deeper (a `(` or a NOT); the cap keeps every recursion over the query
        (this parser, explain, the matcher's plans, relevance) shallow."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                f"The query nests too deep (the limit is {MAX_DEPTH} levels of parentheses "
                "and NOT).", tok,
            )

    def parse(self) -> Node:
        node = self.parse_or(top=True)
        tok = self.peek()
        if tok.kind == "RP":
            raise self.error("This `)` has no matching `(`.", tok)
        if tok.kind != "EOF":  # pragma: no cover - parse_or consumes everything else
            raise self.error("Unexpected text here.", tok)
        if node is None:
            raise QueryError(
                "Nothing to watch: the query has only common words. Name the topic, "
                "e.g. `deportation flights`.", self.q, 0,
            )
        return node

    def parse_or(self, top: bool = False) -> Node | None:
        first = self.peek()
        if first.kind == "OR":
            raise self.error("`OR` needs something on its left.", first)
        parts: list[Node] = []
        left = self.parse_and()
        if left is not None:
            parts.append(left)
        while self.peek().kind == "OR":
            op = self.take()
            if self.peek().kind in ("EOF", "RP", "OR"):
                raise self.error("`OR` needs something on its right.", op)
            right = self.parse_and()
            if right is None:
                raise self.error("Only common words after `OR`; name a topic.", op)
            if not parts:
                raise self.error("Only common words before `OR`; name a topic.", op)
            parts.append(right)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def parse_and(self) -> Node | None:
        parts: list[Node] = []
        while True:
            tok = self.peek()
            if tok.kind in ("EOF", "RP", "OR"):
                break
            if tok.kind == "AND":
                self.take()
                if self.peek().kind in ("EOF", "RP", "OR", "AND") or not (parts or self.i > 1):
                    raise self.error("`AND` needs something on both sides.", tok)
                continue
            node = self.word_run() if tok.kind == "WORD" else self.parse_unary()
            if node is not None:
                parts.append(node)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def parse_unary(self) -> Node | None:
        tok = self.peek()
        if tok.kind in ("NOT", "NEG"):
            self.take()
            nxt = self.peek()
            if nxt.kind in ("EOF", "RP", "OR", "AND"):
                raise self.error(f"`{tok.text}` needs something to exclude after it.", tok)
            self.nest(tok)
            child = self.word_run(single=True) if nxt.kind == "WORD" else self.parse_unary()
            self.depth -= 1
            if child is None:
                raise self.error("Only a common word after this; nothing to exclude.", tok)
            return Not(child)
        return self.parse_primary()

    def parse_primary(self) -> Node | None:
        tok = self.take()
        if tok.kind == "LP":
            self.nest(tok)
            inner = self.parse_or()
            self.depth -= 1
            close = self.peek()
            if close.kind != "RP":
                raise self.error("This `(` is never closed.", tok)
            self.take()
            if inner is None:
                raise self.error("Nothing to match inside these parentheses.", tok)
            return inner
        if tok.kind == "PHRASE":
            forms = tuple(stems(tok.text))
            if not forms:
                raise self.error("This phrase has no words.", tok)
            return self.term(" ".join(tok.text.split()), frozenset({forms}), phrase=True, tok=tok)
        if tok.kind == "FILTER":
            return self.filter(tok)
        if tok.kind == "WORD":  # pragma: no cover - words go through word_run
            self.i -= 1
            return self.word_run()
        raise self.error(f"Unexpected `{tok.text}` here.", tok)

    def word_run(self, single: bool = False) -> Node | None:
        """One plain word, or several that name one thing ("El Salvador", "asylum seeker")."""
        start = self.i
        run: list[_Tok] = []
        while (
            self.toks[start + len(run)].kind == "WORD"
            and len(run) < self.th.max_words
        ):
            run.append(self.toks[start + len(run)])
        for size in range(len(run), 1, -1):
            words = " ".join(t.text for t in run[:size])
            form = tuple(stems(words))
            if len(form) > 1 and self.th.lookup(form):
                self.i += size
                return self.concept(words, form, run[0])
        tok = self.take()
        word = tok.text
        form = tuple(stems(word))
        if not form:
            return None
        if len(form) > 1:  # e.g. "U.S.-Mexico": every part must be there
            parts = [self.concept(w, tuple(stems(w)), tok) for w in raw_words(word)]
            kept = [p for p in parts if p is not None]
            if not kept:
                return None
            return kept[0] if len(kept) == 1 else And(tuple(kept))
        return self.concept(word, form, tok)

    def concept(self, word: str, form: Stems, tok: _Tok) -> Node | None:
        if not form or all(w in STOPWORDS for w in words(word)):
            return None
        forms = {form}
        shown: list[str] = []
        country = None
        for group in self.th.lookup(form):
            forms |= group.forms
            shown.extend(
                s for s in group.surfaces if tuple(stems(s)) != form and s not in shown
            )
            country = country or group.country
        return self.term(word.strip(".,;:!?"), frozenset(forms), tuple(shown), tok=tok,
                         country=country)

    def term(self, label: str, forms: frozenset[Stems], shown: tuple[str, ...] = (), *,
             phrase: bool = False, tok: _Tok, country: str | None = None) -> Term:
        self.count += 1
        if self.count > MAX_TERMS:
            raise self.error(f"Too many terms (the limit is {MAX_TERMS}).", tok)
        return Term(label=label, forms=forms, shown=shown, phrase=phrase, country=country)

    def filter(self, tok: _Tok) -> Node | None:
        field, value = tok.field, tok.text
        if field == "mode":
            mode = value.lower()
            if mode not in MODES:
                raise self.error("mode: is `central` (the default) or `any`.", tok)
            if self.mode is not None and self.mode != mode:
                raise self.error("Two different modes in one query.", tok)
            self.mode = mode
            return None
        self.count += 1
        if self.count > MAX_TERMS:
            raise self.error(f"Too many terms (the limit is {MAX_TERMS}).", tok)
        form = tuple(stems(value)) if field != "source" else tuple(fold(value).split())
        if not form:
            raise self.error(f"`{field}:` needs a word, like {field}:{_EXAMPLE[field]}.", tok)
        forms = {form}
        if field in ("place", "type"):
            for group in self.th.lookup(form):
                if field == "type" or group.country:
                    forms |= group.forms
        return Filter(field=field, value=" ".join(value.split()), forms=frozenset(forms))


def parse(text: str, thesaurus: Thesaurus | None = None) -> Query:
    """Parse a watch query; raises ``QueryError`` pointing at the problem."""
    text = " ".join(text.split()) if "\n" in text or "\t" in text else text.strip()
    if not text:
        raise QueryError("The query is empty.", text, 0)
    if len(text) > MAX_QUERY:
        raise QueryError(f"The query is too long (the limit is {MAX_QUERY} characters).",
                         text, MAX_QUERY)
    parser = _Parser(text, thesaurus or default_thesaurus())
    root = parser.parse()
    if not has_positive(root):
        raise QueryError(
            "A watch needs something to look for, not only things to exclude "
            "(every OR branch too): e.g. `deportation -Mexico`.", text, 0,
        )
    return Query(text=text, root=root, mode=parser.mode or "central")


def has_positive(node: Node) -> bool:
    """Whether a match needs some term present (a query of only exclusions would match
    nearly every article)."""
    if isinstance(node, (Term, Filter)):
        return True
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(has_positive(c) for c in node.children)
    return all(has_positive(c) for c in node.children)


# -- explain ----------------------------------------------------------------------------------

_FIELD_WORDS = {"actor": "actor", "place": "place", "type": "event type", "source": "source"}


def describe(node: Node, limit: int = 6) -> str:
    if isinstance(node, Term):
        if node.phrase:
            return f"“{node.label}” (exact phrase)"
        if node.shown:
            more = "…" if len(node.shown) > limit else ""
            return f"{node.label} (or {', '.join(node.shown[:limit])}{more})"
        return node.label
    if isinstance(node, Filter):
        return f"{_FIELD_WORDS[node.field]} is “{node.value}”"
    if isinstance(node, Not):
        return f"not {describe(node.child, limit)}"
    if isinstance(node, And):
        return "all of: " + "; ".join(_nested(c, limit) for c in node.children)
    return "any of: " + "; ".join(_nested(c, limit) for c in node.children)


def _nested(node: Node, limit: int) -> str:
    text = describe(node, limit)
    return f"[{text}]" if isinstance(node, (And, Or)) else text


def explain(query: Query) -> str:
    body = describe(query.root)
    if not isinstance(query.root, (And, Or)):
        body = "this: " + body
    if query.mode == "central":
        tail = ("Each must be central to the article (in the headline or lead, or repeated), "
                "so passing mentions stay silent.")
    else:
        tail = "Any mention counts (mode:any)."
    return f"Articles about {body}. {tail}"
