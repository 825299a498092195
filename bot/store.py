"""The SQLite store: the only module that runs SQL.

One ``Store`` wraps one connection (WAL mode, migrations applied on open).  Calls are
serialised by a re-entrant lock so threads (Slack listeners, the scheduler) can share it;
``transaction()`` groups writes atomically.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bot.schema import migrations

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
