"""Extraction from parsed paragraphs: actors and mentions, roles, quotes, events, dates.

Works on the ``Doc`` objects of one article (one per paragraph, headline first) and
returns a plain ``ArticleAnalysis`` that ``bot.nlp.analyzer`` saves.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from spacy.tokens import Doc, Span, Token

from bot.nlp import NLP_VERSION, when
from bot.nlp.canon import (
    ACTOR_LABELS,
    TITLES,
    AliasTable,
    canon_key,
    clean_name,
    demonym_key,
    fold,
)
from bot.nlp.ontology import NEEDS_CONTEXT, NOUN_TRIGGERS, PEOPLE_UNITS, TYPES, VERB_TRIGGERS
from bot.nlp.pipeline import SPEECH_LEMMAS

QUOTE_CHARS = "\"“”„«»"
_QUOTE_MIN_WORDS = 4
_LOCATIVE = {"in", "to", "from", "at", "into", "via", "outside", "near", "toward", "towards",
             "across", "through", "inside", "within"}
_PEOPLE_EVENTS = {"deportation_flight", "detention", "protection_granted", "protection_revoked",
                  "acceptance"}
_PLACE_EVENTS = {"deportation_flight", "detention", "acceptance", "resumption", "suspension"}
_TITLE_NOUNS = {"president", "minister", "secretary", "leader", "negotiator", "official",
                "spokesman", "spokeswoman", "spokesperson", "chief", "director", "ambassador",
                "envoy", "governor", "mayor", "senator"}
_STOP_KEYS = {"state", "administration", "government"}
_PRONOUN_PERSON = {"he", "she", "him", "her"}
_PRONOUN_GROUP = {"it", "its"}
_WE = {"we", "our", "us"}
_FUTURE_AUX = {"will", "shall", "'ll", "wo"}
_COND_AUX = {"would", "could", "may", "might", "should"}
_PLAN_HEADS = {"plan", "intend", "intention", "expect", "aim", "vow", "pledge", "seek", "want",
               "promise", "decision", "prepare", "hope", "begin", "go"}
_REPORT_HEADS = {"say", "announce", "claim", "confirm", "report", "state", "tell", "add",
                 "declare", "allege", "accord", "indicate"}
_NEG_HEADS = {"cease", "stop", "refuse", "fail", "halt", "decline", "reject"}
_APPROX = re.compile(
    r"^(?:about|around|some|nearly|almost|roughly|approximately|over|more than|at least|"
    r"fewer than|less than|up to|under)\s+", re.IGNORECASE
)
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "hundred": 1e2, "dozen": 12}
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "hundreds": 100,
    "thousands": 1000, "half": 0.5, "a": 1,
}


@dataclass
class ActorX:
    key: str
    name: str
    type: str
    aliases: set[str] = field(default_factory=set)
    labels: Counter[str] = field(default_factory=Counter)
    count: int = 0


_NO_ACTOR = ActorX("", "", "")


@dataclass
class MentionX:
    key: str
    text: str
    label: str
    start: int | None
    end: int | None
    sentence: int


@dataclass
class RoleX:
    key: str
    role: str
    date: str | None


@dataclass
class QuoteX:
    text: str
    speaker_key: str | None
    speaker_text: str | None
    sentence: str
    date: str | None


@dataclass
class EventX:
    type: str
    trigger: str
    sentence: str
    sentence_index: int
    actors: list[str] = field(default_factory=list)  # actor keys
    targets: list[str] = field(default_factory=list)
    origin: str | None = None  # actor keys of places
    destination: str | None = None
    via: str | None = None
    date: str | None = None
    date_precision: str | None = None
    date_text: str | None = None
    quantity: float | None = None
    quantity_text: str | None = None
    unit: str | None = None
    negated: bool = False
    modality: str = "asserted"
    in_quote: bool = False

    @property
    def cameo(self) -> str:
        return TYPES[self.type].cameo

    @property
    def plover(self) -> str:
        return TYPES[self.type].plover


@dataclass
class ArticleAnalysis:
    actors: dict[str, ActorX] = field(default_factory=dict)
    mentions: list[MentionX] = field(default_factory=list)
    roles: list[RoleX] = field(default_factory=list)
    quotes: list[QuoteX] = field(default_factory=list)
    events: list[EventX] = field(default_factory=list)
    version: int = NLP_VERSION

    def remap(self, mapping: dict[str, ActorX]) -> None:
        """Re-key actors (surname → full name found in another article of the batch)."""
        for old, new in mapping.items():
            if old not in self.actors:
                continue
            gone = self.actors.pop(old)
            target = self.actors.setdefault(new.key, ActorX(new.key, new.name, new.type))
            target.aliases |= gone.aliases
            target.count += gone.count
            target.type = new.type
        keys = {old: new.key for old, new in mapping.items()}
        for m in self.mentions:
            m.key = keys.get(m.key, m.key)
        for r in self.roles:
            r.key = keys.get(r.key, r.key)
        for q in self.quotes:
            q.speaker_key = keys.get(q.speaker_key or "", q.speaker_key)
        for e in self.events:
            e.actors = _dedupe(keys.get(k, k) for k in e.actors)
            e.targets = _dedupe(keys.get(k, k) for k in e.targets)


def _dedupe(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item and item not in out:
            out.append(item)
    return out


# -- paragraphs -------------------------------------------------------------------------------


def split_paragraphs(title: str, text: str) -> list[tuple[str, int | None, bool]]:
    """(paragraph, offset in text or None for the headline, headline-like?)."""
    out: list[tuple[str, int | None, bool]] = []
    title = " ".join(title.split())
    lead = title.rstrip("…").strip()
    if title and not (lead and " ".join(text[: len(lead) + 40].split()).startswith(lead)):
        out.append((title, None, True))
    pos = 0
    for chunk in re.split(r"(\n\s*\n)", text):
        start = pos
        pos += len(chunk)
        stripped = chunk.strip()
        if not stripped or not chunk.strip("\n\t "):
            continue
        lead_ws = len(chunk) - len(chunk.lstrip())
        headline = _headline_like(stripped)
        out.append((stripped, start + lead_ws, headline))
    return out


def _headline_like(text: str) -> bool:
    """A title-case line without a full stop (a subhead), not a caption or a sentence."""
    if re.search(r"[.!?\"”“'’:]\s*$", text) or len(text) >= 200:
        return False
    words = [w for w in re.findall(r"[^\W\d_][\w'’-]*", text) if len(w) >= 4]
    if not words:
        return True
    capitalised = sum(1 for w in words if w[0].isupper())
    return capitalised / len(words) >= 0.6


# -- actors -----------------------------------------------------------------------------------


class ActorResolver:
    """Turns entity spans into actor keys, within one article."""

    def __init__(self, table: AliasTable) -> None:
        self.table = table

    def resolve(self, ent: Span) -> tuple[str, str, str] | None:
        """(key, display name, type) for an entity, or None when it is not an actor."""
        label = ent.label_
        if label not in ACTOR_LABELS:
            return None
        text = ent.text
        m = re.match(r"^(.+?)['’]s\s+(.+)$", text)
        if m and label == "ORG" and self.table.known(canon_key(m.group(1))) is not None:
            text = m.group(2)  # "Venezuela’s National Assembly" → "National Assembly"
        if label == "ORG":
            words = text.split()
            if words and words[0].lower() == "the":
                words = words[1:]
            # "US Transportation Department" is the "Transportation Department"
            if len(words) >= 3 and self.table.known(canon_key(words[0])) is not None:
                text = " ".join(words[1:])
        key = canon_key(text, label)
        if not key or len(key) < 2 or key in _STOP_KEYS:
            return None
        if not any(ch.isalpha() for ch in key):
            return None
        known = self.table.known(key)
        if known is not None:
            return known.key, known.name, known.type
        country = self.table.acting.get(key)
        if country is not None and self.acts(ent):
            known = self.table.actors.get(country)
            if known is not None:
                return known.key, known.name, known.type
        if label == "NORP" or demonym_key(key) in self.table.demonyms:
            dkey = demonym_key(key)
            name = clean_name(text, label)
            if name.endswith(("an", "i")) and name[:1].isupper():
                name += "s"  # "Venezuelan" → "Venezuelans", "Israeli" → "Israelis"
            return dkey, name, "NORP"
        return key, clean_name(text, label), label

    @staticmethod
    def acts(ent: Span) -> bool:
        """A capital acts (is the government) unless it is the object of a place word."""
        root = ent.root
        if root.dep_ == "pobj" and root.head.lower_ in _LOCATIVE:
            # "condemnation from Caracas" acts; "flew from Caracas" is a place
            prep = root.head
            return bool(
                prep.lower_ == "from" and prep.head.pos_ == "NOUN"
                and prep.head.lemma_ not in ("flight", "plane", "migrant", "deportee", "trip")
            )
        if root.dep_ == "compound":
            return False
        return not (root.dep_ == "appos" and root.head.dep_ == "pobj")


def _entity_token_map(doc: Doc) -> dict[int, Span]:
    out: dict[int, Span] = {}
    for ent in doc.ents:
        for tok in ent:
            out[tok.i] = ent
    return out


# -- the article ------------------------------------------------------------------------------


class ArticleExtractor:
    """Everything extracted from one article's paragraphs."""

    def __init__(
        self,
        table: AliasTable,
        docs: Sequence[Doc],
        paragraphs: Sequence[tuple[str, int | None, bool]],
        published: str | None,
    ) -> None:
        self.table = table
        self.resolver = ActorResolver(table)
        self.docs = docs
        self.paragraphs = paragraphs
        self.published = published
        self.ref = when.to_date(published) if published and len(published) == 10 else None
        self.out = ArticleAnalysis()
        self.ent_key: dict[tuple[int, int], str] = {}  # (doc index, ent start) → actor key
        self.sent_index: dict[tuple[int, int], int] = {}
        self.news_day: tuple[str, str] | None = None
        self.about_flights = any(
            re.search(r"\b(?:deport|repatriat)", doc.text, re.IGNORECASE) for doc in docs
        )

    # public
    def run(self) -> ArticleAnalysis:
        self._mentions()
        self._link_surnames()
        self._news_day()
        self._roles()
        quote_ranges = self._quotes()
        self._events(quote_ranges)
        return self.out

    # -- mentions
    def _mentions(self) -> None:
        n = 0
        raw: list[tuple[int, Span, str, str, str]] = []
        for di, doc in enumerate(self.docs):
            for sent in doc.sents:
                self.sent_index[(di, sent.start)] = n
                n += 1
            for ent in doc.ents:
                for part in _split_joined(ent, self.table):
                    resolved = self.resolver.resolve(part)
                    if resolved is None:
                        continue
                    key, name, label = resolved
                    raw.append((di, part, key, name, label))
        body_keys = {key for di, _e, key, _n, _l in raw if not self.paragraphs[di][2]}
        for di, ent, key, name, label in raw:
            if self.paragraphs[di][2] and key not in body_keys:
                continue  # a title-case line: keep only names the body confirms
            self._add_mention(di, ent, key, name, label)

    def _add_mention(self, di: int, ent: Span, key: str, name: str, label: str) -> None:
        offset = self.paragraphs[di][1]
        actor = self.out.actors.get(key)
        if actor is None:
            actor = self.out.actors[key] = ActorX(key, name, label)
        actor.aliases.add(clean_name(ent.text, label))
        actor.labels[label] += 1
        actor.count += 1
        if _better_name(name, actor.name):
            actor.name = name
        self.ent_key[(di, ent.start)] = key
        self.out.mentions.append(
            MentionX(
                key=key,
                text=ent.text,
                label=label,
                start=None if offset is None else offset + ent.start_char,
                end=None if offset is None else offset + ent.end_char,
                sentence=self._sentence_of(di, ent[0]),
            )
        )

    def _sentence_of(self, di: int, tok: Token) -> int:
        return self.sent_index.get((di, tok.sent.start), -1)

    def _link_surnames(self) -> None:
        """A one-word name equal to the surname of a full PERSON name is that person."""
        by_surname: dict[str, set[str]] = {}
        for key, actor in self.out.actors.items():
            person = actor.labels["PERSON"] or actor.type == "PERSON"
            if " " in key and person and self.table.known(key) is None:
                by_surname.setdefault(key.rsplit(" ", 1)[1], set()).add(key)
        mapping: dict[str, ActorX] = {}
        for key, actor in list(self.out.actors.items()):
            if " " in key or self.table.known(key) or key in self.table.acting:
                continue
            if actor.type == "NORP":
                continue
            full = by_surname.get(key)
            if full and len(full) == 1:
                target = self.out.actors[next(iter(full))]
                mapping[key] = ActorX(target.key, target.name, "PERSON")
        if mapping:
            self.out.remap(mapping)
            for k, v in list(self.ent_key.items()):
                if v in mapping:
                    self.ent_key[k] = mapping[v].key
        for actor in self.out.actors.values():
            known = self.table.known(actor.key)
            if known is not None:
                actor.type, actor.name = known.type, known.name
            elif actor.labels["PERSON"] and " " in actor.key:
                actor.type = "PERSON"
            elif actor.labels:
                actor.type = actor.labels.most_common(1)[0][0]
        for m in self.out.mentions:
            m.label = self.out.actors[m.key].type if m.key in self.out.actors else m.label

    def key_at(self, di: int, tok: Token) -> str | None:
        ent = _ent_of(tok)
        if ent is None:
            return None
        return self.ent_key.get((di, ent.start))

    # -- dates
    def _news_day(self) -> None:
        """The day the article's news happened (first dated expression of the lead)."""
        for di, doc in enumerate(self.docs):
            if self.paragraphs[di][2]:
                continue
            first = next(iter(doc.sents))
            for ent in first.ents:
                if ent.label_ == "DATE":
                    iso, prec = when.resolve(ent.text, self.ref)
                    if iso and prec == "day":
                        self.news_day = (iso, prec)
                        return
            return

    def statement_ref(self, di: int, sent: Span, qspan: tuple[int, int] | None) -> date | None:
        """The date a statement was made: a date beside its speech verb, else the news day."""
        for ent in sent.ents:
            if ent.label_ != "DATE":
                continue
            if qspan and qspan[0] <= ent.start_char < qspan[1]:
                continue
            if ent.root.head.lemma_ in SPEECH_LEMMAS or ent.root.head.lemma_ == "release" or (
                ent.root.head.dep_ == "prep" and ent.root.head.head.lemma_ in SPEECH_LEMMAS
            ):
                iso, prec = when.resolve(ent.text, self.ref)
                if iso and prec == "day":
                    return when.to_date(iso)
        if self.news_day:
            return when.to_date(self.news_day[0])
        return self.ref

    # -- roles
    def _roles(self) -> None:
        for di, doc in enumerate(self.docs):
            for ent in doc.ents:
                key = self.ent_key.get((di, ent.start))
                if key is None or self.out.actors.get(key, _NO_ACTOR).type != "PERSON":
                    continue
                for role in _roles_of(ent):
                    if role and all(r.role != role or r.key != key for r in self.out.roles):
                        self.out.roles.append(RoleX(key, role, self.published))

    # -- quotes
    def _quotes(self) -> dict[int, list[tuple[int, int, QuoteX]]]:
        ranges: dict[int, list[tuple[int, int, QuoteX]]] = {}
        last_speaker: tuple[str | None, str | None] = (None, None)
        last_person: str | None = None
        last_group: str | None = None
        for di, doc in enumerate(self.docs):
            doc_text = doc.text  # (built from the tokens on every access)
            if self.paragraphs[di][2] and not any(c in doc_text for c in QUOTE_CHARS):
                continue
            spans = _quote_spans(doc_text)
            found: list[tuple[int, int, QuoteX]] = []
            prev_in_para: QuoteX | None = None
            cursor = 0
            for qs, qe in spans:
                # track the last PERSON subject and group before this quote
                last_person, last_group = self._last_subjects(
                    doc, di, cursor, qs, last_person, last_group
                )
                cursor = qe
                text = doc_text[qs + 1 : qe - 1].strip()
                sent = doc.char_span(qs, min(qe, len(doc_text)), alignment_mode="expand")
                sents = list(sent.sents) if sent is not None else []  # type: ignore[attr-defined]
                key, stext = self._speaker(doc, di, qs, qe, spans, sents, last_person, last_group)
                if len(text.split()) < _QUOTE_MIN_WORDS:
                    if key or stext:
                        prev_in_para = QuoteX(text, key, stext, "", None)
                    continue
                if key is None and stext is None:
                    if prev_in_para is not None:
                        key, stext = prev_in_para.speaker_key, prev_in_para.speaker_text
                    elif self._whole_paragraph_quote(doc_text, qs, qe):
                        key, stext = last_speaker
                first_sent = sents[0] if sents else next(iter(doc.sents))
                ref = self.statement_ref(di, first_sent, (qs, qe))
                sentence_text = " ".join(s.text for s in sents) if sents else text
                quote = QuoteX(
                    text=text.rstrip(",").strip(),
                    speaker_key=key,
                    speaker_text=stext,
                    sentence=sentence_text.strip(),
                    date=ref.isoformat() if ref else None,
                )
                self.out.quotes.append(quote)
                found.append((qs, qe, quote))
                prev_in_para = quote
                if key or stext:
                    last_speaker = (key, stext)
            last_person, last_group = self._last_subjects(
                doc, di, cursor, len(doc_text), last_person, last_group
            )
            ranges[di] = found
        return ranges

    @staticmethod
    def _whole_paragraph_quote(text: str, qs: int, qe: int) -> bool:
        return not text[:qs].strip() and len(text[qe:].strip()) <= 2

    def _last_subjects(
        self, doc: Doc, di: int, start: int, end: int, person: str | None, group: str | None
    ) -> tuple[str | None, str | None]:
        for ent in doc.ents:
            if not start <= ent.start_char < end:
                continue
            key = self.ent_key.get((di, ent.start))
            if key is None:
                continue
            actor = self.out.actors.get(key)
            if actor is None:
                continue
            subj = ent.root.dep_ in ("nsubj", "nsubjpass") or ent.root.head.dep_ in (
                "nsubj", "nsubjpass"
            )
            if actor.type == "PERSON" and (subj or person is None):
                person = key
            elif actor.type in ("ORG", "GPE") and subj:
                group = key
        return person, group

    def _speaker(
        self,
        doc: Doc,
        di: int,
        qs: int,
        qe: int,
        spans: list[tuple[int, int]],
        sents: list[Span],
        last_person: str | None,
        last_group: str | None,
    ) -> tuple[str | None, str | None]:
        def inside_quote(tok: Token) -> bool:
            return any(a <= tok.idx < b for a, b in spans)

        verbs: list[tuple[int, Token]] = []
        for sent in sents:
            for tok in sent:
                if inside_quote(tok):
                    continue
                speech = tok.lemma_ in SPEECH_LEMMAS | {"read"}
                if speech and (tok.pos_ in ("VERB", "AUX") or (
                    tok.dep_ == "ROOT" and any(c.dep_ == "nsubj" for c in tok.children)
                )):  # "…," the statement read. ("read" is often tagged a noun)
                    distance = tok.idx - qe if tok.idx >= qe else (qs - tok.idx) + 1
                    verbs.append((distance, tok))
                elif tok.lower_ == "according" and tok.nbor(1).lower_ == "to":
                    verbs.append((abs(tok.idx - qe), tok))
        for _d, verb in sorted(verbs, key=lambda x: x[0]):
            subj = _subject_of(verb)
            if subj is None and verb.lower_ == "according":
                pobj = [c for c in verb.nbor(1).children if c.dep_ == "pobj"]
                subj = pobj[0] if pobj else None
            if subj is None:
                continue
            return self._speaker_from(doc, di, subj, last_person, last_group)
        return None, None

    def _speaker_from(
        self, doc: Doc, di: int, subj: Token, last_person: str | None, last_group: str | None
    ) -> tuple[str | None, str | None]:
        if subj.lower_ in _PRONOUN_PERSON:
            for i in range(subj.i - 1, subj.sent.start - 1, -1):
                key = self.key_at(di, doc[i])
                if key and self.out.actors.get(key, _NO_ACTOR).type == "PERSON":
                    return key, subj.text
            return last_person, subj.text
        if subj.lower_ in ("it", "they"):
            return last_group, subj.text
        core = _core(subj)
        text = doc[core[0].i : core[-1].i + 1].text.strip(" ,")
        own = self.key_at(di, subj)
        if own and own in self.out.actors:
            return own, text
        if subj.pos_ == "NOUN" and fold(subj.lemma_) in _TITLE_NOUNS and not any(
            self.key_at(di, t) for t in core if self.out.actors.get(
                self.key_at(di, t) or "", _NO_ACTOR).type == "PERSON"
        ):
            # "the Republican president said": the person last named with that title
            titled = {r.key for r in self.out.roles if fold(subj.lemma_) in fold(r.role)}
            return self._person_before(di, subj, titled or None) or last_person, text
        if subj.pos_ == "PROPN" and subj.text[:1].isupper() and not subj.ent_type_:
            # a name the model missed ("said Mexico President AMLO"): a person
            parts = [t for t in core if t.pos_ == "PROPN" and not t.ent_type_
                     and fold(t.text) not in TITLES and t.i <= subj.i]
            name = " ".join(t.text for t in parts) or subj.text
            key = canon_key(name, "PERSON")
            linked = [k for k, a in self.out.actors.items()
                      if a.type == "PERSON" and " " in k and k.rsplit(" ", 1)[1] == key]
            if len(linked) == 1:
                return linked[0], text
            actor = self.out.actors.setdefault(key, ActorX(key, name, "PERSON"))
            actor.aliases.add(name)
            actor.labels["PERSON"] += 1
            actor.count += 1
            return key, text
        rank = {"PERSON": 0, "ORG": 1, "GPE": 2, "NORP": 3, "LOC": 4}
        for scope in (core, [t for t in subj.subtree if t.dep_ not in ("relcl",)]):
            candidates: list[tuple[int, str]] = []
            for tok in scope:
                key = self.key_at(di, tok)
                if key and key in self.out.actors:
                    candidates.append((rank.get(self.out.actors[key].type, 5), key))
            if candidates:
                return sorted(candidates)[0][1], text
        return None, text or None

    # -- events
    def _events(self, quote_ranges: dict[int, list[tuple[int, int, QuoteX]]]) -> None:
        lead_event: EventX | None = None
        for di, doc in enumerate(self.docs):
            if self.paragraphs[di][2]:
                continue
            quotes = quote_ranges.get(di, [])
            for sent in doc.sents:
                if sent.text.strip().endswith("?"):
                    continue
                sindex = self._sentence_of(di, sent[0])
                found = self._sentence_events(di, doc, sent, sindex, quotes)
                if not found:
                    self._attach_quantity(sent, sindex)
                for ev in found:
                    if lead_event is None and ev.date_text:
                        lead_event = ev
                    self._inherit_lead_date(ev, lead_event)
                    self.out.events.append(ev)

    def _inherit_lead_date(self, ev: EventX, lead: EventX | None) -> None:
        flights = ("deportation_flight", "resumption")
        if (
            lead is not None and ev is not lead and not ev.date_text and ev.type in flights
            and lead.type in flights and ev.sentence_index <= 4 and not ev.in_quote
        ):
            ev.date, ev.date_precision, ev.date_text = (
                lead.date, lead.date_precision, lead.date_text
            )

    def _attach_quantity(self, sent: Span, sindex: int) -> None:
        """"Onboard the flight were around 130 men": a number for the flight just told."""
        if not any(t.lemma_ in ("flight", "plane", "onboard", "aboard") for t in sent):
            return
        prev = [e for e in self.out.events if e.type == "deportation_flight"]
        if not prev or prev[-1].quantity is not None or sindex - prev[-1].sentence_index > 2:
            return
        q = _quantity(sent, None)
        if q is not None:
            prev[-1].quantity, prev[-1].quantity_text, prev[-1].unit = q

    def _sentence_events(
        self, di: int, doc: Doc, sent: Span, sindex: int, quotes: list[tuple[int, int, QuoteX]]
    ) -> list[EventX]:
        lemmas = " ".join(t.lemma_.lower() for t in sent)
        found: dict[str, EventX] = {}
        for tok in sent:
            etype = _trigger_type(tok, lemmas, self.about_flights)
            if etype is None:
                continue
            quote = next((q for a, b, q in quotes if a <= tok.idx < b), None)
            ev = self._build_event(di, doc, sent, sindex, tok, etype, quote)
            old = found.get(etype)
            if old is None or _richness(ev) > _richness(old):
                found[etype] = ev
        return list(found.values())

    def _build_event(
        self, di: int, doc: Doc, sent: Span, sindex: int, trig: Token, etype: str,
        quote: QuoteX | None,
    ) -> EventX:
        ev = EventX(type=etype, trigger=trig.text, sentence=sent.text.strip(),
                    sentence_index=sindex, in_quote=quote is not None)
        actors, targets = self._participants(di, trig, quote)
        ev.actors, ev.targets = actors, targets
        self._places(di, sent, trig, ev)
        ev.targets = [t for t in ev.targets if t not in (ev.origin, ev.destination, ev.via)]
        ev.actors = [a for a in ev.actors if a not in (ev.origin, ev.destination, ev.via)]
        q = _quantity(sent, trig, local=etype not in _PEOPLE_EVENTS or trig.pos_ == "NOUN")
        if q is not None:
            ev.quantity, ev.quantity_text, ev.unit = q
        ev.negated = _negated(trig)
        ev.modality = _modality(trig, quote is not None)
        ref = self.statement_ref(di, sent, None) if quote is not None else self.ref
        future = ev.modality in ("planned", "future")
        date_info = self._date_for(sent, trig, ref, future)
        if date_info is not None:
            ev.date, ev.date_precision, ev.date_text = date_info
        return ev

    def _participants(
        self, di: int, trig: Token, quote: QuoteX | None
    ) -> tuple[list[str], list[str]]:
        actors: list[str] = []
        targets: list[str] = []
        subj = _subject_of(trig)
        passive = any(c.dep_ in ("nsubjpass", "auxpass") for c in trig.children)
        if subj is not None:
            keys = self._keys_in(di, subj, quote)
            (targets if passive else actors).extend(keys)
        for child in trig.children:
            if child.dep_ in ("dobj", "nsubjpass", "attr", "oprd"):
                if child.lower_ in ("which", "who", "whom", "that") and trig.dep_ == "relcl":
                    # "the gang, which Trump has designated …": the gang is the target
                    targets.extend(self._keys_in(di, trig.head, quote))
                    continue
                targets.extend(self._keys_in(di, child, quote))
                for prep in child.children:  # "permission for Chevron"
                    if prep.dep_ == "prep" and prep.lower_ in ("for", "of", "to"):
                        for p in prep.children:
                            if p.dep_ == "pobj":
                                targets.extend(
                                    k for k in self._keys_in(di, p, quote)
                                    if self.out.actors[k].type in ("ORG", "PERSON")
                                )
            elif child.dep_ == "agent" or (child.dep_ == "prep" and child.lower_ == "by"):
                for p in child.children:
                    actors.extend(self._keys_in(di, p, quote))
            elif child.dep_ == "poss":
                actors.extend(self._keys_in(di, child, quote))
            elif child.dep_ == "prep" and child.lower_ in ("with", "between", "against", "on",
                                                           "of", "for"):
                for p in child.children:
                    if p.dep_ == "pobj":
                        targets.extend(self._keys_in(di, p, quote, places=False))
        if trig.dep_ == "acl" and trig.head.pos_ in ("NOUN", "PROPN"):
            # "a move deeply criticized by Caracas" / "238 Venezuelans accused of"
            targets.extend(self._keys_in(di, trig.head, quote, shallow=True))
        if not actors and trig.pos_ == "NOUN":
            verb = next((a for a in trig.ancestors if a.pos_ in ("VERB", "AUX")), None)
            head_subj = _subject_of(verb) if verb is not None else None
            if head_subj is not None:
                actors.extend(self._keys_in(di, head_subj, quote))
        return _dedupe(actors), _dedupe(t for t in targets if t not in actors)

    def _keys_in(
        self, di: int, tok: Token, quote: QuoteX | None, *, places: bool = True,
        shallow: bool = False,
    ) -> list[str]:
        low = tok.lower_
        if quote is not None and low in _WE:
            return [quote.speaker_key] if quote.speaker_key else []
        if low in _PRONOUN_PERSON or low in _PRONOUN_GROUP or low == "they":
            ref = self._pronoun(di, tok)
            return [ref] if ref else []
        keys: list[str] = []
        subtree: Iterable[Token] = (
            [t for t in _core(tok) if t.i <= tok.i] if shallow else _core(tok)
        )
        own = self.key_at(di, tok)
        if own and own in self.out.actors and not shallow:
            # the phrase names an actor itself ("US President Donald Trump" is Trump)
            subtree = [tok] + [c for c in tok.conjuncts]
        for t in subtree:
            key = self.key_at(di, t)
            if key and key in self.out.actors and key not in keys:
                keys.append(key)
        return keys

    def _person_before(self, di: int, tok: Token, allowed: set[str] | None) -> str | None:
        """The last PERSON (among ``allowed``) named before ``tok``, in this or earlier text."""
        for dj in range(di, -1, -1):
            for ent in reversed(self.docs[dj].ents):
                if dj == di and ent.start >= tok.i:
                    continue
                key = self.ent_key.get((dj, ent.start))
                if key is None or self.out.actors.get(key, _NO_ACTOR).type != "PERSON":
                    continue
                if allowed is None or key in allowed:
                    return key
        return None

    def _pronoun(self, di: int, tok: Token) -> str | None:
        """"it"/"he": the nearest fitting actor that is a subject before the pronoun."""
        want_person = tok.lower_ in _PRONOUN_PERSON
        doc = tok.doc
        # the subject of the speech verb governing this clause ("the US said it was …")
        head: Token | None = tok.head
        while head is not None and head.head.i != head.i:
            if head.lemma_ in _REPORT_HEADS:
                subj = _subject_of(head)
                if subj is not None and subj.i < tok.i:
                    keys = self._keys_in(di, subj, None)
                    if keys:
                        return keys[0]
                break
            head = head.head
        for i in range(tok.i - 1, -1, -1):
            key = self.key_at(di, doc[i])
            if key is None or key not in self.out.actors:
                continue
            actor = self.out.actors[key]
            if want_person == (actor.type == "PERSON") and actor.type != "NORP":
                return key
        # earlier paragraphs
        for dj in range(di - 1, -1, -1):
            for ent in reversed(self.docs[dj].ents):
                key = self.ent_key.get((dj, ent.start))
                if key is None or key not in self.out.actors:
                    continue
                actor = self.out.actors[key]
                if want_person == (actor.type == "PERSON") and actor.type != "NORP":
                    return key
        return None

    def _places(self, di: int, sent: Span, trig: Token, ev: EventX) -> None:
        if ev.type not in _PLACE_EVENTS:
            return
        scope = list(trig.subtree)
        if ev.type == "deportation_flight":
            root = trig
            while root.head.i != root.i and (
                root.dep_ == "conj" or (root.dep_ in ("advcl", "xcomp")
                and VERB_TRIGGERS.get(root.head.lemma_) == "deportation_flight")
            ):
                root = root.head
            scope = [t for t in root.subtree if not _inside_clause(t, root)]
        landed_in: str | None = None
        for tok in scope:
            if tok.dep_ != "prep" and tok.lower_ != "via":
                continue
            pobjs = [c for c in tok.children if c.dep_ == "pobj"]
            if not pobjs:
                continue
            key = self._place_key(di, pobjs[0])
            if key is None:
                continue
            word = tok.lower_
            if word == "from" and ev.origin is None:
                ev.origin = key
            elif word in ("to", "into", "toward", "towards"):
                ev.destination = key
            elif word == "via":
                ev.via = key
            elif word == "in" and tok.head.lemma_ in ("land", "stop", "arrive"):
                landed_in = key
            elif word == "in" and ev.destination is None and tok.head.lemma_ in (
                "prison", "arrive", "house", "detain", "jail"
            ):
                ev.destination = key
        if ev.destination is None and ev.type == "deportation_flight":
            for tok in sent:
                if tok.i > trig.i and tok.lower_ in ("to", "into") and tok.dep_ == "prep":
                    pobjs = [c for c in tok.children if c.dep_ == "pobj"]
                    key = self._place_key(di, pobjs[0]) if pobjs else None
                    if key and key != ev.origin:
                        ev.destination = key
                        break
        if landed_in:
            if ev.destination and ev.destination != landed_in:
                ev.via = ev.via or landed_in
            else:
                ev.destination = landed_in

    def _place_key(self, di: int, pobj: Token) -> str | None:
        key = self.key_at(di, pobj)
        if key and self.out.actors.get(key, _NO_ACTOR).type in ("GPE", "LOC"):
            return key
        for child in pobj.children:
            if child.dep_ == "prep" and child.lower_ in ("of", "in"):
                for p in child.children:
                    if p.dep_ == "pobj":
                        found = self._place_key(di, p)
                        if found:
                            return found
        for tok in pobj.subtree:
            key = self.key_at(di, tok)
            if key and self.out.actors.get(key, _NO_ACTOR).type in ("GPE", "LOC"):
                return key
        return None

    def _date_for(
        self, sent: Span, trig: Token, ref: date | None, future: bool
    ) -> tuple[str | None, str | None, str] | None:
        """The date attached to the trigger (or the nearest clause above it), resolved.

        "one week after X were sent" makes X's date the anchor's date minus one week.
        """
        dates = [e for e in sent.ents if e.label_ == "DATE"]
        if not dates:
            return None
        attach: dict[int, Span] = {}
        offsets: dict[int, tuple[int, str]] = {}
        for ent in dates:
            node = ent.root.head
            hops = 0
            sign = 0
            while node.pos_ not in ("VERB", "AUX") and node.lemma_ not in NOUN_TRIGGERS and (
                node.head.i != node.i and hops < 4
            ):
                if node.lower_ in ("after", "before"):
                    sign = -1 if node.lower_ == "after" else 1
                node = node.head
                hops += 1
            off = when.parse_offset(ent.text) if sign else None
            if off is not None:
                offsets.setdefault(node.i, (off[0] * sign, off[1]))
            elif not when.is_duration(ent.text):
                attach.setdefault(node.i, ent)
        node = trig
        via_offset: tuple[int, str] | None = None
        for _ in range(10):
            if via_offset is None and node.i in offsets:
                via_offset = offsets[node.i]
            found = attach.get(node.i)
            if found is not None:
                ent = found
                iso, prec = when.resolve(ent.text, ref, future=future)
                text = ent.text
                if via_offset and iso:
                    base = when.to_date(iso)
                    if base is not None:
                        iso, prec = when.offset(base, via_offset[0], via_offset[1])
                        unit = via_offset[1] + ("s" if abs(via_offset[0]) != 1 else "")
                        side = "before" if via_offset[0] < 0 else "after"
                        text = f"{abs(via_offset[0])} {unit} {side} {ent.text}"
                return iso, prec, text
            if node.head.i == node.i or node.dep_ in ("relcl", "acl"):
                break
            node = node.head
        return None


