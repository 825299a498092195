"""Pure alert decisions: dedupe key, mute, digest schedule, story threading (MinHash).

Nothing here touches storage or the network; the bot's alert pipeline calls these with
values it read from the store and the clock.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from watchlists.text import words

FOREVER = datetime(9999, 12, 31, tzinfo=UTC)

# -- dedupe -------------------------------------------------------------------------------------


def dedupe_key(watch_id: int, article_id: int) -> str:
    """One alert per (watch, article), ever: the store keeps this pair UNIQUE."""
    return f"{watch_id}:{article_id}"


# -- time ---------------------------------------------------------------------------------------


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_iso(text: str) -> datetime:
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


_DURATION = re.compile(r"^(\d{1,4})\s*([a-z]+)$")
_UNITS = {"m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
          "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
          "d": 86400, "day": 86400, "days": 86400, "w": 604800, "week": 604800,
          "weeks": 604800}
MAX_MUTE = timedelta(days=366)


def parse_duration(text: str) -> timedelta:
    """"2h", "30m", "3d", "1w" → a timedelta; ValueError otherwise."""
    m = _DURATION.match(text.strip().lower().replace(" ", ""))
    if not m or m.group(2) not in _UNITS or int(m.group(1)) == 0:
        raise ValueError(f"not a duration: {text!r}")
    delta = timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
    if delta > MAX_MUTE:
        raise ValueError("longer than a year")
    return delta


def is_muted(muted_until: str | None, now: datetime) -> bool:
    return bool(muted_until) and parse_iso(str(muted_until)) > now


# -- digests ------------------------------------------------------------------------------------


def parse_hhmm(text: str) -> tuple[int, int]:
    hh, _, mm = text.partition(":")
    hour, minute = int(hh), int(mm)
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ValueError(f"not a time: {text!r}")
    return hour, minute


def next_digest_at(digest_time: str, after: datetime) -> datetime:
    """The first daily digest moment (UTC) strictly after ``after``."""
    hour, minute = parse_hhmm(digest_time)
    after = after.astimezone(UTC)
    candidate = after.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate <= after:
        candidate += timedelta(days=1)
    return candidate


def digest_due(digest_time: str, last_sent: datetime, now: datetime) -> bool:
    """Whether a digest moment has come since the last digest (or since digests began)."""
    return next_digest_at(digest_time, last_sent) <= now


def disposition(*, muted_until: str | None, digest_time: str | None, now: datetime) -> str:
    """What a new alert of a watch becomes: "muted" (recorded, never posted), "digest"
    (posted in the next summary) or "pending" (posted as soon as possible)."""
    if is_muted(muted_until, now):
        return "muted"
    if digest_time:
        return "digest"
    return "pending"


def retry_delay(attempts: int, retry_after: float | None = None, *, cap: float = 900.0) -> float:
    """Seconds before the next delivery attempt: the server's Retry-After if it gave one,
    else exponential backoff (2, 4, 8, … seconds, capped)."""
    if retry_after is not None and retry_after >= 0:
        return min(float(retry_after), cap)
    return min(2.0 ** max(1, attempts), cap)


# -- near-duplicates ----------------------------------------------------------------------------

SHINGLE = 3
PERMUTATIONS = 128
NEAR_DUPLICATE = 0.5  # estimated containment of the shorter text in the longer one
_PRIME = (1 << 61) - 1
_rng = random.Random(20251123)  # fixed: signatures must be comparable across processes
_HASHES = tuple(
    (_rng.randrange(1, _PRIME), _rng.randrange(0, _PRIME)) for _ in range(PERMUTATIONS)
)


@dataclass(frozen=True)
class Signature:
    """A MinHash signature and the number of distinct shingles it summarises."""

    values: tuple[int, ...]
    size: int

    def to_json(self) -> str:
        return json.dumps({"n": self.size, "h": list(self.values)})

    @classmethod
    def from_json(cls, text: str) -> Signature:
        data = json.loads(text)
        return cls(values=tuple(int(v) for v in data["h"]), size=int(data["n"]))


def shingles(text: str, k: int = SHINGLE) -> set[int]:
    tokens = words(text)
    if len(tokens) < k:
        tokens = tokens + [""] * (k - len(tokens))
    out = set()
    for i in range(len(tokens) - k + 1):
        digest = hashlib.blake2b(" ".join(tokens[i : i + k]).encode(), digest_size=8).digest()
        out.add(int.from_bytes(digest, "big") % _PRIME)
    return out


def minhash(text: str) -> Signature:
    """A MinHash signature of the text's word shingles."""
    sh = shingles(text)
    values = tuple(min((a * x + b) % _PRIME for x in sh) for a, b in _HASHES)
    return Signature(values=values, size=len(sh))


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of the two shingle sets."""
    if not a.values or len(a.values) != len(b.values):
        return 0.0
    return sum(1 for x, y in zip(a.values, b.values, strict=True) if x == y) / len(a.values)


def containment(a: Signature, b: Signature) -> float:
    """Estimated share of the shorter text's shingles found in the other one: a shortened
    syndicated copy of a story is contained in the original even when Jaccard is low."""
    j = similarity(a, b)
    smaller = min(a.size, b.size)
    if smaller <= 0:
        return 0.0
    return min(1.0, j / (1 + j) * (a.size + b.size) / smaller)


@dataclass(frozen=True)
class Earlier:
    """An article already alerted in the channel, with its story key and signature."""

    article_id: int
    story_key: str
    signature: Signature


def story_key_for(
    article_id: int, signature: Signature, earlier: Iterable[Earlier],
    threshold: float = NEAR_DUPLICATE,
) -> str:
    """The story an article belongs to: that of the most similar earlier article when it is a
    near-duplicate (same story, another outlet), else a new story keyed by the article."""
    best: tuple[float, str] | None = None
    for e in earlier:
        if e.article_id == article_id:
            return e.story_key
        sim = containment(signature, e.signature)
        if sim >= threshold and (best is None or sim > best[0]):
            best = (sim, e.story_key)
    return best[1] if best else f"article:{article_id}"
