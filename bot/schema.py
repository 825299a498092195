"""The database schema, created and upgraded by ordered sqlite-utils migrations.

Add a new migration at the end; never edit one that has shipped.  ``bot.store`` is the only
module that runs statements against these tables.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("wirewatch")


@migrations()
def m001_articles(db: Database) -> None:
    db.table("articles").create(
        {
            "id": int,
            "url": str,
            "guid": str,
            "title": str,
            "text": str,
            "source": str,
            "author": str,
            "dateline": str,
            "published": str,  # ISO 8601: YYYY-MM-DD, YYYY-MM or YYYY; NULL when unknown
            "published_precision": str,  # "day" | "month" | "year" | NULL
            "feed_id": int,
            "content_hash": str,
            "fetched_at": str,
            "origin": str,  # file path or feed entry key it came from
            "nlp_version": int,  # 0 = not yet analysed
        },
        pk="id",
        not_null={"title", "text", "content_hash", "fetched_at"},
        defaults={"nlp_version": 0},
    )
    db.execute("CREATE UNIQUE INDEX idx_articles_url ON articles(url) WHERE url IS NOT NULL")
    db.execute("CREATE INDEX idx_articles_guid ON articles(guid) WHERE guid IS NOT NULL")
    db.execute("CREATE UNIQUE INDEX idx_articles_hash ON articles(content_hash)")
    db.execute("CREATE INDEX idx_articles_published ON articles(published)")
    db.table("articles").enable_fts(
        ["title", "text"],
        fts_version="FTS5",
        tokenize="porter unicode61 remove_diacritics 2",
        create_triggers=True,
    )


@migrations()
def m002_intelligence(db: Database) -> None:
    db.table("actors").create(
        {"id": int, "key": str, "name": str, "type": str, "created_at": str},
        pk="id",
        not_null={"key", "name", "type"},
    )
    db.execute("CREATE UNIQUE INDEX idx_actors_key ON actors(key)")
    db.table("actor_aliases").create(
        {"actor_id": int, "alias": str, "alias_key": str},
        pk=("actor_id", "alias_key"),
        foreign_keys=[("actor_id", "actors", "id")],
    )
    db.execute("CREATE INDEX idx_aliases_key ON actor_aliases(alias_key)")
    db.table("mentions").create(
        {
            "id": int,
            "article_id": int,
            "actor_id": int,
            "text": str,
            "label": str,
            "start": int,
            "end": int,
            "sentence": int,
        },
        pk="id",
        foreign_keys=[("article_id", "articles", "id"), ("actor_id", "actors", "id")],
    )
    db.execute("CREATE INDEX idx_mentions_actor ON mentions(actor_id, article_id)")
    db.execute("CREATE INDEX idx_mentions_article ON mentions(article_id)")
    db.table("roles").create(
        {"id": int, "actor_id": int, "article_id": int, "role": str, "date": str},
        pk="id",
        foreign_keys=[("article_id", "articles", "id"), ("actor_id", "actors", "id")],
    )
    db.execute("CREATE INDEX idx_roles_actor ON roles(actor_id)")
    db.table("events").create(
        {
            "id": int,
            "article_id": int,
            "type": str,
            "cameo": str,
            "date": str,
            "date_precision": str,
            "date_text": str,
            "actors": str,  # JSON list of actor names
            "targets": str,  # JSON list of actor names
            "actor_ids": str,  # JSON list of actor ids
            "place": str,
            "origin": str,
            "destination": str,
            "via": str,
            "quantity": float,
            "quantity_text": str,
            "unit": str,
            "negated": int,
            "modality": str,  # "asserted" | "reported" | "planned" | "future" | ...
            "sentence": str,
            "sentence_index": int,
            "group_id": int,
        },
        pk="id",
        foreign_keys=[("article_id", "articles", "id")],
    )
    db.execute("CREATE INDEX idx_events_article ON events(article_id)")
    db.execute("CREATE INDEX idx_events_date ON events(date)")
    db.execute("CREATE INDEX idx_events_group ON events(group_id)")
    db.table("quotes").create(
        {
            "id": int,
            "article_id": int,
            "speaker_id": int,
            "speaker_text": str,
            "text": str,
            "sentence": str,
            "date": str,
        },
        pk="id",
        foreign_keys=[("article_id", "articles", "id")],
    )
    db.execute("CREATE INDEX idx_quotes_article ON quotes(article_id)")
    db.execute("CREATE INDEX idx_quotes_speaker ON quotes(speaker_id)")


@migrations()
def m003_feeds_watches_alerts(db: Database) -> None:
    db.table("feeds").create(
        {
            "id": int,
            "url": str,
            "title": str,
            "site_url": str,
            "status": str,  # "ok" | "failing" | "disabled" | "new"
            "etag": str,
            "last_modified": str,
            "last_polled": str,
            "next_check": str,
            "error": str,
            "error_count": int,
            "added_at": str,
            "added_by": str,
            "channel": str,
        },
        pk="id",
        not_null={"url", "status"},
        defaults={"status": "new", "error_count": 0},
    )
    db.execute("CREATE UNIQUE INDEX idx_feeds_url ON feeds(url)")
    db.table("feed_entries").create(
        {"feed_id": int, "entry_key": str, "article_id": int, "first_seen": str},
        pk=("feed_id", "entry_key"),
    )
    db.table("watches").create(
        {
            "id": int,
            "channel": str,
            "query": str,
            "understood": str,
            "mode": str,  # "central" | "any"
            "created_by": str,
            "created_at": str,
            "muted_until": str,
            "digest_time": str,
            "active": int,
        },
        pk="id",
        not_null={"channel", "query"},
        defaults={"active": 1, "mode": "central"},
    )
    db.execute("CREATE INDEX idx_watches_channel ON watches(channel)")
    db.table("alerts").create(
        {
            "id": int,
            "watch_id": int,
            "article_id": int,
            "channel": str,
            "status": str,  # "pending" | "sent" | "muted" | "digest" | "skipped"
            "reason": str,
            "story_key": str,
            "thread_ts": str,
            "ts": str,
            "attempts": int,
            "created_at": str,
            "sent_at": str,
        },
        pk="id",
        defaults={"status": "pending", "attempts": 0},
    )
    db.execute("CREATE UNIQUE INDEX idx_alerts_once ON alerts(watch_id, article_id)")
    db.execute("CREATE INDEX idx_alerts_status ON alerts(status)")
    db.table("slack_events").create({"event_id": str, "received_at": str}, pk="event_id")
    db.table("meta").create({"key": str, "value": str}, pk="key")


# -- feeds (m2xx) ---------------------------------------------------------------------------


@migrations()
def m201_feeds_schedule(db: Database) -> None:
    feeds = db.table("feeds")
    feeds.add_column("ttl_seconds", int)  # the feed's own <ttl>, in seconds
    feeds.add_column("backfilled", int, not_null_default=0)  # 1 after the first good poll
    feeds.add_column("last_success", str)
    feeds.add_column("disabled_at", str)
    db.execute("CREATE INDEX idx_feeds_next_check ON feeds(next_check)")
    # alert outbox: 1 = a new article not yet handed to on_new_articles, 2 = same, backfill
    db.table("feed_entries").add_column("alert_state", int, not_null_default=0)
    db.execute(
        "CREATE INDEX idx_feed_entries_pending ON feed_entries(alert_state) WHERE alert_state > 0"
    )
    db.table("feed_followers").create(
        {"feed_id": int, "channel": str, "added_at": str},
        pk=("feed_id", "channel"),
    )
    db.table("feed_notices").create(
        {
            "id": int,
            "feed_id": int,
            "channel": str,
            "kind": str,  # "disabled"
            "text": str,
            "created_at": str,
            "delivered_at": str,
        },
        pk="id",
        not_null={"feed_id", "channel", "kind", "text"},
    )
    db.execute(
        "CREATE UNIQUE INDEX idx_feed_notices_once ON feed_notices(feed_id, channel, kind)"
    )


# -- watch (m3xx) ---------------------------------------------------------------------------


@migrations()
def m301_watch_alert_outbox(db: Database) -> None:
    alerts = db.table("alerts")
    alerts.add_column("next_attempt_at", str)  # delivery retry time (outbox); NULL = now
    alerts.add_column("error", str)  # last delivery error
    db.execute("CREATE INDEX idx_alerts_story ON alerts(channel, story_key)")
    db.execute("CREATE INDEX idx_alerts_watch ON alerts(watch_id, status)")
    watches = db.table("watches")
    watches.add_column("digest_last_sent", str)  # digests cover alerts since this moment
    db.table("watch_feedback").create(
        {
            "id": int,
            "watch_id": int,
            "article_id": int,
            "user": str,
            "created_at": str,
        },
        pk="id",
        not_null={"watch_id", "article_id"},
    )
    db.execute(
        "CREATE UNIQUE INDEX idx_watch_feedback_once ON watch_feedback(watch_id, article_id)"
    )
    db.table("article_signatures").create(
        {"article_id": int, "signature": str},  # MinHash signature, JSON list of ints
        pk="article_id",
    )


# -- nlp (m1xx) -----------------------------------------------------------------------------


@migrations()
def m101_nlp_failed_analysis(db: Database) -> None:
    # the NLP version whose analysis of the article failed (stored without NLP, nlp_version
    # left as it was): the start-up backfill does not retry it until NLP_VERSION changes
    db.table("articles").add_column("nlp_failed_version", int)

# -- harden (m8xx) ----------------------------------------------------------------------------


@migrations()
def m801_harden_alert_posting(db: Database) -> None:
    # set just before an alert is handed to the sender: if the process dies (or the request
    # times out) before the result is recorded, the next attempt first asks Slack whether
    # the post went through instead of posting blind (no doubled alert after a crash)
    db.table("alerts").add_column("posting_at", str)


# -- nlp lookups at scale (m102) ---------------------------------------------------------------
# Tables derived from mentions, quotes and events, kept exact by triggers whatever writes the
# base rows (ingestion, re-analysis, actor merges, benchmark replication), so that ``who`` and
# ``events`` read a few index entries instead of every row of a popular actor.

_M102_MENTION_IN = """
    INSERT INTO actor_mention_texts(actor_id, text, n)
        SELECT {r}.actor_id, coalesce({r}.text, ''), 1 WHERE {r}.actor_id IS NOT NULL
        ON CONFLICT(actor_id, text) DO UPDATE SET n = n + 1;
    INSERT OR IGNORE INTO actor_articles(actor_id, article_id, published)
        SELECT {r}.actor_id, {r}.article_id,
               (SELECT published FROM articles WHERE id = {r}.article_id)
        WHERE {r}.actor_id IS NOT NULL;
    INSERT INTO actor_pairs(actor_id, other_id, n)
        SELECT {r}.actor_id, m.actor_id, 1 FROM mentions m
        WHERE m.article_id = {r}.article_id AND m.sentence = {r}.sentence
          AND m.actor_id != {r}.actor_id AND m.id != {r}.id
        ON CONFLICT(actor_id, other_id) DO UPDATE SET n = n + 1;
    INSERT INTO actor_pairs(actor_id, other_id, n)
        SELECT m.actor_id, {r}.actor_id, 1 FROM mentions m
        WHERE m.article_id = {r}.article_id AND m.sentence = {r}.sentence
          AND m.actor_id != {r}.actor_id AND m.id != {r}.id
        ON CONFLICT(actor_id, other_id) DO UPDATE SET n = n + 1;