# -- helpers on tokens ------------------------------------------------------------------------


_CORE_DEPS = {"compound", "poss", "amod", "nmod", "flat", "det", "case", "conj", "cc", "nummod",
              "quantmod", "appos"}


def _core(tok: Token) -> list[Token]:
    """The noun phrase without its prepositional phrases and clauses."""
    out = [tok]
    stack = [tok]
    while stack:
        node = stack.pop()
        for child in node.children:
            if child.dep_ in _CORE_DEPS and not (child.dep_ == "appos" and child.i < tok.i):
                out.append(child)
                stack.append(child)
    return sorted(out, key=lambda t: t.i)


def _inside_clause(tok: Token, root: Token) -> bool:
    """Is ``tok`` inside a subordinate clause of ``root`` (not the flight's own verbs)?"""
    node = tok
    while node.i != root.i and node.head.i != node.i:
        if node.dep_ in ("ccomp", "relcl", "acl", "advcl", "csubj") and not (
            VERB_TRIGGERS.get(node.lemma_) == "deportation_flight"
            or node.lemma_ in ("continue", "land", "arrive", "depart", "fly")
        ):
            return True
        node = node.head
    return False


def _split_joined(ent: Span, table: AliasTable) -> list[Span]:
    """"U.S.–Venezuela" relations name two actors."""
    if ent.label_ not in ("GPE", "ORG", "NORP") or not re.search(r"\w[–-]\w", ent.text):
        return [ent]
    doc = ent.doc
    parts: list[Span] = []
    start = ent.start
    for tok in ent:
        if tok.text in ("-", "–") or tok.i == ent.end - 1:
            end = tok.i if tok.text in ("-", "–") else tok.i + 1
            if end > start:
                parts.append(Span(doc, start, end, label=ent.label_))
            start = tok.i + 1
    if len(parts) < 2:
        return [ent]
    if all(table.known(canon_key(p.text)) or table.label_for(canon_key(p.text)) for p in parts):
        return parts
    return [ent]


