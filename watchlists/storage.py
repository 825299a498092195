"""The storage the watch core needs, as a Protocol.  ``bot.store.Store`` implements it in
SQL (the only SQL module); tests may use any object with these methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from watchlists.decide import Earlier, Signature


@dataclass(frozen=True)
class WatchRecord:
    id: int
    channel: str
    query: str
    understood: str | None
    mode: str
    created_by: str | None
    created_at: str | None
    muted_until: str | None
    digest_time: str | None
    digest_last_sent: str | None
    active: bool
    broken: str | None = None  # why the watch was set aside (it cannot be checked); None: fine
    broken_at: str | None = None


@dataclass(frozen=True)
class AlertRecord:
    id: int
    watch_id: int
    article_id: int
    channel: str
    status: str  # pending | sent | muted | digest
    reason: str | None  # JSON: [{"label", "where": [...]}...]
    story_key: str | None
    thread_ts: str | None
    ts: str | None
    attempts: int
    created_at: str | None
    sent_at: str | None
    next_attempt_at: str | None
    error: str | None
    posting_at: str | None = None  # a post was started then; its outcome is unknown


class WatchStorage(Protocol):
    # watches
    def add_watch(self, *, channel: str, query: str, understood: str, mode: str,
                  created_by: str | None, created_at: str) -> int: ...

    def get_watch(self, watch_id: int) -> WatchRecord | None: ...

    def channel_watches(self, channel: str) -> list[WatchRecord]: ...

    def active_watches(self) -> list[WatchRecord]: ...

    def update_watch(self, watch_id: int, **fields: Any) -> None: ...

    def mark_watch_broken(self, watch_id: int, reason: str, notice: str, now: str) -> bool:
        """Set a watch aside (and record the one-time notice to its channel); False when it
        already was."""
        ...

    def watch_counts(self, watch_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """(alerts, not-relevant marks) per watch."""
        ...

    # alerts (the outbox)
    def insert_alert(self, *, watch_id: int, article_id: int, channel: str, status: str,
                     reason: str, story_key: str, created_at: str) -> int | None:
        """A new alert, or None when (watch_id, article_id) already has one."""
        ...

    def get_alert(self, alert_id: int) -> AlertRecord | None: ...

    def pending_alerts(self, now: str, limit: int = 100) -> list[AlertRecord]: ...

    def update_alert(self, alert_id: int, **fields: Any) -> None: ...

    def story_root(self, channel: str, story_key: str, before_id: int) -> AlertRecord | None:
        """The first alert of this story in the channel (posted or not), if earlier."""
        ...

    def digest_alerts(self, watch_id: int) -> list[AlertRecord]:
        """Alerts waiting for the watch's next digest."""
        ...

    # near-duplicate detection
    def save_signature(self, article_id: int, signature: Signature) -> None: ...

    def recent_signatures(self, channel: str, since: str, limit: int = 500) -> list[Earlier]: ...

    # feedback
    def add_feedback(self, *, watch_id: int, article_id: int, user: str | None,
                     created_at: str) -> bool: ...
