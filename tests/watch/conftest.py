"""Fixtures of the watch tests: real SQLite files, a fake clock, recording senders."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts import AlertView, DeliveryError, DigestView
from bot.ingest import ArticleDraft, bundled_corpus_files, ingest_drafts, read_file
from bot.store import Store


@pytest.fixture(autouse=True)
def _watch_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("WIREWATCH_", "SLACK_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WIREWATCH_DB", str(tmp_path / "env.db"))


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2025, 3, 24, 9, 0, tzinfo=UTC)
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)


@dataclass
class Post:
    channel: str
    view: AlertView | DigestView
    thread_ts: str | None
    at: datetime


@dataclass
class RecordingSender:
    """Records posts; ``failures`` are raised first, one per call."""

    clock: FakeClock
    failures: list[Exception] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    calls: int = 0

    def post(self, channel: str, view: AlertView | DigestView, thread_ts: str | None) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        self.posts.append(Post(channel, view, thread_ts, self.clock()))
        return f"ts.{len(self.posts)}"


def rate_limited(seconds: float = 1.0) -> DeliveryError:
    return DeliveryError("429 ratelimited", retry_after=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "watch.db"


@pytest.fixture
def wstore(db_file: Path) -> Iterator[Store]:
    s = Store(db_file)
    yield s
    s.close()


def seed_drafts() -> list[ArticleDraft]:
    return [read_file(p)[0][0] for p in bundled_corpus_files()]


def draft(title: str, text: str, source: str | None = None, url: str | None = None,
          date: str | None = None) -> ArticleDraft:
    return ArticleDraft(title=title, text=text, source=source, url=url, published=date)


def ingest(store: Store, drafts: list[ArticleDraft]) -> list[int]:
    return ingest_drafts(store, drafts).new_ids


@dataclass
class StaticAccess:
    """A ``bot.access.ChannelAccess`` with fixed answers: ``members[channel]`` (missing: the
    channel's members are unknown), ``bot_in`` (None: wirewatch can post everywhere)."""

    members: dict[str, set[str]] = field(default_factory=dict)
    bot_in: set[str] | None = None
    asked: list[tuple[str, ...]] = field(default_factory=list)

    def is_member(self, user: str, channel: str) -> bool | None:
        self.asked.append(("member", user, channel))
        found = self.members.get(channel)
        return None if found is None else user in found

    def bot_can_post(self, channel: str) -> bool | None:
        self.asked.append(("post", channel))
        return True if self.bot_in is None else channel in self.bot_in