def _ent_of(tok: Token) -> Span | None:
    if not tok.ent_type_:
        return None
    for ent in tok.doc.ents:
        if ent.start <= tok.i < ent.end:
            return ent
    return None


def _better_name(new: str, old: str) -> bool:
    """Prefer the spelling with diacritics, then the longer one."""
    def accents(s: str) -> int:
        return sum(1 for ch in s if ord(ch) > 127)
    if accents(new) != accents(old):
        return accents(new) > accents(old)
    return False


def _subject_of(tok: Token) -> Token | None:
    node: Token | None = tok
    for _ in range(6):
        if node is None:
            return None
        for child in node.children:
            if child.dep_ in ("nsubj", "nsubjpass", "csubj"):
                return child
        if node.dep_ == "ccomp":
            return None
        if node.dep_ in ("xcomp", "conj", "advcl", "pcomp", "acomp", "prep") and (
            node.head.i != node.i
        ):
            node = node.head
            continue
        return None
    return None


def _context_ok(lemma: str, tok: Token, lemmas: str) -> bool:
    need = NEEDS_CONTEXT.get(lemma)
    if not need:
        return True
    window = " ".join(t.lemma_.lower() for t in tok.sent)
    return any(w in window for w in need)


_FLIGHT_VERBS = {"conduct", "operate", "run", "schedule", "carry", "launch", "organize",
                 "organise", "charter", "send", "mark", "be", "take"}
