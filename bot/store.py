"""The SQLite store: the only module that runs SQL.

One ``Store`` wraps one connection (WAL mode, migrations applied on open).  Calls are
serialised by a re-entrant lock so threads (Slack listeners, the scheduler) can share it;
``transaction()`` groups writes atomically.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bot.schema import migrations
from watchlists.decide import Earlier, Signature
from watchlists.storage import AlertRecord, WatchRecord

# Private-use characters mark highlighted terms in snippets; renderers turn them into bold.
HL_START = "\ue000"
HL_END = "\ue001"

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)


def utcnow_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class ArticleRow:
    id: int
    url: str | None
    guid: str | None
    title: str
    text: str
    source: str | None
    author: str | None
    dateline: str | None
    published: str | None
    published_precision: str | None
    feed_id: int | None
    content_hash: str
    fetched_at: str
    origin: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ArticleRow:
        return cls(**{k: row.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]


@dataclass(frozen=True)
class SearchRow:
    article_id: int
    title: str
    snippet: str
    date: str | None
    source: str | None
    url: str | None
    score: float


def fts_query(text: str, *, any_term: bool = False) -> str | None:
    """Turn free user text into a safe FTS5 query: every word quoted, phrases kept.

    No user character ever reaches FTS5 syntax: words are reduced to letters and digits
    and wrapped in double quotes; "quoted phrases" become phrase queries.
    """
    parts: list[str] = []
    for phrase, bare in re.findall(r'"([^"]*)"|(\S+)', text[:2000]):
        words = _WORD.findall(phrase if phrase else bare)
        words = [w.replace("’", "'").replace('"', "") for w in words]
        if not words:
            continue
        if phrase:
            parts.append('"' + " ".join(words) + '"')
        else:
            parts.extend(f'"{w}"' for w in words)
        if len(parts) >= 32:
            break
    if not parts:
        return None
    return (" OR " if any_term else " ").join(parts)


def _trigram_phrase_ok(word: str) -> bool:
    """A word a trigram index can look up as a quoted phrase, giving what LIKE would give."""
    return len(word) >= 3 and not set(word) & set('"%_')


class Store:
    """Every SQL statement of wirewatch lives in this class."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self.db = Database(conn)
        self.lock = threading.RLock()
        with self.lock:
            if self.path != ":memory:":
                self.db.enable_wal()
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA busy_timeout=30000")
            self.db.execute("PRAGMA synchronous=NORMAL")
            migrations.apply(self.db)

    def close(self) -> None:
        with self.lock:
            self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All writes inside happen together or not at all (nested: savepoints)."""
        with self.lock, self.db.atomic():
            yield self

    # -- meta -------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self.lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
            return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.lock:
            self.db.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )

    def _update_row(
        self, table: str, allowed: frozenset[str] | set[str], row_id: int, fields: dict[str, Any]
    ) -> None:
        """UPDATE some columns of one row; column names come only from ``allowed``."""
        unknown = set(fields) - set(allowed)
        if unknown:
            raise ValueError(f"unknown {table} fields: {sorted(unknown)}")
        if not fields:
            return
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.lock:
            self.db.execute(f"UPDATE {table} SET {sets} WHERE id = ?", [*fields.values(), row_id])

    def integrity_check(self) -> str:
        with self.lock:
            return str(self.db.execute("PRAGMA integrity_check").fetchone()[0])

    # -- articles ---------------------------------------------------------------------------

    def count_articles(self) -> int:
        with self.lock:
            return int(self.db.execute("SELECT count(*) FROM articles").fetchone()[0])

    def find_article_id(
        self, *, url: str | None, guid: str | None, content_hash: str
    ) -> int | None:
        """The existing article with this identity: same url, else same guid, else same hash."""
        with self.lock:
            if url:
                row = self.db.execute("SELECT id FROM articles WHERE url = ?", [url]).fetchone()
                if row:
                    return int(row[0])
            if guid:
                row = self.db.execute(
                    "SELECT id FROM articles WHERE guid = ? AND content_hash = ?",
                    [guid, content_hash],
                ).fetchone()
                if row:
                    return int(row[0])
                if not url:
                    row = self.db.execute(
                        "SELECT id FROM articles WHERE guid = ? AND url IS NULL", [guid]
                    ).fetchone()
                    if row:
                        return int(row[0])
            row = self.db.execute(
                "SELECT id FROM articles WHERE content_hash = ?", [content_hash]
            ).fetchone()
            return int(row[0]) if row else None

    def insert_article(self, fields: dict[str, Any]) -> int:
        columns = [
            "url", "guid", "title", "text", "source", "author", "dateline", "published",
            "published_precision", "feed_id", "content_hash", "origin",
        ]
        values = [fields.get(c) for c in columns]
        with self.lock:
            cursor = self.db.execute(
                f"INSERT INTO articles({', '.join(columns)}, fetched_at) "
                f"VALUES ({', '.join('?' for _ in columns)}, ?)",
                [*values, fields.get("fetched_at") or utcnow_iso()],
            )
            return int(cursor.lastrowid or 0)

    def get_article(self, article_id: int) -> ArticleRow | None:
        with self.lock:
            rows = list(self.db.query("SELECT * FROM articles WHERE id = ?", [article_id]))
        return ArticleRow.from_row(rows[0]) if rows else None

    def article_ids(self) -> list[int]:
        with self.lock:
            return [int(r[0]) for r in self.db.execute("SELECT id FROM articles ORDER BY id")]

    def search(
        self, text: str, *, limit: int = 10, offset: int = 0
    ) -> tuple[int, list[SearchRow], bool]:
        """Full-text search ranked by BM25 (title weighs 4× the body).

        Returns (total, rows, broadened): when no article holds every word, the search is
        broadened to any word and ``broadened`` is True.
        """
        broadened = False
        for any_term in (False, True):
            query = fts_query(text, any_term=any_term)
            if query is None:
                return 0, [], False
            total = self._search_count(query)
            if total:
                broadened = any_term
                break
        else:
            return 0, [], False
        sql = f"""
            SELECT a.id, a.title, a.published, a.source, a.url,
                   snippet(articles_fts, 1, '{HL_START}', '{HL_END}', '…', 24) AS snip,
                   snippet(articles_fts, 0, '{HL_START}', '{HL_END}', '…', 24) AS tsnip,
                   bm25(articles_fts, 4.0, 1.0) AS rank
            FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
            WHERE articles_fts MATCH ?
            ORDER BY rank, a.id
            LIMIT ? OFFSET ?
        """
        with self.lock:
            rows = self.db.execute(sql, [query, limit, offset]).fetchall()
        results = []
        for aid, title, published, source, url, snip, tsnip, rank in rows:
            snippet = snip if HL_START in (snip or "") else (tsnip or snip or "")
            results.append(
                SearchRow(
                    article_id=int(aid),
                    title=title,
                    snippet=" ".join(str(snippet).split()),
                    date=published,
                    source=source,
                    url=url,
                    score=float(f"{-float(rank):.6g}"),
                )
            )
        return total, results, broadened

    def _search_count(self, query: str) -> int:
        with self.lock:
            row = self.db.execute(
                "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?", [query]
            ).fetchone()
        return int(row[0])

    # -- status -----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        tables = ["articles", "actors", "events", "quotes", "feeds", "watches", "alerts"]
        with self.lock:
            out = {
                t: int(self.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables
            }
            out["watches"] = int(
                self.db.execute("SELECT count(*) FROM watches WHERE active = 1").fetchone()[0]
            )
            out["alerts_pending"] = int(
                self.db.execute(
                    "SELECT count(*) FROM alerts WHERE status = 'pending'"
                ).fetchone()[0]
            )
        return out

    def feed_health(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(
                self.db.query(
                    "SELECT id, url, title, status, last_polled, next_check, error, "
                    "(SELECT count(*) FROM articles WHERE feed_id = feeds.id) AS articles "
                    "FROM feeds ORDER BY id"
                )
            )

    def last_poll(self) -> str | None:
        with self.lock:
            row = self.db.execute("SELECT max(last_polled) FROM feeds").fetchone()
        return None if row is None or row[0] is None else str(row[0])

    # -- slack ------------------------------------------------------------------------------

    def slack_remember_event(self, event_id: str, *, keep_hours: int = 48) -> bool:
        """Record a Slack ``event_id``; True the first time, False for a retried delivery.

        One atomic ``INSERT OR IGNORE``: of two concurrent deliveries exactly one wins.
        Rows older than ``keep_hours`` are pruned (Slack retries within minutes).
        """
        now = datetime.now(UTC).replace(microsecond=0)
        cutoff = (now - timedelta(hours=keep_hours)).isoformat()
        with self.lock, self.db.atomic():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO slack_events(event_id, received_at) VALUES (?, ?)",
                [event_id, now.isoformat()],
            )
            first = cursor.rowcount == 1
            if first:
                self.db.execute("DELETE FROM slack_events WHERE received_at < ?", [cutoff])
        return first

    def slack_reserve_signature(self, signature: str, *, now: float, keep: float) -> bool:
        """Reserve a verified request signature; False when it was accepted before (a replay).

        One atomic ``INSERT OR IGNORE``: of two concurrent copies exactly one wins.  Rows are
        kept ``keep`` seconds (until a replay would be refused for its timestamp anyway), and
        expired rows are pruned on the way.
        """
        with self.lock, self.db.atomic():
            self.db.execute("DELETE FROM slack_request_signatures WHERE expires_at < ?", [now])
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO slack_request_signatures(signature, expires_at) "
                "VALUES (?, ?)",
                [signature, now + keep],
            )
            return cursor.rowcount == 1

    def slack_release_signature(self, signature: str) -> None:
        """Forget a reserved signature (the request was not accepted after all)."""
        with self.lock, self.db.atomic():
            self.db.execute(
                "DELETE FROM slack_request_signatures WHERE signature = ?", [signature]
            )

    def slack_watches(
        self, channels: list[str] | None = None, *, created_by: str | None = None
    ) -> list[dict[str, Any]]:
        """Active watches, of ``channels`` only when given (None: every channel), and made by
        ``created_by`` only when given; ``paused_error``: the channel's delivery problem."""
        sql = (
            "SELECT w.id, w.channel, w.query, w.understood, w.muted_until, w.digest_time, "
            "w.created_by, w.broken, ca.error AS paused_error "
            "FROM watches w LEFT JOIN channel_access ca ON ca.channel = w.channel "
            "WHERE w.active = 1"
        )
        params: list[Any] = []
        if channels is not None:
            if not channels:
                return []
            sql += f" AND w.channel IN ({', '.join('?' for _ in channels)})"
            params = list(channels)
        if created_by is not None:
            sql += " AND w.created_by = ?"
            params.append(created_by)
        with self.lock:
            return list(self.db.query(sql + " ORDER BY w.channel, w.id", params))

    # -- channel access: channels where Slack refuses wirewatch's posts for good ------------

    def pause_channel(self, channel: str, error: str, at: str) -> None:
        with self.lock:
            self.db.execute(
                "INSERT INTO channel_access(channel, error, paused_at) VALUES (?, ?, ?) "
                "ON CONFLICT(channel) DO UPDATE SET error = excluded.error",
                [channel, error, at],
            )

    def resume_channel(self, channel: str) -> bool:
        """Forget the channel's delivery problem; True when there was one."""
        with self.lock:
            cursor = self.db.execute("DELETE FROM channel_access WHERE channel = ?", [channel])
            return cursor.rowcount > 0

    def paused_channels(self) -> dict[str, str]:
        """Paused channels and their Slack error."""
        with self.lock:
            return {str(c): str(e) for c, e in self.db.execute(
                "SELECT channel, error FROM channel_access").fetchall()}

    def channel_pause(self, channel: str) -> str | None:
        with self.lock:
            row = self.db.execute(
                "SELECT error FROM channel_access WHERE channel = ?", [channel]
            ).fetchone()
        return None if row is None else str(row[0])

    def slack_watch_channel(self, watch_id: int) -> str | None:
        """The channel a watch belongs to (App Home buttons carry only the watch ID)."""
        with self.lock:
            row = self.db.execute(
                "SELECT channel FROM watches WHERE id = ?", [watch_id]
            ).fetchone()
        return None if row is None else str(row[0])

    # -- feeds ------------------------------------------------------------------------------

    _FEED_COLUMNS = frozenset({
        "url", "title", "site_url", "status", "etag", "last_modified", "last_polled",
        "next_check", "error", "error_count", "added_at", "added_by", "channel",
        "ttl_seconds", "backfilled", "last_success", "disabled_at", "hold_until",
        "slow_count",
    })

    def add_feed(
        self,
        url: str,
        *,
        now: str,
        title: str | None = None,
        site_url: str | None = None,
        channel: str | None = None,
        added_by: str | None = None,
        status: str = "new",
        next_check: str | None = None,
    ) -> tuple[int, bool]:
        """Insert a feed (or find the one with this URL); returns (id, created)."""
        with self.transaction():
            row = self.db.execute("SELECT id FROM feeds WHERE url = ?", [url]).fetchone()
            if row is not None:
                feed_id, created = int(row[0]), False
            else:
                cursor = self.db.execute(
                    "INSERT INTO feeds(url, title, site_url, status, added_at, added_by, "
                    "channel, next_check, error_count, backfilled) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0)",
                    [url, title, site_url, status, now, added_by, channel, next_check or now],
                )
                feed_id, created = int(cursor.lastrowid or 0), True
            if channel:
                self.db.execute(
                    "INSERT OR IGNORE INTO feed_followers(feed_id, channel, added_at) "
                    "VALUES (?, ?, ?)",
                    [feed_id, channel, now],
                )
        return feed_id, created

    def get_feed(self, feed_id: int) -> dict[str, Any] | None:
        with self.lock:
            rows = list(self.db.query(
                "SELECT feeds.*, (SELECT count(*) FROM articles WHERE feed_id = feeds.id) "
                "AS articles FROM feeds WHERE id = ?", [feed_id],
            ))
        return rows[0] if rows else None

    def get_feed_by_url(self, url: str) -> dict[str, Any] | None:
        with self.lock:
            row = self.db.execute("SELECT id FROM feeds WHERE url = ?", [url]).fetchone()
        return None if row is None else self.get_feed(int(row[0]))

    def list_feeds(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.db.query(
                "SELECT feeds.*, (SELECT count(*) FROM articles WHERE feed_id = feeds.id) "
                "AS articles FROM feeds ORDER BY id"
            ))

    def due_feeds(self, now: str) -> list[dict[str, Any]]:
        """Feeds not disabled whose next check is at or before ``now`` (ISO 8601 UTC)."""
        with self.lock:
            return list(self.db.query(
                "SELECT * FROM feeds WHERE status != 'disabled' "
                "AND (next_check IS NULL OR next_check <= ?) ORDER BY next_check, id", [now],
            ))

    def active_feeds(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.db.query(
                "SELECT * FROM feeds WHERE status != 'disabled' ORDER BY id"
            ))

    def claim_manual_poll(self, channel: str, now: str, cutoff: str) -> str | None:
        """Record a manual `poll` from ``channel`` at ``now`` unless it polled after ``cutoff``.

        None when the poll may run (recorded atomically: of two at once, one wins); else the
        time of the poll that still holds the window.
        """
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO poll_requests(channel, last_at) VALUES (?, ?) "
                "ON CONFLICT(channel) DO UPDATE SET last_at = excluded.last_at "
                "WHERE poll_requests.last_at <= ?",
                [channel, now, cutoff],
            )
            if cursor.rowcount == 1:
                return None
            row = self.db.execute(
                "SELECT last_at FROM poll_requests WHERE channel = ?", [channel]
            ).fetchone()
        return str(row[0]) if row is not None else None

    def next_feed_check(self) -> str | None:
        with self.lock:
            row = self.db.execute(
                "SELECT min(next_check) FROM feeds WHERE status != 'disabled'"
            ).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def update_feed(self, feed_id: int, **fields: Any) -> None:
        unknown = set(fields) - self._FEED_COLUMNS
        if unknown:
            raise ValueError(f"unknown feed columns: {sorted(unknown)}")
        if not fields:
            return
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self.lock:
            self.db.execute(
                f"UPDATE feeds SET {assignments} WHERE id = ?", [*fields.values(), feed_id]
            )

    def remove_feed(self, feed_id: int) -> bool:
        """Delete a feed, its entry memory, followers and notices (its articles stay)."""
        with self.transaction():
            for table in ("feed_entries", "feed_followers", "feed_notices"):
                self.db.execute(f"DELETE FROM {table} WHERE feed_id = ?", [feed_id])
            cursor = self.db.execute("DELETE FROM feeds WHERE id = ?", [feed_id])
            return cursor.rowcount > 0

    def seen_entry_keys(self, feed_id: int, keys: list[str]) -> set[str]:
        seen: set[str] = set()
        with self.lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                marks = ", ".join("?" for _ in chunk)
                seen.update(
                    str(r[0]) for r in self.db.execute(
                        f"SELECT entry_key FROM feed_entries WHERE feed_id = ? "
                        f"AND entry_key IN ({marks})", [feed_id, *chunk],
                    )
                )
        return seen

    def record_entries(
        self,
        feed_id: int,
        entries: list[tuple[str, int | None]],
        now: str,
        *,
        alert_state: int = 0,
    ) -> None:
        """Remember entry keys as seen (first sighting wins).

        ``alert_state`` > 0 puts the article in the alert outbox (1 new, 2 backfill) until
        ``clear_alert_state`` says the alerting side has seen it.
        """
        with self.lock:
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO feed_entries(feed_id, entry_key, article_id, first_seen, "
                "alert_state) VALUES (?, ?, ?, ?, ?)",
                [(feed_id, key, article_id, now, alert_state) for key, article_id in entries],
            )

    def pending_alert_articles(self) -> dict[int, list[int]]:
        """Outbox: alert_state → article ids not yet handed to the alerting side."""
        with self.lock:
            rows = self.db.execute(
                "SELECT DISTINCT alert_state, article_id FROM feed_entries "
                "WHERE alert_state > 0 AND article_id IS NOT NULL ORDER BY article_id"
            ).fetchall()
        out: dict[int, list[int]] = {}
        for state, article_id in rows:
            ids = out.setdefault(int(state), [])
            if int(article_id) not in ids:
                ids.append(int(article_id))
        return out

    def clear_alert_state(self, article_ids: list[int]) -> None:
        with self.lock:
            for start in range(0, len(article_ids), 500):
                chunk = article_ids[start:start + 500]
                marks = ", ".join("?" for _ in chunk)
                self.db.execute(
                    f"UPDATE feed_entries SET alert_state = 0 WHERE alert_state > 0 "
                    f"AND article_id IN ({marks})", chunk,
                )

    def count_feed_entries(self, feed_id: int) -> int:
        with self.lock:
            return int(self.db.execute(
                "SELECT count(*) FROM feed_entries WHERE feed_id = ?", [feed_id]
            ).fetchone()[0])

    def feed_followers(self, feed_id: int) -> list[str]:
        with self.lock:
            rows = self.db.execute(
                "SELECT channel FROM feed_followers WHERE feed_id = ? "
                "UNION SELECT channel FROM feeds WHERE id = ? AND channel IS NOT NULL",
                [feed_id, feed_id],
            ).fetchall()
        return sorted(str(r[0]) for r in rows)

    def add_feed_notice(
        self, feed_id: int, channel: str, kind: str, text: str, now: str
    ) -> int | None:
        """Record a notice once per (feed, channel, kind); None when it already exists."""
        with self.lock:
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO feed_notices(feed_id, channel, kind, text, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [feed_id, channel, kind, text, now],
            )
            return int(cursor.lastrowid or 0) if cursor.rowcount else None

    def clear_feed_notices(self, feed_id: int, kind: str) -> None:
        with self.lock:
            self.db.execute(
                "DELETE FROM feed_notices WHERE feed_id = ? AND kind = ?", [feed_id, kind]
            )

    def pending_feed_notices(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.db.query(
                "SELECT * FROM feed_notices WHERE delivered_at IS NULL ORDER BY id"
            ))

    def mark_feed_notice_delivered(self, notice_id: int, now: str) -> None:
        with self.lock:
            self.db.execute(
                "UPDATE feed_notices SET delivered_at = ? WHERE id = ?", [now, notice_id]
            )

    # -- nlp ----------------------------------------------------------------------------------
    # Actors, mentions, roles, quotes and events written by bot.nlp.analyzer, read by lookups.

    def nlp_articles_to_analyse(self, version: int, limit: int = 500) -> list[ArticleRow]:
        """Articles not yet analysed by this NLP version (a backfill after upgrades)."""
        with self.lock:
            rows = list(
                self.db.query(
                    "SELECT * FROM articles WHERE coalesce(nlp_version, 0) < ? "
                    "AND coalesce(nlp_failed_version, 0) < ? ORDER BY id LIMIT ?",
                    [version, version, limit],
                )
            )
        return [ArticleRow.from_row(r) for r in rows]

    def nlp_clear_article(self, article_id: int) -> None:
        with self.lock:
            for table in ("mentions", "roles", "quotes", "events"):
                self.db.execute(f"DELETE FROM {table} WHERE article_id = ?", [article_id])

    def nlp_set_version(self, article_id: int, version: int) -> None:
        with self.lock:
            self.db.execute(
                "UPDATE articles SET nlp_version = ?, nlp_failed_version = NULL WHERE id = ?",
                [version, article_id],
            )

    def nlp_mark_failed(self, article_id: int, version: int) -> None:
        """This NLP version could not analyse the article: not retried until a newer one."""
        with self.lock:
            self.db.execute(
                "UPDATE articles SET nlp_failed_version = ? WHERE id = ?", [version, article_id]
            )

    def nlp_failed_count(self, version: int) -> int:
        """Articles this NLP version failed to analyse (stored without NLP)."""
        with self.lock:
            return int(
                self.db.execute(
                    "SELECT count(*) FROM articles WHERE coalesce(nlp_version, 0) < ? "
                    "AND coalesce(nlp_failed_version, 0) >= ?", [version, version]
                ).fetchone()[0]
            )

    def nlp_upsert_actor(self, key: str, name: str, type_: str, *, prefer_name: bool) -> int:
        """The actor with this key (created if new); ``prefer_name`` replaces its name."""
        with self.lock:
            row = self.db.execute(
                "SELECT id, name, type FROM actors WHERE key = ?", [key]
            ).fetchone()
            if row is None:
                cursor = self.db.execute(
                    "INSERT INTO actors(key, name, type, created_at) VALUES (?, ?, ?, ?)",
                    [key, name, type_, utcnow_iso()],
                )
                return int(cursor.lastrowid or 0)
            if prefer_name and name != row[1]:
                self.db.execute("UPDATE actors SET name = ? WHERE id = ?", [name, row[0]])
            if row[2] != type_ and type_ == "PERSON" and " " in key:  # a full name is a person
                self.db.execute("UPDATE actors SET type = ? WHERE id = ?", [type_, row[0]])
            return int(row[0])

    def nlp_actor_by_key(self, key: str) -> dict[str, Any] | None:
        with self.lock:
            rows = list(self.db.query("SELECT * FROM actors WHERE key = ?", [key]))
        return rows[0] if rows else None

    def nlp_people_with_surname(self, surname_key: str) -> list[dict[str, Any]]:
        """PERSON actors whose key ends with this surname ("maduro" → "nicolas maduro")."""
        pattern = f"% {surname_key}"
        if _trigram_phrase_ok(surname_key):
            # the trigram index gives the few keys containing the surname (no actor scan)
            sql = """
                SELECT a.* FROM actor_keys_fts k JOIN actors a ON a.id = k.rowid
                WHERE actor_keys_fts MATCH ? AND a.type = 'PERSON' AND a.key LIKE ?
                ORDER BY a.id
            """
            with self.lock:
                return list(self.db.query(sql, [f'"{surname_key}"', pattern]))
        with self.lock:
            return list(
                self.db.query(
                    "SELECT * FROM actors WHERE type = 'PERSON' AND key LIKE ? ORDER BY id",
                    [pattern],
                )
            )

    def nlp_add_alias(self, actor_id: int, alias: str, alias_key: str) -> None:
        with self.lock:
            self.db.execute(
                "INSERT OR IGNORE INTO actor_aliases(actor_id, alias, alias_key) VALUES (?, ?, ?)",
                [actor_id, alias, alias_key],
            )

    def nlp_insert_rows(self, table: str, rows: list[dict[str, Any]]) -> None:
        if table not in ("mentions", "roles", "quotes"):
            raise ValueError(table)
        if not rows:
            return
        columns = list(rows[0])
        sql = (
            f"INSERT INTO {table}({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})"
        )
        with self.lock:
            self.db.conn.executemany(sql, [[r.get(c) for c in columns] for r in rows])

    def nlp_insert_event(self, fields: dict[str, Any]) -> int:
        columns = list(fields)
        with self.lock:
            cursor = self.db.execute(
                f"INSERT INTO events({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})",
                [fields[c] for c in columns],
            )
            return int(cursor.lastrowid or 0)

    def nlp_set_event_group(self, event_id: int, group_id: int) -> None:
        with self.lock:
            self.db.execute("UPDATE events SET group_id = ? WHERE id = ?", [group_id, event_id])

    def nlp_event_group_candidates(self, event_id: int, window: int = 5000
                                   ) -> list[dict[str, Any]]:
        """The event and the events it could be grouped with, oldest first: among the latest
        ``window`` events of its type, those of the same article or sharing an actor with it
        (what ``same_event`` requires) — read through ``event_actors``, not the whole type."""
        sql = """
            WITH me AS (SELECT id, type, article_id FROM events WHERE id = :id),
            floor AS (SELECT coalesce(min(id), 0) AS id FROM (
                SELECT e.id FROM events e, me WHERE e.type = me.type
                ORDER BY e.id DESC LIMIT :window))
            SELECT e.* FROM events e, me, floor
            WHERE e.type = me.type AND e.id >= floor.id AND (
                e.id = me.id OR e.article_id = me.article_id OR e.id IN (
                    SELECT b.event_id FROM event_actors a
                    JOIN event_actors b ON b.actor_id = a.actor_id
                    WHERE a.event_id = me.id))
            ORDER BY e.id
        """
        with self.lock:
            return list(self.db.query(sql, {"id": event_id, "window": window}))

    def nlp_find_actors(self, key: str) -> list[dict[str, Any]]:
        """Actors whose key or one of whose aliases is ``key``, most mentioned first."""
        sql = """
            SELECT a.*, (SELECT coalesce(sum(n), 0) FROM actor_mention_texts t
                    WHERE t.actor_id = a.id) AS mentions
            FROM actors a
            WHERE a.key = ? OR a.id IN (SELECT actor_id FROM actor_aliases WHERE alias_key = ?)
            ORDER BY mentions DESC, a.id
        """
        with self.lock:
            return list(self.db.query(sql, [key, key]))

    def nlp_find_actors_by_word(self, word_key: str) -> list[dict[str, Any]]:
        """Actors one of whose name words is ``word_key`` (a surname alone, a first name)."""
        sql = """
            SELECT a.*, (SELECT coalesce(sum(n), 0) FROM actor_mention_texts t
                    WHERE t.actor_id = a.id) AS mentions
            FROM actors a
            WHERE ' ' || a.key || ' ' LIKE ? OR a.id IN (
                SELECT actor_id FROM actor_aliases WHERE ' ' || alias_key || ' ' LIKE ?)
            ORDER BY mentions DESC, a.id
        """
        pattern = f"% {word_key} %"
        if _trigram_phrase_ok(word_key):
            # the trigram indexes give the few keys containing the word; LIKE keeps the
            # whole-word ones, exactly as the scan above would
            sql = """
                SELECT a.*, (SELECT coalesce(sum(n), 0) FROM actor_mention_texts t
                        WHERE t.actor_id = a.id) AS mentions
                FROM actors a WHERE a.id IN (
                    SELECT x.id FROM actor_keys_fts k JOIN actors x ON x.id = k.rowid
                    WHERE actor_keys_fts MATCH ? AND ' ' || x.key || ' ' LIKE ?
                    UNION
                    SELECT al.actor_id FROM alias_keys_fts f
                    JOIN actor_aliases al ON al.rowid = f.rowid
                    WHERE alias_keys_fts MATCH ? AND ' ' || al.alias_key || ' ' LIKE ?)
                ORDER BY mentions DESC, a.id
            """
            phrase = f'"{word_key}"'
            with self.lock:
                return list(self.db.query(sql, [phrase, pattern, phrase, pattern]))
        with self.lock:
            return list(self.db.query(sql, [pattern, pattern]))

    def nlp_all_actors(self) -> list[dict[str, Any]]:
        sql = """
            SELECT a.id, a.key, a.name, a.type,
                   (SELECT coalesce(sum(n), 0) FROM actor_mention_texts t
                    WHERE t.actor_id = a.id) AS mentions
            FROM actors a ORDER BY mentions DESC, a.id
        """
        with self.lock:
            return list(self.db.query(sql))

    def nlp_actor(self, actor_id: int) -> dict[str, Any] | None:
        with self.lock:
            rows = list(self.db.query("SELECT * FROM actors WHERE id = ?", [actor_id]))
        return rows[0] if rows else None

    def nlp_actor_aliases(self, actor_id: int) -> list[str]:
        with self.lock:
            return [
                str(r[0])
                for r in self.db.execute(
                    "SELECT text FROM actor_mention_texts WHERE actor_id = ? AND n > 0 "
                    "UNION SELECT alias FROM actor_aliases WHERE actor_id = ?",
                    [actor_id, actor_id],
                )
            ]

    def nlp_actor_mention_count(self, actor_id: int) -> int:
        with self.lock:
            return int(
                self.db.execute(
                    "SELECT coalesce(sum(n), 0) FROM actor_mention_texts WHERE actor_id = ?",
                    [actor_id],
                ).fetchone()[0]
            )

    def nlp_related_actors(self, actor_id: int, limit: int = 8) -> list[dict[str, Any]]:
        """Actors mentioned in the same sentences, most often first."""
        sql = """
            SELECT a.name, p.n AS count FROM actor_pairs p JOIN actors a ON a.id = p.other_id
            WHERE p.actor_id = ? AND p.n > 0
            ORDER BY count DESC, a.name LIMIT ?
        """
        with self.lock:
            return list(self.db.query(sql, [actor_id, limit]))

    def nlp_event_rows(
        self, *, article_id: int | None = None, group_ids: list[int] | None = None
    ) -> list[dict[str, Any]]:
        where: list[str] = []
        params: list[Any] = []
        if article_id is not None:
            where.append("article_id = ?")
            params.append(article_id)
        if group_ids is not None:
            where.append(f"group_id IN ({', '.join('?' for _ in group_ids)})")
            params.extend(group_ids)
        sql = "SELECT * FROM events" + (" WHERE " + " AND ".join(where) if where else "")
        with self.lock:
            return list(self.db.query(sql + " ORDER BY id", params))

    def nlp_article_actors(self, article_id: int) -> list[dict[str, Any]]:
        sql = """
            SELECT a.id, a.name, a.type, count(*) AS mentions FROM mentions m
            JOIN actors a ON a.id = m.actor_id WHERE m.article_id = ?
            GROUP BY a.id ORDER BY min(coalesce(m.start, -1)), a.id
        """
        with self.lock:
            return list(self.db.query(sql, [article_id]))

    def nlp_article_quotes(self, article_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return list(
                self.db.query(
                    "SELECT q.*, a.name AS speaker FROM quotes q "
                    "LEFT JOIN actors a ON a.id = q.speaker_id "
                    "WHERE q.article_id = ? ORDER BY q.id",
                    [article_id],
                )
            )

    def nlp_article_meta(self, article_ids: list[int]) -> dict[int, dict[str, Any]]:
        if not article_ids:
            return {}
        marks = ", ".join("?" for _ in article_ids)
        with self.lock:
            rows = self.db.query(
                f"SELECT id, title, published, source, url FROM articles WHERE id IN ({marks})",
                article_ids,
            )
            return {int(r["id"]): r for r in rows}

    def nlp_analysed_count(self, version: int) -> int:
        with self.lock:
            return int(
                self.db.execute(
                    "SELECT count(*) FROM articles WHERE coalesce(nlp_version, 0) >= ?", [version]
                ).fetchone()[0]
            )

    def nlp_merge_actor(self, src: int, dst: int) -> None:
        """Fold actor ``src`` into ``dst``: mentions, roles, quotes, aliases and events follow."""
        if src == dst:
            return
        with self.lock, self.db.atomic():
            row = self.db.execute("SELECT name FROM actors WHERE id = ?", [src]).fetchone()
            new = self.db.execute("SELECT name FROM actors WHERE id = ?", [dst]).fetchone()
            if row is None or new is None:
                return
            old_name, new_name = str(row[0]), str(new[0])
            self.db.execute("UPDATE mentions SET actor_id = ? WHERE actor_id = ?", [dst, src])
            self.db.execute("UPDATE roles SET actor_id = ? WHERE actor_id = ?", [dst, src])
            self.db.execute("UPDATE quotes SET speaker_id = ? WHERE speaker_id = ?", [dst, src])
            self.db.execute(
                "INSERT OR IGNORE INTO actor_aliases(actor_id, alias, alias_key) "
                "SELECT ?, alias, alias_key FROM actor_aliases WHERE actor_id = ?", [dst, src]
            )
            self.db.execute("DELETE FROM actor_aliases WHERE actor_id = ?", [src])
            rows = self.db.execute(
                "SELECT id, actor_ids, actors, targets FROM events e WHERE EXISTS "
                "(SELECT 1 FROM json_each(e.actor_ids) j WHERE j.value = ?)", [src]
            ).fetchall()
            for event_id, ids_json, actors_json, targets_json in rows:
                ids: list[int] = []
                for i in json.loads(ids_json or "[]"):
                    i = dst if i == src else i
                    if i not in ids:
                        ids.append(i)

                def rename(names_json: str | None) -> str:
                    out: list[str] = []
                    for n in json.loads(names_json or "[]"):
                        n = new_name if n == old_name else n
                        if n not in out:
                            out.append(n)
                    return json.dumps(out, ensure_ascii=False)

                self.db.execute(
                    "UPDATE events SET actor_ids = ?, actors = ?, targets = ? WHERE id = ?",
                    [json.dumps(ids), rename(actors_json), rename(targets_json), event_id],
                )
            self.db.execute("DELETE FROM actors WHERE id = ?", [src])

    # -- watch --------------------------------------------------------------------------------
    # Implements ``watchlists.storage.WatchStorage`` (watches, the alert outbox, feedback,
    # near-duplicate signatures) plus the article facts the matcher reads.

    _WATCH_FIELDS = frozenset(
        {"understood", "mode", "muted_until", "digest_time", "digest_last_sent", "active"}
    )
    _ALERT_FIELDS = frozenset(
        {"status", "thread_ts", "ts", "attempts", "sent_at", "next_attempt_at", "error",
         "story_key", "posting_at"}
    )

    def add_watch(
        self, *, channel: str, query: str, understood: str, mode: str,
        created_by: str | None, created_at: str,
    ) -> int:
        with self.lock:
            cursor = self.db.execute(
                "INSERT INTO watches(channel, query, understood, mode, created_by, created_at, "
                "active) VALUES (?, ?, ?, ?, ?, ?, 1)",
                [channel, query, understood, mode, created_by, created_at],
            )
            return int(cursor.lastrowid or 0)

    def _watch(self, row: dict[str, Any]) -> WatchRecord:
        return WatchRecord(
            id=int(row["id"]), channel=row["channel"], query=row["query"],
            understood=row["understood"], mode=row["mode"] or "central",
            created_by=row["created_by"], created_at=row["created_at"],
            muted_until=row["muted_until"], digest_time=row["digest_time"],
            digest_last_sent=row["digest_last_sent"], active=bool(row["active"]),
            broken=row["broken"], broken_at=row["broken_at"],
        )

    def get_watch(self, watch_id: int) -> WatchRecord | None:
        with self.lock:
            rows = list(self.db.query("SELECT * FROM watches WHERE id = ?", [watch_id]))
        return self._watch(rows[0]) if rows else None

    def channel_watches(self, channel: str) -> list[WatchRecord]:
        with self.lock:
            rows = list(self.db.query(
                "SELECT * FROM watches WHERE channel = ? AND active = 1 ORDER BY id", [channel]
            ))
        return [self._watch(r) for r in rows]

    def active_watches(self) -> list[WatchRecord]:
        with self.lock:
            rows = list(self.db.query("SELECT * FROM watches WHERE active = 1 ORDER BY id"))
        return [self._watch(r) for r in rows]

    def update_watch(self, watch_id: int, **fields: Any) -> None:
        self._update_row("watches", self._WATCH_FIELDS, watch_id, fields)

    def mark_watch_broken(self, watch_id: int, reason: str, notice: str, now: str) -> bool:
        """Set a watch aside as broken (``reason``) and record the one-time ``notice`` for
        its channel, together; False (nothing changed) when it is already broken."""
        with self.transaction():
            cursor = self.db.execute(
                "UPDATE watches SET broken = ?, broken_at = ? WHERE id = ? AND broken IS NULL",
                [reason, now, watch_id],
            )
            if not cursor.rowcount:
                return False
            self.db.execute(
                "INSERT OR IGNORE INTO feed_notices(watch_id, channel, kind, text, created_at) "
                "SELECT id, channel, 'broken', ?, ? FROM watches WHERE id = ?",
                [notice, now, watch_id],
            )
            return True

    def pending_watch_notices(self) -> list[dict[str, Any]]:
        """Undelivered one-time notices about watches (``pending_feed_notices`` has them
        too: the Slack front end delivers both the same way)."""
        with self.lock:
            return list(self.db.query(
                "SELECT * FROM feed_notices WHERE watch_id IS NOT NULL "
                "AND delivered_at IS NULL ORDER BY id"
            ))

    def watch_counts(self, watch_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        out = {int(w): (0, 0) for w in watch_ids}
        if not out:
            return out
        marks = ", ".join("?" for _ in out)
        with self.lock:
            alerts = dict(self.db.execute(
                # alerts that never reached the channel (paused, failed, skipped) do not count
                f"SELECT watch_id, count(*) FROM alerts WHERE watch_id IN ({marks}) "
                "AND status NOT IN ('paused', 'failed', 'skipped') "
                "GROUP BY watch_id", list(out),
            ).fetchall())
            feedback = dict(self.db.execute(
                f"SELECT watch_id, count(*) FROM watch_feedback WHERE watch_id IN ({marks}) "
                "GROUP BY watch_id", list(out),
            ).fetchall())
        return {w: (int(alerts.get(w, 0)), int(feedback.get(w, 0))) for w in out}

    def insert_alert(
        self, *, watch_id: int, article_id: int, channel: str, status: str, reason: str,
        story_key: str, created_at: str,
    ) -> int | None:
        with self.lock:
            cursor = self.db.execute(
                "INSERT INTO alerts(watch_id, article_id, channel, status, reason, story_key, "
                "attempts, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?) "
                "ON CONFLICT(watch_id, article_id) DO NOTHING",
                [watch_id, article_id, channel, status, reason, story_key, created_at],
            )
            return int(cursor.lastrowid) if cursor.rowcount == 1 and cursor.lastrowid else None

    def _alert(self, row: dict[str, Any]) -> AlertRecord:
        return AlertRecord(
            id=int(row["id"]), watch_id=int(row["watch_id"]), article_id=int(row["article_id"]),
            channel=row["channel"], status=row["status"], reason=row["reason"],
            story_key=row["story_key"], thread_ts=row["thread_ts"], ts=row["ts"],
            attempts=int(row["attempts"] or 0), created_at=row["created_at"],
            sent_at=row["sent_at"], next_attempt_at=row["next_attempt_at"], error=row["error"],
            posting_at=row.get("posting_at"),
        )

    def get_alert(self, alert_id: int) -> AlertRecord | None:
        with self.lock:
            rows = list(self.db.query("SELECT * FROM alerts WHERE id = ?", [alert_id]))
        return self._alert(rows[0]) if rows else None

    def find_alert(self, watch_id: int, article_id: int) -> AlertRecord | None:
        with self.lock:
            rows = list(self.db.query(
                "SELECT * FROM alerts WHERE watch_id = ? AND article_id = ?",
                [watch_id, article_id],
            ))
        return self._alert(rows[0]) if rows else None

    def pending_alerts(self, now: str, limit: int = 100) -> list[AlertRecord]:
        with self.lock:
            rows = list(self.db.query(
                "SELECT * FROM alerts WHERE status = 'pending' "
                "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?",
                [now, limit],
            ))
        return [self._alert(r) for r in rows]

    def list_alerts(self, *, watch_id: int | None = None) -> list[AlertRecord]:
        with self.lock:
            if watch_id is None:
                rows = list(self.db.query("SELECT * FROM alerts ORDER BY id"))
            else:
                rows = list(self.db.query(
                    "SELECT * FROM alerts WHERE watch_id = ? ORDER BY id", [watch_id]
                ))
        return [self._alert(r) for r in rows]

    def update_alert(self, alert_id: int, **fields: Any) -> None:
        self._update_row("alerts", self._ALERT_FIELDS, alert_id, fields)

    def story_root(self, channel: str, story_key: str, before_id: int) -> AlertRecord | None:
        with self.lock:
            rows = list(self.db.query(
                "SELECT * FROM alerts WHERE channel = ? AND story_key = ? AND id < ? "
                "AND status IN ('pending', 'sent') ORDER BY id LIMIT 1",
                [channel, story_key, before_id],
            ))
        return self._alert(rows[0]) if rows else None

    def digest_alerts(self, watch_id: int) -> list[AlertRecord]:
        with self.lock:
            rows = list(self.db.query(
                "SELECT * FROM alerts WHERE watch_id = ? AND status = 'digest' "
                "AND sent_at IS NULL ORDER BY id", [watch_id],
            ))
        return [self._alert(r) for r in rows]

    def save_signature(self, article_id: int, signature: Signature) -> None:
        with self.lock:
            self.db.execute(
                "INSERT INTO article_signatures(article_id, signature) VALUES (?, ?) "
                "ON CONFLICT(article_id) DO NOTHING",
                [article_id, signature.to_json()],
            )

    def recent_signatures(self, channel: str, since: str, limit: int = 500) -> list[Earlier]:
        with self.lock:
            rows = self.db.execute(
                "SELECT s.article_id, "
                "(SELECT a2.story_key FROM alerts a2 WHERE a2.channel = ? "
                " AND a2.article_id = s.article_id ORDER BY a2.id LIMIT 1), s.signature "
                "FROM article_signatures s WHERE s.article_id IN "
                "(SELECT article_id FROM alerts WHERE channel = ? AND created_at >= ?) "
                "ORDER BY s.article_id DESC LIMIT ?",
                [channel, channel, since, limit],
            ).fetchall()
        return [
            Earlier(int(aid), str(key), Signature.from_json(sig)) for aid, key, sig in rows if key
        ]

    def add_feedback(
        self, *, watch_id: int, article_id: int, user: str | None, created_at: str
    ) -> bool:
        with self.lock:
            cursor = self.db.execute(
                "INSERT INTO watch_feedback(watch_id, article_id, user, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(watch_id, article_id) DO NOTHING",
                [watch_id, article_id, user, created_at],
            )
            return cursor.rowcount == 1

    def recent_article_ids(self, limit: int = 300) -> list[int]:
        with self.lock:
            return [int(r[0]) for r in self.db.execute(
                "SELECT id FROM articles ORDER BY COALESCE(published, fetched_at) DESC, id DESC "
                "LIMIT ?", [limit],
            )]

    def watch_article_facts(self, article_id: int) -> dict[str, Any]:
        """What the NLP stored about an article: analysed?, actors, places, event types, and
        the first event sentence (the "key event" of an alert)."""
        place_types = ("gpe", "loc", "location", "place", "country", "city", "fac")
        with self.lock:
            version = self.db.execute(
                "SELECT nlp_version FROM articles WHERE id = ?", [article_id]
            ).fetchone()
            named = self.db.execute(
                "SELECT a.name, lower(a.type) FROM mentions m "
                "JOIN actors a ON a.id = m.actor_id WHERE m.article_id = ? "
                "GROUP BY a.id ORDER BY count(*) DESC, min(m.id), a.name",
                [article_id],
            ).fetchall()
            events = self.db.execute(
                "SELECT type, place, origin, destination, sentence, date FROM events "
                "WHERE article_id = ? ORDER BY sentence_index, id", [article_id],
            ).fetchall()
        analysed = bool(version and version[0]) or bool(named) or bool(events)
        actors = [n for n, t in named if t not in place_types]
        places = [n for n, t in named if t in place_types]
        for _, place, origin, destination, _, _ in events:
            places.extend(p for p in (place, origin, destination) if p and p not in places)
        types = sorted({str(t) for t, *_ in events if t})
        key_event = None
        if events:
            etype, _, _, _, sentence, date = events[0]
            key_event = {"type": etype, "sentence": sentence, "date": date}
        return {
            "analysed": analysed, "actors": actors, "places": places, "event_types": types,
            "key_event": key_event,
        }

    # -- bench --
    # Helpers for ``benchmarks/`` only (growing an index, baselines); not used by the app.

    _BENCH_SKIP_TABLES = frozenset({"articles", "feed_entries", "alerts"})

    def _bench_columns(self, table: str) -> list[tuple[str, bool]]:
        """(column, is the rowid primary key) for each column of a table."""
        rows = self.db.execute(f"PRAGMA table_info([{table}])").fetchall()
        single_pk = sum(1 for r in rows if r[5]) == 1
        return [(str(r[1]), bool(r[5]) and single_pk and str(r[2]).upper() == "INTEGER")
                for r in rows]

    def bench_article_tables(self) -> list[str]:
        """Tables other than articles that hang off an article (an ``article_id`` column)."""
        with self.lock:
            names = [str(r[0]) for r in self.db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%_fts%' ORDER BY name"
            )]
            return [n for n in names if n not in self._BENCH_SKIP_TABLES
                    and any(c == "article_id" for c, _ in self._bench_columns(n))]

    def bench_replicate_articles(self, target: int) -> int:
        """Grow the store to ``target`` articles by copying the existing ones under new ids.

        Copy k of article ``id`` gets id ``id + k * max(id)``, a distinct url/guid/content hash,
        and copies of every row that hangs off it (mentions, events, quotes, roles…), so an
        index of any size can be had without re-running the NLP.  Returns the new count.
        """
        with self.lock, self.db.atomic():
            count, stride = self.db.execute(
                "SELECT count(*), coalesce(max(id), 0) FROM articles"
            ).fetchone()
            if count == 0:
                raise ValueError("nothing to replicate: the store has no articles")
            base = count
            art_cols = [c for c, _ in self._bench_columns("articles")]
            changed = {
                "id": "id + :off",
                "url": "CASE WHEN url IS NULL THEN NULL ELSE url || '#bench' || :k END",
                "guid": "CASE WHEN guid IS NULL THEN NULL ELSE guid || '#bench' || :k END",
                "content_hash": "content_hash || ':bench' || :k",
            }
            select_art = ", ".join(changed.get(c, c) for c in art_cols)
            children = []
            for table in self.bench_article_tables():
                keep = [c for c, pk in self._bench_columns(table) if not pk]
                expr = ", ".join("article_id + :off" if c == "article_id" else c for c in keep)
                children.append(
                    f"INSERT INTO [{table}] ({', '.join(keep)}) SELECT {expr} FROM [{table}] "
                    "WHERE article_id <= :stride "
                    "AND EXISTS (SELECT 1 FROM articles a "
                    f"WHERE a.id = [{table}].article_id + :off)"
                )
            k = 0
            while count < target:
                k += 1
                off = k * stride
                take = min(base, target - count)
                self.db.execute(
                    f"INSERT INTO articles ({', '.join(art_cols)}) SELECT {select_art} "
                    "FROM articles WHERE id <= :stride ORDER BY id LIMIT :take",
                    {"off": off, "k": k, "stride": stride, "take": take},
                )
                for sql in children:
                    self.db.execute(sql, {"off": off, "stride": stride})
                count += take
            return int(self.db.execute("SELECT count(*) FROM articles").fetchone()[0])

    def bench_search_unranked(self, text: str, *, limit: int = 10) -> list[int]:
        """Baseline: the same FTS query as ``search`` without BM25, snippets or the count."""
        query = fts_query(text)
        if query is None:
            return []
        with self.lock:
            return [int(r[0]) for r in self.db.execute(
                "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? LIMIT ?",
                [query, limit],
            )]

    def bench_search_like(self, text: str, *, limit: int = 10) -> tuple[int, list[int]]:
        """Baseline: a naive scan — every word as ``LIKE '%word%'`` on title or text."""
        words = _WORD.findall(text)[:8]
        if not words:
            return 0, []
        where = " AND ".join("(title LIKE ? OR text LIKE ?)" for _ in words)
        params: list[Any] = [p for w in words for p in (f"%{w}%", f"%{w}%")]
        with self.lock:
            ids = [int(r[0]) for r in self.db.execute(
                f"SELECT id FROM articles WHERE {where} ORDER BY id", params
            )]
        return len(ids), ids[:limit]

    # -- nlp lookups at scale --
    # Bounded, indexed reads for ``who`` and ``events`` over the tables migration m102 keeps
    # (actor_mention_texts, actor_articles, actor_pairs, event_actors, events_fts).

    def nlp_actor_article_page(self, actor_id: int, limit: int) -> list[dict[str, Any]]:
        """The ``limit`` oldest articles (undated last) mentioning or quoting the actor."""
        cols = "a.id, a.title, a.published AS date, a.source, a.url"
        with self.lock:
            rows = list(self.db.query(
                f"SELECT {cols} FROM actor_articles x JOIN articles a ON a.id = x.article_id "
                "WHERE x.actor_id = ? AND x.published IS NOT NULL "
                "ORDER BY x.published, x.article_id LIMIT ?", [actor_id, limit]))
            if len(rows) < limit:
                rows += list(self.db.query(
                    f"SELECT {cols} FROM actor_articles x JOIN articles a ON a.id = x.article_id "
                    "WHERE x.actor_id = ? AND x.published IS NULL "
                    "ORDER BY x.article_id LIMIT ?", [actor_id, limit - len(rows)]))
        return rows

    def nlp_actor_article_stats(self, actor_id: int) -> tuple[int, str | None, str | None]:
        """(articles mentioning or quoting the actor, first date, last date)."""
        with self.lock:
            row = self.db.execute(
                "SELECT count(*), min(published), max(published) FROM actor_articles "
                "WHERE actor_id = ?", [actor_id]).fetchone()
        return int(row[0]), row[1], row[2]

    def nlp_actor_distinct_roles(self, actor_id: int) -> list[dict[str, Any]]:
        """The first row of each distinct role of the actor, in row order."""
        with self.lock:
            return list(self.db.query(
                "SELECT role, date, article_id FROM roles WHERE id IN ("
                "SELECT min(id) FROM roles WHERE actor_id = ? GROUP BY role) ORDER BY id",
                [actor_id]))

    def nlp_actor_quote_page(self, actor_id: int, limit: int) -> list[dict[str, Any]]:
        """The actor's first ``limit`` quotes (in row order), with the speaker's name."""
        with self.lock:
            return list(self.db.query(
                "SELECT q.*, a.name AS speaker FROM quotes q "
                "LEFT JOIN actors a ON a.id = q.speaker_id "
                "WHERE q.speaker_id = ? ORDER BY q.id LIMIT ?", [actor_id, limit]))

    def nlp_actor_quote_count(self, actor_id: int) -> int:
        with self.lock:
            return int(self.db.execute(
                "SELECT count(*) FROM quotes WHERE speaker_id = ?", [actor_id]).fetchone()[0])

    @staticmethod
    def _nlp_event_where(
        actor_id: int | None, types: Sequence[str], words: Sequence[str],
        since: str | None, until: str | None,
    ) -> tuple[list[str], list[Any]]:
        """WHERE clauses over ``events e``: the actor's events, types (prefixes), words (in the
        type, sentence, actors, targets or place, as ``LIKE '%word%'``), date bounds (the
        first and last day they cover, YYYY-MM-DD)."""
        where: list[str] = []
        params: list[Any] = []
        if actor_id is not None:
            where.append("e.id IN (SELECT event_id FROM event_actors WHERE actor_id = ?)")
            params.append(actor_id)
        if types:
            where.append("(" + " OR ".join("e.type GLOB ?" for _ in types) + ")")
            params.extend(f"{t}*" for t in types)
        fts = [w for w in words if _trigram_phrase_ok(w) and w.isascii()]
        if fts:  # a trigram phrase finds exactly what LIKE '%word%' does (ASCII, 3+ chars)
            where.append("e.id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)")
            params.append(" AND ".join('"' + w + '"' for w in fts))
        for w in words:
            if w in fts:
                continue
            where.append(
                "(lower(e.type) LIKE ? OR lower(e.sentence) LIKE ? OR lower(e.actors) LIKE ? "
                "OR lower(e.targets) LIKE ? OR lower(coalesce(e.place, '')) LIKE ?)")
            params.extend([f"%{w}%"] * 5)
        # the first and last day the event's date (a day, a month or a year) covers
        if since:
            where.append("e.date IS NOT NULL AND (CASE WHEN length(e.date) >= 10 THEN "
                         "substr(e.date, 1, 10) WHEN length(e.date) = 7 THEN e.date || '-31' "
                         "ELSE substr(e.date, 1, 4) || '-12-31' END) >= ?")
            params.append(since)
        if until:
            where.append("e.date IS NOT NULL AND (CASE WHEN length(e.date) >= 10 THEN "
                         "substr(e.date, 1, 10) WHEN length(e.date) = 7 THEN e.date || '-01' "
                         "ELSE substr(e.date, 1, 4) || '-01-01' END) <= ?")
            params.append(until)
        return where, params

    def nlp_event_candidates(
        self, *, actor_id: int | None = None, types: Sequence[str] = (),
        words: Sequence[str] = (), since: str | None = None, until: str | None = None,
        by_date: bool = False, limit: int = 500,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` matching event rows: by id, or oldest first (undated last)."""
        where, params = self._nlp_event_where(actor_id, types, words, since, until)
        cond = " AND ".join(where) or "1"
        with self.lock:
            if not by_date:
                return list(self.db.query(
                    f"SELECT e.* FROM events e WHERE {cond} ORDER BY e.id LIMIT ?",
                    [*params, limit]))
            rows = list(self.db.query(
                f"SELECT e.* FROM events e WHERE {cond} AND e.date IS NOT NULL "
                "ORDER BY e.date, e.article_id, e.id LIMIT ?", [*params, limit]))
            if len(rows) < limit and not (since or until):
                rows += list(self.db.query(
                    f"SELECT e.* FROM events e WHERE {cond} AND e.date IS NULL "
                    "ORDER BY e.article_id, e.id LIMIT ?", [*params, limit - len(rows)]))
        return rows

    def nlp_event_row_count(
        self, *, actor_id: int | None = None, types: Sequence[str] = (),
        words: Sequence[str] = (), upto: int = 501,
    ) -> int:
        """How many event rows match, counting no further than ``upto``."""
        where, params = self._nlp_event_where(actor_id, types, words, None, None)
        cond = " AND ".join(where) or "1"
        with self.lock:
            return int(self.db.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM events e WHERE {cond} LIMIT ?)",
                [*params, upto]).fetchone()[0])

    def nlp_event_group_page(
        self, *, actor_id: int | None = None, types: Sequence[str] = (),
        words: Sequence[str] = (), since: str | None = None, until: str | None = None,
        limit: int = 200,
    ) -> tuple[list[int], list[dict[str, Any]], int]:
        """(the ids of the ``limit`` matching groups whose oldest matching row is the oldest,
        undated last; their root rows; how many groups match in all)."""
        where, params = self._nlp_event_where(actor_id, types, words, since, until)
        cond = " AND ".join(where) or "1"
        gids: list[int] = []
        seen: set[int] = set()
        with self.lock:
            # the groups in the order of their oldest matching row, read until there are
            # enough (an index gives the date order; only group ids are read)
            # ("+": with a filter, its index, not the date index's many undated rows)
            undated = "+e.date IS NULL" if where else "e.date IS NULL"
            for part in ("e.date IS NOT NULL ORDER BY e.date, e.article_id, e.id",
                         f"{undated} ORDER BY e.article_id, e.id"):
                cursor = self.db.execute(
                    f"SELECT coalesce(e.group_id, e.id) FROM events e WHERE {cond} AND {part}",
                    params)
                for (gid,) in cursor:
                    if gid not in seen:
                        seen.add(gid)
                        gids.append(int(gid))
                        if len(gids) >= limit:
                            break
                cursor.close()
                if len(gids) >= limit:
                    break
            total = len(gids) if len(gids) < limit else self.nlp_event_group_count(
                actor_id=actor_id, types=types, words=words, since=since, until=until)
            rows = list(self.db.query(
                "SELECT e.* FROM json_each(?) g JOIN events e ON e.id = g.value ORDER BY e.id",
                [json.dumps(gids)])) if gids else []
        return gids, rows, total

    def nlp_event_group_count(
        self, *, actor_id: int | None = None, types: Sequence[str] = (),
        words: Sequence[str] = (), since: str | None = None, until: str | None = None,
    ) -> int:
        """How many distinct events (groups of rows telling the same one) match."""
        where, params = self._nlp_event_where(actor_id, types, words, since, until)
        cond = " AND ".join(where) or "1"
        with self.lock:
            return int(self.db.execute(
                f"SELECT count(DISTINCT coalesce(e.group_id, e.id)) FROM events e WHERE {cond}",
                params).fetchone()[0])

    def nlp_actor_count(self) -> int:
        with self.lock:
            return int(self.db.execute("SELECT count(*) FROM actors").fetchone()[0])

    def nlp_actors_by_trigrams(self, grams: Sequence[str], limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` actors whose names share most of these trigrams, as
        ``nlp_all_actors`` rows (most mentioned first)."""
        if not grams:
            return []
        match = " OR ".join('"' + g.replace('"', '""') + '"' for g in grams)
        sql = """
            SELECT a.id, a.key, a.name, a.type,
                   (SELECT coalesce(sum(n), 0) FROM actor_mention_texts t
                    WHERE t.actor_id = a.id) AS mentions
            FROM actors a WHERE a.id IN (
                SELECT rowid FROM actor_names_fts WHERE actor_names_fts MATCH ?
                ORDER BY rank LIMIT ?)
            ORDER BY mentions DESC, a.id
        """
        with self.lock:
            return list(self.db.query(sql, [match, limit]))

    def nlp_most_mentioned_actors(self, limit: int) -> list[dict[str, Any]]:
        sql = """
            SELECT a.id, a.key, a.name, a.type, t.mentions FROM (
                SELECT actor_id, sum(n) AS mentions FROM actor_mention_texts
                GROUP BY actor_id ORDER BY mentions DESC, actor_id LIMIT ?) t
            JOIN actors a ON a.id = t.actor_id ORDER BY t.mentions DESC, a.id
        """
        with self.lock:
            return list(self.db.query(sql, [limit]))

    def nlp_event_group_sources(self, group_ids: Sequence[int]) -> dict[int, set[int]]:
        """Group id → the articles of every row of the group (from an index, however many)."""
        if not group_ids:
            return {}
        out: dict[int, set[int]] = {}
        with self.lock:
            for gid, article_id in self.db.execute(
                "SELECT e.group_id, e.article_id FROM json_each(?) g "
                "JOIN events e ON e.group_id = g.value", [json.dumps(sorted(set(group_ids)))]
            ):
                out.setdefault(int(gid), set()).add(int(article_id))
        return out

    def nlp_event_group_members(
        self, group_ids: Sequence[int], per_group: int
    ) -> list[dict[str, Any]]:
        """The first ``per_group`` rows (by id) of each group, ordered by id."""
        if not group_ids:
            return []
        with self.lock:
            return list(self.db.query(
                "SELECT e.* FROM json_each(?) g, events e WHERE e.id IN ("
                "SELECT y.id FROM events y WHERE y.group_id = g.value ORDER BY y.id LIMIT ?) "
                "ORDER BY e.id",
                [json.dumps(sorted(set(group_ids))), per_group]))

    # -- harden --------------------------------------------------------------------------------

    def alert_retry_heads(self, now: str) -> dict[str, int]:
        """Channel → the lowest id of its pending alerts that wait for a later retry: later
        alerts of that channel must wait too, or they would overtake it (order per channel)."""
        with self.lock:
            rows = self.db.execute(
                "SELECT channel, min(id) FROM alerts WHERE status = 'pending' "
                "AND next_attempt_at IS NOT NULL AND next_attempt_at > ? GROUP BY channel",
                [now],
            ).fetchall()
        return {str(channel): int(head) for channel, head in rows}