"""
_M102_MENTION_OUT = """
    UPDATE actor_mention_texts SET n = n - 1
        WHERE actor_id = {r}.actor_id AND text = coalesce({r}.text, '');
    DELETE FROM actor_articles WHERE actor_id = {r}.actor_id AND article_id = {r}.article_id
        AND NOT EXISTS (SELECT 1 FROM mentions WHERE actor_id = {r}.actor_id
                        AND article_id = {r}.article_id AND id != {r}.id)
        AND NOT EXISTS (SELECT 1 FROM quotes WHERE speaker_id = {r}.actor_id
                        AND article_id = {r}.article_id);
    UPDATE actor_pairs SET n = n - (
            SELECT count(*) FROM mentions m WHERE m.article_id = {r}.article_id
            AND m.sentence = {r}.sentence AND m.actor_id = actor_pairs.other_id
            AND m.id != {r}.id)
        WHERE actor_id = {r}.actor_id AND other_id IN (
            SELECT m.actor_id FROM mentions m WHERE m.article_id = {r}.article_id
            AND m.sentence = {r}.sentence AND m.actor_id != {r}.actor_id AND m.id != {r}.id);
    UPDATE actor_pairs SET n = n - (
            SELECT count(*) FROM mentions m WHERE m.article_id = {r}.article_id
            AND m.sentence = {r}.sentence AND m.actor_id = actor_pairs.actor_id
            AND m.id != {r}.id)
        WHERE other_id = {r}.actor_id AND actor_id IN (
            SELECT m.actor_id FROM mentions m WHERE m.article_id = {r}.article_id
            AND m.sentence = {r}.sentence AND m.actor_id != {r}.actor_id AND m.id != {r}.id);