_ORDINALS = {"first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
             "ninth", "tenth", "last", "latest", "additional", "another", "new", "next"}
_THEME_TYPES = {"resumption", "suspension", "acceptance", "agreement"}


def _flight_trigger(tok: Token) -> str | None:
    """"the fifth flight", "conduct two flights": a flight told as an event."""
    if tok.pos_ != "NOUN" or tok.lemma_.lower() != "flight":
        return None
    head = tok.head
    if VERB_TRIGGERS.get(head.lemma_.lower()) in _THEME_TYPES:
        return None  # "resume flights": the flights are the theme of another event
    counted = any(
        c.dep_ == "nummod" or c.lower_ in _ORDINALS for c in tok.children
    )
    if tok.dep_ == "dobj" and head.lemma_.lower() in _FLIGHT_VERBS and counted:
        return "deportation_flight"
    if tok.dep_ in ("attr", "nsubj", "nsubjpass", "pobj") and counted:
        return "deportation_flight"
    return None


def _trigger_type(tok: Token, lemmas: str, flights: bool = False) -> str | None:
    lemma = tok.lemma_.lower()
    if flights and lemma == "flight":
        return _flight_trigger(tok)
    if tok.pos_ in ("VERB",) and lemma in VERB_TRIGGERS:
        if tok.dep_ == "amod" or (tok.dep_ == "acl" and lemma in ("accuse",)):
            return None
        if lemma == "accuse" and (tok.dep_ in ("dobj", "pobj", "nsubj")
                                  or any(c.dep_ == "det" for c in tok.children)):
            return None  # "the accused" are people, not an accusation
        if lemma == "return" and not any(c.dep_ in ("dobj", "nsubjpass") for c in tok.children):
            return None  # "those who want to return": no one returns anyone
        if not _context_ok(lemma, tok, lemmas):
            return None
        if lemma == "revoke" and any(
            c.dep_ == "dobj" and c.lemma_ in ("permission", "license", "licence")
            for c in tok.children
        ):
            return "sanction"
        return VERB_TRIGGERS[lemma]
    if tok.pos_ in ("NOUN",) and lemma in NOUN_TRIGGERS:
        if tok.dep_ in ("compound", "amod", "nmod"):
            return None
        if any(c.dep_ == "amod" and c.lower_ in ("prior", "previous", "past", "earlier")
               for c in tok.children):
            return None  # "prior agreements" are not news
        if NOUN_TRIGGERS[lemma] == "deportation_flight" and tok.dep_ in (
            "dobj", "nsubjpass", "nsubj"
        ) and VERB_TRIGGERS.get(tok.head.lemma_.lower()) in _THEME_TYPES | {"request"}:
            return None  # "resume deportations": the theme of the resumption
        if tok.dep_ == "pobj" and tok.head.lower_ == "of" and (
            tok.head.head.lemma_.lower() in NOUN_TRIGGERS
        ):
            return None  # "the resumption of deportations" is one event
        if not _context_ok(lemma, tok, lemmas):
            return None
        return NOUN_TRIGGERS[lemma]
    return None


