"""Text normalisation shared by queries and articles: tokens, a small English stemmer.

The stemmer is deliberately simple and deterministic: it folds inflections (flight/flights,
deport/deported/deporting) and a few derivations (deportation, deportee, removal) onto one
stem.  The same function runs on query words and article words, so consistency matters more
than linguistic accuracy.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_ACRONYM = re.compile(r"\b((?:[A-Za-z]\.){2,})")
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_VOWEL = re.compile(r"[aeiouy]")
_US = re.compile(r"\bUS\b")

_STOP_TEXT = """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself new news no nor not now of off on once only or other
    our ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up us very was we
    were what when where which while who whom why will with would you your yours yourself
    yourselves latest article articles story stories report reports about regarding re via
"""
STOPWORDS = frozenset(_STOP_TEXT.split())

# Irregular forms the suffix rules cannot reach.
_IRREGULAR = {
    "flew": "fly",
    "flown": "fly",
    "flies": "fly",
    "flying": "fly",
    "men": "man",
    "women": "woman",
    "children": "child",
    "people": "person",
}


def fold(text: str) -> str:
    """Lower case without diacritics: "Rodríguez" → "rodriguez"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """Folded word tokens; "U.S." and "US" become "usa" (not the pronoun), possessives are
    dropped."""
    text = _ACRONYM.sub(lambda m: m.group(1).replace(".", ""), text)
    text = _US.sub("USA", text)  # the country, not the pronoun "us"
    out = []
    for tok in _TOKEN.findall(fold(text)):
        tok = tok.replace("’", "'")
        if tok.endswith("'s"):
            tok = tok[:-2]
        out.append(tok.replace("'", ""))
    return [t for t in out if t]


def raw_words(text: str) -> list[str]:
    """Word tokens as written (case kept), acronym dots removed: "U.S.-Mexico" → US, Mexico."""
    text = _ACRONYM.sub(lambda m: m.group(1).replace(".", ""), text)
    return [t for t in _TOKEN.findall(text) if t]


def _has_vowel(s: str) -> bool:
    return bool(_VOWEL.search(s))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light English stemmer: inflections first, then a few derivational suffixes."""
    w = fold(word)
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    if len(w) <= 3 or not w.isalpha():
        return w
    # plurals and verb inflections
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ing", "ed"):
        if w.endswith(suffix):
            base = w[: -len(suffix)]
            if len(base) >= 3 and _has_vowel(base):
                w = base
                if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
                    w = w[:-1]  # stopped → stop
            break
    # derivations
    for suffix in ("ation", "ition", "ment", "ee", "al"):
        if w.endswith(suffix):
            base = w[: -len(suffix)]
            if len(base) >= 4 and _has_vowel(base):
                w = base
            break
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    if w.endswith("at") and len(w) > 7:
        w = w[:-2]  # repatriat(e) → repatri, like repatri(ation)
    return w


def stems(text: str) -> list[str]:
    return [stem(w) for w in words(text)]


EXACT = "="  # prefix of exact-word keys: "=removal" matches removal(s) but not remove(d)


def exact(word: str) -> str:
    """The exact-word key of a folded word: only a plural -s is dropped."""
    w = fold(word)
    if len(w) > 4 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    return EXACT + w