"""
_M102_QUOTE_IN = """
    INSERT OR IGNORE INTO actor_articles(actor_id, article_id, published)
        SELECT {r}.speaker_id, {r}.article_id,
               (SELECT published FROM articles WHERE id = {r}.article_id)
        WHERE {r}.speaker_id IS NOT NULL;
"""
_M102_QUOTE_OUT = """
    DELETE FROM actor_articles WHERE actor_id = {r}.speaker_id AND article_id = {r}.article_id
        AND NOT EXISTS (SELECT 1 FROM mentions WHERE actor_id = {r}.speaker_id
                        AND article_id = {r}.article_id)
        AND NOT EXISTS (SELECT 1 FROM quotes WHERE speaker_id = {r}.speaker_id
                        AND article_id = {r}.article_id AND id != {r}.id);
"""
_M102_EVENT_IN = """
    INSERT OR IGNORE INTO event_actors(actor_id, event_id)
        SELECT CAST(j.value AS INTEGER), {r}.id FROM json_each(
            CASE WHEN json_valid({r}.actor_ids) THEN {r}.actor_ids ELSE '[]' END) j
        WHERE j.type = 'integer';
    INSERT INTO events_fts(rowid, type, sentence, actors, targets, place)
        VALUES ({r}.id, {r}.type, {r}.sentence, {r}.actors, {r}.targets, {r}.place);