def _negated(trig: Token) -> bool:
    for child in trig.children:
        if child.dep_ == "neg":
            return True
        if child.lower_ == "longer" and any(c.lower_ == "no" for c in child.children):
            return True
        if child.lower_ in ("never",):
            return True
    window = trig.doc[max(trig.i - 3, trig.sent.start) : trig.i]
    if "no longer" in window.text.lower():
        return True
    if trig.dep_ in ("xcomp", "pcomp", "ccomp") and trig.head.lemma_ in _NEG_HEADS:
        return True
    return bool(trig.dep_ == "xcomp" and any(c.dep_ == "neg" for c in trig.head.children))


def _modality(trig: Token, in_quote: bool) -> str:
    auxes = {c.lower_ for c in trig.children if c.dep_ in ("aux", "auxpass")}
    node = trig
    if node.dep_ in ("xcomp", "acl") and node.head.i != node.i:
        auxes |= {c.lower_ for c in node.head.children if c.dep_ in ("aux",)}
        if node.head.lemma_ in _PLAN_HEADS:
            return "planned"
    if auxes & _FUTURE_AUX or "going" in auxes:
        return "planned"
    if auxes & _COND_AUX:
        return "future"
    if in_quote:
        return "reported"
    head = trig.head
    for _ in range(4):
        if head.lemma_ in _REPORT_HEADS and head.i != trig.i:
            return "reported"
        if head.head.i == head.i:
            break
        head = head.head
    return "asserted"


