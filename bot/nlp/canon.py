"""Actor names: canonical keys, display names and the alias table.  Pure Python (no spaCy).

``canon_key("the U.S.’s")`` → ``"us"``; ``AliasTable.resolve(key)`` maps every known name
(aliases, capitals where they act, demonyms) to its actor's canonical key, name and type.
The table ships as ``bot/data/aliases.json``; users extend it with an ``aliases.json`` beside
the database (same format).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from bot.errors import ConfigError

ACTOR_LABELS = ("PERSON", "ORG", "GPE", "LOC", "NORP")

# Titles stripped from the front of a person's name ("President Nicolás Maduro").
TITLES = {
    "president", "vice", "secretary", "minister", "prime", "foreign", "deputy", "acting",
    "chief", "senator", "sen", "rep", "representative", "governor", "gov", "mayor", "general",
    "gen", "dr", "mr", "mrs", "ms", "miss", "sir", "dame", "judge", "justice", "ambassador",
    "envoy", "leader", "king", "queen", "pope", "commissioner", "director", "spokesman",
    "spokeswoman", "spokesperson", "negotiator", "top", "former", "then", "interim", "state",
    "homeland", "security", "of", "affairs", "defense", "defence", "attorney", "ceo", "head",
}
_LEADING_THE = re.compile(r"^(?:the)\s+", re.IGNORECASE)
_POSSESSIVE = re.compile(r"(?:['’]s|s['’]|['’])$", re.IGNORECASE)
_ACRONYM_DOTS = re.compile(r"\b((?:[A-Za-z]\.){2,})")


def fold(text: str) -> str:
    """Lower case, accents folded, typographic apostrophes made plain."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.replace("’", "'").replace("‘", "'").lower()


def clean_name(text: str, label: str | None = None) -> str:
    """The display form of a mention: no leading "the", no possessive, no person titles."""
    name = " ".join(text.replace("\n", " ").split())
    name = re.sub(r"^[^\w“\"']+|[^\w.)]+$", "", name).strip(" ,;:.-–—\"“”'‘’") or text.strip()
    if text.strip().endswith(".") and _ACRONYM_DOTS.search(text.strip() + " "):
        name = text.strip()  # keep "U.S."
    name = _LEADING_THE.sub("", name)
    name = _POSSESSIVE.sub("", name).strip()
    if label == "PERSON":
        words = name.split()
        while len(words) > 1 and fold(words[0]).strip(".") in TITLES:
            words.pop(0)
        name = " ".join(words)
    return name


def canon_key(text: str, label: str | None = None) -> str:
    """The key actors are merged by: folded, titles/"the"/possessive gone, dots dropped."""
    name = clean_name(text, label)
    name = _ACRONYM_DOTS.sub(lambda m: m.group(1).replace(".", ""), name + " ").strip()
    key = fold(name)
    key = re.sub(r"[^\w]+", " ", key).strip()
    key = re.sub(r"\b(\w)\s(?=\w\b)", r"\1", key)  # "u s" (from "U.S") → "us"
    return " ".join(key.split())


def demonym_key(key: str) -> str:
    """"venezuelans" and "venezuelan" share one key."""
    return key[:-1] if key.endswith("ns") or key.endswith("is") else key


@dataclass(frozen=True)
class KnownActor:
    key: str
    name: str
    type: str


@dataclass
class AliasTable:
    """Known names → actors.  ``acting`` names only apply where the name acts."""

    actors: dict[str, KnownActor] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # alias key → actor key
    acting: dict[str, str] = field(default_factory=dict)  # capital key → country key
    demonyms: dict[str, str] = field(default_factory=dict)  # demonym key → country key
    multiword: list[tuple[str, str]] = field(default_factory=list)  # (text, label) for the ruler

    def add(self, entry: dict[str, Any]) -> None:
        name = str(entry["name"]).strip()
        label = str(entry.get("type", "ORG")).upper()
        if not name or label not in ACTOR_LABELS:
            raise ConfigError(f"Alias entry {name!r}: type must be one of {ACTOR_LABELS}")
        key = canon_key(name)
        self.actors[key] = KnownActor(key, name, label)
        self.aliases[key] = key
        names = [name]
        for alias in entry.get("aliases", []) or []:
            self.aliases[canon_key(str(alias))] = key
            names.append(str(alias))
        for capital in entry.get("acting", []) or []:
            self.acting[canon_key(str(capital))] = key
        for demonym in entry.get("demonyms", []) or []:
            self.demonyms[demonym_key(canon_key(str(demonym)))] = key
        for text in names:
            words = _LEADING_THE.sub("", text).split()
            if len(words) >= 2:  # the ruler stays narrow: multi-word names only
                self.multiword.append((" ".join(words), label))

    def known(self, key: str) -> KnownActor | None:
        target = self.aliases.get(key)
        return self.actors.get(target) if target else None

    def label_for(self, key: str) -> str | None:
        """The label a mention with this key must carry, when the table knows it."""
        actor = self.known(key)
        if actor is not None:
            return actor.type
        if key in self.acting:
            return "GPE"
        if demonym_key(key) in self.demonyms:
            return "NORP"
        return None

    def extend_from(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"Cannot read the alias file {path}: {exc}") from None
        entries = data.get("actors", []) if isinstance(data, dict) else data
        if not isinstance(entries, list):
            raise ConfigError(f"The alias file {path} must hold a list of actors.")
        for entry in entries:
            if not isinstance(entry, dict) or "name" not in entry:
                raise ConfigError(f"The alias file {path} has an entry without a name.")
            self.add(entry)


def load_alias_table(extra: Path | None = None) -> AliasTable:
    """The shipped table, extended by ``extra`` when that file exists."""
    table = AliasTable()
    shipped = resources.files("bot") / "data" / "aliases.json"
    data = json.loads(shipped.read_text(encoding="utf-8"))
    for entry in data["actors"]:
        table.add(entry)
    if extra is not None and extra.is_file():
        table.extend_from(extra)
    return table


def user_alias_path(db_path: Path | str) -> Path | None:
    """Where users put their own aliases: ``aliases.json`` beside the database."""
    if str(db_path) == ":memory:":
        return None
    return Path(db_path).expanduser().parent / "aliases.json"
