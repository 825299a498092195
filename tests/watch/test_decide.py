"""Pure alert decisions: dedupe, mute, digest schedule, retry delays, near-duplicates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.demo_articles import COLOMBIA, SYNDICATED
from tests.watch.conftest import seed_drafts
from watchlists.decide import (
    Earlier,
    Signature,
    containment,
    dedupe_key,
    digest_due,
    disposition,
    is_muted,
    minhash,
    next_digest_at,
    parse_duration,
    retry_delay,
    similarity,
    story_key_for,
)

NOW = datetime(2025, 3, 24, 9, 0, tzinfo=UTC)


def test_dedupe_key() -> None:
    assert dedupe_key(3, 17) == "3:17" != dedupe_key(31, 7)


@pytest.mark.parametrize(("text", "seconds"), [("2h", 7200), ("30m", 1800), ("3d", 259200),
                                                ("1w", 604800), ("24h", 86400)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["0h", "2x", "h", "1000w", ""])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_mute_and_disposition() -> None:
    later = (NOW + timedelta(hours=1)).isoformat()
    earlier = (NOW - timedelta(hours=1)).isoformat()
    assert is_muted(later, NOW) and not is_muted(earlier, NOW) and not is_muted(None, NOW)
    assert disposition(muted_until=later, digest_time="08:00", now=NOW) == "muted"
    assert disposition(muted_until=earlier, digest_time="08:00", now=NOW) == "digest"
    assert disposition(muted_until=None, digest_time=None, now=NOW) == "pending"


def test_digest_schedule() -> None:
    assert next_digest_at("08:30", NOW) == datetime(2025, 3, 25, 8, 30, tzinfo=UTC)
    assert next_digest_at("10:00", NOW) == datetime(2025, 3, 24, 10, 0, tzinfo=UTC)
    assert not digest_due("10:00", NOW, NOW + timedelta(minutes=59))
    assert digest_due("10:00", NOW, NOW + timedelta(minutes=60))
    assert not digest_due("10:00", NOW.replace(hour=10), NOW.replace(hour=23))


def test_retry_delay_prefers_retry_after_then_backs_off() -> None:
    assert retry_delay(1, 7) == 7
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert retry_delay(30) == 900


def test_minhash_finds_another_outlets_copy_not_another_story() -> None:
    seeds = seed_drafts()
    sigs = [minhash(f"{d.title}\n{d.text}") for d in seeds]
    copy = minhash(f"{SYNDICATED[1]}\n{SYNDICATED[4]}")
    assert containment(copy, sigs[0]) >= 0.5
    for other in sigs[1:]:
        assert containment(copy, other) < 0.3
    for i, a in enumerate(sigs):
        for b in sigs[i + 1:]:
            assert containment(a, b) < 0.3, "distinct seed stories are not duplicates"
    assert similarity(sigs[0], sigs[0]) == 1.0
    assert Signature.from_json(copy.to_json()) == copy


def test_story_key() -> None:
    seeds = seed_drafts()
    first = minhash(f"{seeds[0].title}\n{seeds[0].text}")
    colombia = minhash(COLOMBIA[4])
    copy = minhash(f"{SYNDICATED[1]}\n{SYNDICATED[4]}")
    earlier = [Earlier(1, "article:1", first), Earlier(2, "article:2", colombia)]
    assert story_key_for(9, copy, earlier) == "article:1"
    assert story_key_for(9, minhash("an unrelated text about weather"), earlier) == "article:9"
    assert story_key_for(2, colombia, earlier) == "article:2"