def _number_value(text: str) -> float | None:
    t = _APPROX.sub("", text.lower().replace(",", "")).strip()
    words = t.split()
    value: float | None = None
    for w in words:
        if re.fullmatch(r"\d+(?:\.\d+)?", w):
            value = float(w) if value is None else value * float(w)
        elif w in _SCALE:
            value = (value or 1) * _SCALE[w]
        elif w in _NUMBER_WORDS:
            n = _NUMBER_WORDS[w]
            value = float(n) if value is None else value * n
        elif w in ("of", "a", "an", "and"):
            continue
        else:
            break
    return value


def _quantity(
    sent: Span, trig: Token | None, *, local: bool = False
) -> tuple[float, str, str] | None:
    """(value, text, unit) of a number of people in the sentence, closest to the trigger."""
    best: tuple[int, tuple[float, str, str]] | None = None
    scope = {t.i for t in trig.subtree} if trig is not None and local else None
    for ent in sent.ents:
        if ent.label_ not in ("CARDINAL", "QUANTITY"):
            continue
        if scope is not None and ent.root.i not in scope:
            continue
        head = ent.root
        while head.dep_ in ("nummod", "quantmod", "compound", "nmod") and head.head.i != head.i:
            head = head.head
            if head.pos_ in ("NOUN", "PROPN"):
                break
        if head.i < ent.end and head.i >= ent.start:
            # "hundreds of thousands of immigrants": unit after "of"
            preps = [c for c in head.children if c.dep_ == "prep" and c.lower_ == "of"]
            if preps and [c for c in preps[-1].children if c.dep_ == "pobj"]:
                head = next(c for c in preps[-1].children if c.dep_ == "pobj")
                while any(c.dep_ == "prep" and c.lower_ == "of" for c in head.children) and (
                    head.lower_ in ("thousands", "hundreds", "millions")
                ):
                    p = next(c for c in head.children if c.dep_ == "prep" and c.lower_ == "of")
                    pob = [c for c in p.children if c.dep_ == "pobj"]
                    if not pob:
                        break
                    head = pob[0]
        unit_word = head.lower_
        if unit_word not in PEOPLE_UNITS and head.lemma_.lower() not in PEOPLE_UNITS and (
            head.ent_type_ != "NORP"
        ):
            continue
        value = _number_value(ent.text)
        if value is None:
            continue
        unit_tokens = [t for t in sent.doc[ent.end : head.i + 1]]
        conj = [c for c in head.children if c.dep_ == "conj" and c.pos_ == "NOUN"]
        if conj:
            unit_tokens = list(sent.doc[ent.end : conj[-1].i + 1])
        unit_tokens = [t for t in unit_tokens if t.lower_ != "of" or t.i > ent.end]
        unit = " ".join(t.text for t in unit_tokens).strip()
        start = ent.start
        if start > sent.start and sent.doc[start - 1].lower_ in ("about", "around", "some",
                                                                  "nearly", "roughly", "over"):
            start -= 1
        text = sent.doc[start : (conj[-1].i + 1) if conj else head.i + 1].text
        distance = abs(ent.root.i - trig.i) if trig is not None else 0
        if trig is not None and any(t.i == trig.i for t in head.ancestors):
            distance -= 100
        cand = (distance, (value, text, unit or head.text))
        if best is None or cand[0] < best[0]:
            best = cand
    return best[1] if best else None