"""
_M102_EVENT_OUT = """
    DELETE FROM event_actors WHERE event_id = {r}.id;
    INSERT INTO events_fts(events_fts, rowid, type, sentence, actors, targets, place)
        VALUES ('delete', {r}.id, {r}.type, {r}.sentence, {r}.actors, {r}.targets, {r}.place);
"""


def _m102_trigger(db: Database, name: str, when: str, body: str) -> None:
    db.execute(f"CREATE TRIGGER {name} {when} BEGIN {body} END")


@migrations()
def m102_nlp_lookup_indexes(db: Database) -> None:
    # indexes the lookups' queries seek on
    db.execute("CREATE INDEX idx_mentions_sentence ON mentions(article_id, sentence, actor_id)")
    db.execute("CREATE INDEX idx_quotes_speaker_article ON quotes(speaker_id, article_id)")
    db.execute("CREATE INDEX idx_events_type ON events(type, date, article_id, group_id)")
    db.execute("CREATE INDEX idx_roles_actor_role ON roles(actor_id, role)")
    db.execute("CREATE INDEX idx_events_group_article ON events(group_id, article_id)")
    # per actor: each distinct mention text with its count (aliases; mentions = their sum)
    db.execute(
        "CREATE TABLE actor_mention_texts (actor_id INTEGER NOT NULL, text TEXT NOT NULL, "
        "n INTEGER NOT NULL, PRIMARY KEY (actor_id, text)) WITHOUT ROWID"
    )
    # per actor: the articles mentioning or quoting it, with their date (counts, first/last
    # seen and the oldest articles from one index)
    db.execute(
        "CREATE TABLE actor_articles (actor_id INTEGER NOT NULL, article_id INTEGER NOT NULL, "
        "published TEXT, PRIMARY KEY (actor_id, article_id)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX idx_actor_articles_date ON actor_articles(actor_id, published)")
    db.execute("CREATE INDEX idx_actor_articles_article ON actor_articles(article_id)")
    # per pair of actors: how often they are mentioned in the same sentence (related actors)
    db.execute(
        "CREATE TABLE actor_pairs (actor_id INTEGER NOT NULL, other_id INTEGER NOT NULL, "
        "n INTEGER NOT NULL, PRIMARY KEY (actor_id, other_id)) WITHOUT ROWID"
    )
    # per actor: the events it takes part in (events.actor_ids, a JSON list, unrolled)
    db.execute(
        "CREATE TABLE event_actors (actor_id INTEGER NOT NULL, event_id INTEGER NOT NULL, "
        "PRIMARY KEY (actor_id, event_id)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX idx_event_actors_event ON event_actors(event_id)")
    # substring search over events (exactly what LIKE '%word%' finds, for words of 3+ chars)
    db.execute(
        "CREATE VIRTUAL TABLE events_fts USING fts5(type, sentence, actors, targets, place, "
        "content='events', content_rowid='id', tokenize='trigram')"
    )

    db.execute(
        "INSERT INTO actor_mention_texts(actor_id, text, n) "
        "SELECT actor_id, coalesce(text, ''), count(*) FROM mentions "
        "WHERE actor_id IS NOT NULL GROUP BY actor_id, coalesce(text, '')"
    )
    db.execute(
        "INSERT OR IGNORE INTO actor_articles(actor_id, article_id, published) "
        "SELECT x.actor_id, x.article_id, a.published FROM ("
        "  SELECT actor_id, article_id FROM mentions WHERE actor_id IS NOT NULL "
        "  UNION SELECT speaker_id, article_id FROM quotes WHERE speaker_id IS NOT NULL"
        ") x JOIN articles a ON a.id = x.article_id"
    )
    db.execute(
        "INSERT INTO actor_pairs(actor_id, other_id, n) "
        "SELECT m1.actor_id, m2.actor_id, count(*) FROM mentions m1 "
        "JOIN mentions m2 ON m2.article_id = m1.article_id AND m2.sentence = m1.sentence "
        "AND m2.actor_id != m1.actor_id GROUP BY m1.actor_id, m2.actor_id"
    )
    db.execute(
        "INSERT OR IGNORE INTO event_actors(actor_id, event_id) "
        "SELECT CAST(j.value AS INTEGER), e.id FROM events e, json_each("
        "CASE WHEN json_valid(e.actor_ids) THEN e.actor_ids ELSE '[]' END) j "
        "WHERE j.type = 'integer'"
    )
    db.execute("INSERT INTO events_fts(events_fts) VALUES ('rebuild')")
    # actor names by trigram: "did you mean" candidates without reading every actor
    db.execute(
        "CREATE VIRTUAL TABLE actor_names_fts USING fts5(name, content='actors', "
        "content_rowid='id', tokenize='trigram')"
    )
    db.execute("INSERT INTO actor_names_fts(actor_names_fts) VALUES ('rebuild')")

    new, old = "NEW", "OLD"
    _m102_trigger(db, "trg_m102_mentions_ins", "AFTER INSERT ON mentions",
                  _M102_MENTION_IN.format(r=new))
    _m102_trigger(db, "trg_m102_mentions_del", "AFTER DELETE ON mentions",
                  _M102_MENTION_OUT.format(r=old))
    _m102_trigger(db, "trg_m102_mentions_upd",
                  "AFTER UPDATE OF actor_id, article_id, sentence, text ON mentions",
                  _M102_MENTION_OUT.format(r=old) + _M102_MENTION_IN.format(r=new))
    _m102_trigger(db, "trg_m102_quotes_ins", "AFTER INSERT ON quotes",
                  _M102_QUOTE_IN.format(r=new))
    _m102_trigger(db, "trg_m102_quotes_del", "AFTER DELETE ON quotes",
                  _M102_QUOTE_OUT.format(r=old))
    _m102_trigger(db, "trg_m102_quotes_upd", "AFTER UPDATE OF speaker_id, article_id ON quotes",
                  _M102_QUOTE_OUT.format(r=old) + _M102_QUOTE_IN.format(r=new))
    _m102_trigger(db, "trg_m102_articles_date", "AFTER UPDATE OF published ON articles",
                  "UPDATE actor_articles SET published = NEW.published "
                  "WHERE article_id = NEW.id;")
    _m102_trigger(db, "trg_m102_events_ins", "AFTER INSERT ON events",
                  _M102_EVENT_IN.format(r=new))
    _m102_trigger(db, "trg_m102_events_del", "AFTER DELETE ON events",
                  _M102_EVENT_OUT.format(r=old))
    _m102_trigger(db, "trg_m102_events_upd",
                  "AFTER UPDATE OF actor_ids, type, sentence, actors, targets, place ON events",
                  _M102_EVENT_OUT.format(r=old) + _M102_EVENT_IN.format(r=new))
    _m102_trigger(db, "trg_m102_actors_del", "AFTER DELETE ON actors",
                  "DELETE FROM actor_mention_texts WHERE actor_id = OLD.id AND n <= 0; "
                  "DELETE FROM actor_pairs WHERE actor_id = OLD.id AND n <= 0; "
                  "INSERT INTO actor_names_fts(actor_names_fts, rowid, name) "
                  "VALUES ('delete', OLD.id, OLD.name);")
    _m102_trigger(db, "trg_m102_actors_ins", "AFTER INSERT ON actors",
                  "INSERT INTO actor_names_fts(rowid, name) VALUES (NEW.id, NEW.name);")
    _m102_trigger(db, "trg_m102_actors_name", "AFTER UPDATE OF name ON actors",
                  "INSERT INTO actor_names_fts(actor_names_fts, rowid, name) "
                  "VALUES ('delete', OLD.id, OLD.name); "
                  "INSERT INTO actor_names_fts(rowid, name) VALUES (NEW.id, NEW.name);")


@migrations()
def m103_nlp_actor_word_index(db: Database) -> None:
    # actor keys and alias keys by trigram: finding actors by one name word ("who Jorge")
    # reads the few that contain it instead of every actor and alias
    db.execute(
        "CREATE VIRTUAL TABLE actor_keys_fts USING fts5(key, content='actors', "
        "content_rowid='id', tokenize='trigram')"
    )
    db.execute("INSERT INTO actor_keys_fts(actor_keys_fts) VALUES ('rebuild')")
    db.execute(  # actor_aliases has no INTEGER PRIMARY KEY: its rowid (stable without VACUUM)
        "CREATE VIRTUAL TABLE alias_keys_fts USING fts5(alias_key, content='actor_aliases', "
        "content_rowid='rowid', tokenize='trigram')"
    )
    db.execute("INSERT INTO alias_keys_fts(alias_keys_fts) VALUES ('rebuild')")
    _m102_trigger(db, "trg_m103_actors_ins", "AFTER INSERT ON actors",
                  "INSERT INTO actor_keys_fts(rowid, key) VALUES (NEW.id, NEW.key);")
    _m102_trigger(db, "trg_m103_actors_del", "AFTER DELETE ON actors",
                  "INSERT INTO actor_keys_fts(actor_keys_fts, rowid, key) "
                  "VALUES ('delete', OLD.id, OLD.key);")
    _m102_trigger(db, "trg_m103_actors_key", "AFTER UPDATE OF key ON actors",
                  "INSERT INTO actor_keys_fts(actor_keys_fts, rowid, key) "
                  "VALUES ('delete', OLD.id, OLD.key); "
                  "INSERT INTO actor_keys_fts(rowid, key) VALUES (NEW.id, NEW.key);")
    _m102_trigger(db, "trg_m103_aliases_ins", "AFTER INSERT ON actor_aliases",
                  "INSERT INTO alias_keys_fts(rowid, alias_key) "
                  "VALUES (NEW.rowid, NEW.alias_key);")
    _m102_trigger(db, "trg_m103_aliases_del", "AFTER DELETE ON actor_aliases",
                  "INSERT INTO alias_keys_fts(alias_keys_fts, rowid, alias_key) "
                  "VALUES ('delete', OLD.rowid, OLD.alias_key);")
    _m102_trigger(db, "trg_m103_aliases_key", "AFTER UPDATE OF alias_key ON actor_aliases",
                  "INSERT INTO alias_keys_fts(alias_keys_fts, rowid, alias_key) "
                  "VALUES ('delete', OLD.rowid, OLD.alias_key); "
                  "INSERT INTO alias_keys_fts(rowid, alias_key) "
                  "VALUES (NEW.rowid, NEW.alias_key);")


# -- trust (m9xx) -----------------------------------------------------------------------------


@migrations()
def m901_watch_health(db: Database) -> None:
    # a watch that cannot be compiled or checked is set aside: why, and since when
    db.table("watches").add_column("broken", str)
    db.table("watches").add_column("broken_at", str)
    # one-time notices also tell a watch's channel it broke: the feed notices' table and
    # delivery, with a watch_id instead of a feed_id (once per watch, channel and kind)
    db.table("feed_notices").transform(not_null={"feed_id": False})
    db.table("feed_notices").add_column("watch_id", int)
    db.execute(
        "CREATE UNIQUE INDEX idx_feed_notices_watch_once ON feed_notices(watch_id, channel, kind) "
        "WHERE watch_id IS NOT NULL"
    )


@migrations()
def m902_watch_channel_access(db: Database) -> None:
    # channels where Slack refuses wirewatch's posts for good (not_in_channel, archived…):
    # their watches are paused, with the reason, until wirewatch can post there again
    db.table("channel_access").create(
        {"channel": str, "error": str, "paused_at": str}, pk="channel", not_null={"error"},
    )


@migrations()
def m904_slack_request_guard(db: Database) -> None:
    # HTTP mode's replay guard: signatures already accepted, kept until a replay of them would
    # be refused for its timestamp anyway; in the database so a restart does not forget them
    db.table("slack_request_signatures").create(
        {"signature": str, "expires_at": float}, pk="signature"
    )
    db.execute(
        "CREATE INDEX idx_slack_request_signatures_expiry ON slack_request_signatures(expires_at)"
    )


@migrations()
def m903_feed_poll_guard(db: Database) -> None:
    feeds = db.table("feeds")
    # no request before this time: a Retry-After pause or a backoff window (manual `poll`
    # respects it; scheduled rounds follow next_check, which is never earlier)
    feeds.add_column("hold_until", str)
    feeds.add_column("slow_count", int, not_null_default=0)  # slow successes in a row
    # `poll` is rate-limited per channel: the last manual poll each channel asked for
    db.table("poll_requests").create({"channel": str, "last_at": str}, pk="channel")