def _richness(ev: EventX) -> int:
    return sum(
        1 for x in (ev.actors, ev.targets, ev.date, ev.quantity, ev.origin, ev.destination)
        if x
    )


def _roles_of(ent: Span) -> list[str]:
    """Titles before a name ("Venezuelan President") and appositions after it."""
    roles: list[str] = []
    root = ent.root
    left = root.left_edge
    if left.i < ent.start:
        toks = list(ent.doc[left.i : ent.start])
        while toks and (toks[0].pos_ in ("DET", "PUNCT", "ADP", "CCONJ") or (
            toks[0].dep_ == "poss" and toks[0].ent_type_ not in ("GPE", "NORP", "ORG")
        )):
            if toks[0].dep_ == "poss" and len(toks) > 1 and toks[1].dep_ == "case":
                toks = toks[2:]
                continue
            toks = toks[1:]
        while toks and toks[-1].is_punct:
            toks = toks[:-1]
        if toks and len(toks) <= 8 and _title_like(toks):
            roles.append(ent.doc[toks[0].i : toks[-1].i + 1].text)
    for child in root.children:
        if child.dep_ == "appos" and child.ent_type_ != "PERSON":
            roles.extend(_phrase_roles(child))
        if child.dep_ == "relcl" and child.lemma_ == "be":
            for c in child.children:
                if c.dep_ == "attr":
                    roles.extend(_phrase_roles(c))
    return [r for r in (_tidy_role(r) for r in roles) if r and len(r.split()) <= 14]


def _phrase_roles(head: Token) -> list[str]:
    toks = [t for t in head.subtree if t.dep_ != "relcl" and not any(
        a.dep_ == "relcl" and a.i >= head.i and a.i != head.i for a in t.ancestors
        if a.i in {x.i for x in head.subtree}
    )]
    if not toks:
        return []
    text = head.doc[toks[0].i : toks[-1].i + 1].text
    return [p for p in re.split(r",?\s+and\s+(?=(?:the|a|an|also)\b)", text) if p.strip()]


def _tidy_role(role: str) -> str:
    role = " ".join(role.split()).strip(" ,")
    role = re.sub(r"^(?:also\s+)?(?:a|an|the)\s+", "", role, flags=re.IGNORECASE)
    role = re.sub(r"^(?:also)\s+", "", role, flags=re.IGNORECASE)
    return role.strip(" ,")


def _title_like(toks: list[Token]) -> bool:
    nouns = [t for t in toks if t.pos_ in ("NOUN", "PROPN")]
    if not nouns:
        return False
    if all(t.ent_type_ in ("GPE", "NORP", "ORG") for t in nouns):
        return False  # "the US" before a name is not a title
    return any(
        t.pos_ == "NOUN" or fold(t.text) in {"president", "secretary", "chief", "minister"}
        for t in toks
    )


def analyses_from_docs(
    table: AliasTable,
    docs: Sequence[Doc],
    paragraphs: Sequence[tuple[str, int | None, bool]],
    published: str | None,
) -> ArticleAnalysis:
    return ArticleExtractor(table, docs, paragraphs, published).run()


def _debug(analysis: ArticleAnalysis) -> dict[str, Any]:
    return {
        "actors": {k: (a.name, a.type) for k, a in analysis.actors.items()},
        "roles": [(r.key, r.role) for r in analysis.roles],
        "quotes": [(q.speaker_key, q.text[:50], q.date) for q in analysis.quotes],
        "events": [
            (e.type, e.trigger, e.actors, e.targets, e.origin, e.via, e.destination, e.date,
             e.date_text, e.quantity_text, e.negated, e.modality)
            for e in analysis.events
        ],
    }


def _quote_spans(text: str) -> list[tuple[int, int]]:
    """Pair quotation marks in order ("…" and “…”, even a wrong-way closing “)."""
    marks = [m.start() for m in re.finditer(r"[\"“”„«»]", text)]
    spans: list[tuple[int, int]] = []
    for a, b in zip(marks[0::2], marks[1::2], strict=False):
        spans.append((a, b + 1))
    if len(marks) % 2 and text[marks[-1]] in "\"“„«":
        # a quote that runs on into the next paragraph has no closing mark here
        spans.append((marks[-1], len(text) + 1))
    return spans
